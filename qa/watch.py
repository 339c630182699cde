"""Watching the articles folder while the chat runs: re-index when files change (`qa serve --watch`)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from qa.config import Config

logger = logging.getLogger(__name__)


def folder_signature(folder: str | Path) -> frozenset[tuple[str, int, int]]:
    """(path, size, modification time) of every file under a folder: changes when any file is added, edited or removed."""
    out = []
    stack = [str(folder)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue  # removed meanwhile, or unreadable: load_articles names it when indexing
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif e.is_file():
                    st = e.stat()
                    out.append((e.path, st.st_size, st.st_mtime_ns))
            except OSError:
                continue
    return frozenset(out)


LOCK_WAIT_S = 600  # a `qa index` started by the chat waits this long for a build another process runs


class ReindexFailed(RuntimeError):
    """A re-index did not complete; the index is as it was and the same change is indexed again later."""


def index_command(config: Config) -> list[str]:
    """The `qa index` command line for the configured folders, store and embedding model (run as a child process).

    It waits for a build another process runs (``--wait``) rather than failing, and confirms
    removals (``--yes``): the chat indexes exactly the folder it serves, where a deleted file is meant.
    """
    return [sys.executable, "-m", "qa.cli", "index", "--articles", str(config.articles_dir), "--index", str(config.index_dir),
            "--embedding-model", config.embedding_model, "--store", config.store, "--wait", str(LOCK_WAIT_S), "--yes"] + (
        ["--follow-links"] if config.follow_links else [])


# The serving process's one line of index jobs: the upload and the folder watch each run `qa index`
# through it, one after the other, so neither is refused because the other is building.
_JOBS = threading.Lock()
_waiting = 0


def index_jobs_waiting() -> int:
    """Index jobs in line or running in this process."""
    return _waiting


def run_index(config: Config) -> subprocess.CompletedProcess:
    """Run `qa index` for the configured folders in a child process, in this process's line of index jobs."""
    global _waiting
    cmd = index_command(config)
    _waiting += 1
    try:
        with _JOBS:
            return subprocess.run(cmd, capture_output=True, text=True)
    finally:
        _waiting -= 1


def reindex_command(config: Config) -> Callable[[], None]:
    """Runs `qa index` for the configured folders in a child process (its memory is returned when it ends).

    Raises :class:`ReindexFailed` when it fails, so the watch tries the same change again.
    """

    def run() -> None:
        r = run_index(config)
        out = (r.stdout + r.stderr).strip()
        if r.returncode == 0:
            logger.warning("articles changed, re-indexed: %s", r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "done")
            return
        raise ReindexFailed(out[-2000:] or f"qa index exited with code {r.returncode}")

    return run


def reindex_through(chat) -> Callable[[], None]:
    """Re-indexes with the chat's own engine (``chat.reindex()``), in line with its questions.

    For a store that one process at a time may open, a Milvus Lite file: the chat holds it, so
    a `qa index` child process would be refused.
    """

    def run() -> None:
        try:
            logger.warning("articles changed, re-indexed: %s", chat.reindex())
        except Exception as e:
            raise ReindexFailed(str(e)) from e

    return run


class FolderWatcher:
    """Polls a folder and calls ``on_change`` once its files have changed and then stayed the same for one interval.

    Polling rather than inotify (e.g. ``watchfiles``): it needs no dependency, works on network
    and container mounts where file events do not arrive, and a stat of each file every few
    seconds is cheap for the thousands of files a news folder holds.

    Args:
        folder: The folder to watch.
        on_change: Called (in the watcher's thread) after a change has settled.
        interval: Seconds between polls.
        max_retry_wait: Longest wait before a failed re-index is tried again (the waits double from ``interval``).

    A re-index that fails (``on_change`` raises) is not taken as done: the same change is tried
    again, until it succeeds or the folder changes again.
    """

    def __init__(self, folder: str | Path, on_change: Callable[[], None], interval: float = 3.0, max_retry_wait: float = 60.0):
        self.folder = Path(folder)
        self.max_retry_wait = max_retry_wait
        self.on_change = on_change
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qa-watch", daemon=True)
        self._lock = threading.Lock()
        self._seen: frozenset[tuple[str, int, int]] = frozenset()

    def start(self) -> None:
        self._seen = folder_signature(self.folder)
        self._thread.start()

    def acknowledge(self, paths: list[str]) -> None:
        """Files already indexed by whoever wrote them (the page's upload): not a change to re-index for.

        Only these files' entries are taken as seen, so any other change still triggers a re-index.
        """
        names = {os.path.abspath(p) for p in paths}
        with self._lock:
            now = [e for e in folder_signature(self.folder) if os.path.abspath(e[0]) in names]
            self._seen = frozenset([e for e in self._seen if os.path.abspath(e[0]) not in names] + now)

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        pending = None  # a changed signature waiting to settle
        failures = 0
        while not self._stop.wait(self.interval):
            now = folder_signature(self.folder)
            with self._lock:
                seen = self._seen
            if now == seen:
                pending = None
                continue
            if now != pending:  # still changing (a copy in progress): wait one more interval
                pending = now
                continue
            try:
                self.on_change()
            except Exception as e:  # a failed re-index must not stop the watch, nor be taken as done
                failures += 1
                delay = min(self.interval * 2 ** failures, self.max_retry_wait)
                logger.warning("articles changed, but re-indexing failed (the chat keeps the index it has); "
                               "trying again in %.0f s: %s", delay, e)
                self._stop.wait(delay)
                continue  # not marked as seen: the same change is indexed again
            failures = 0
            with self._lock:
                self._seen = now
            pending = None
