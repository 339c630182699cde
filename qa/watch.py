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


def index_command(config: Config) -> list[str]:
    """The `qa index` command line for the configured folders, store and embedding model (run as a child process)."""
    return [sys.executable, "-m", "qa.cli", "index", "--articles", str(config.articles_dir), "--index", str(config.index_dir),
            "--embedding-model", config.embedding_model, "--store", config.store] + (["--follow-links"] if config.follow_links else [])


def reindex_command(config: Config) -> Callable[[], None]:
    """Runs `qa index` for the configured folders in a child process (its memory is returned when it ends)."""
    cmd = index_command(config)

    def run() -> None:
        r = subprocess.run(cmd, capture_output=True, text=True)
        out = (r.stdout + r.stderr).strip()
        if r.returncode == 0:
            logger.warning("articles changed, re-indexed: %s", r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "done")
        else:
            logger.warning("articles changed, but re-indexing failed (the chat keeps the index it has): %s", out[-2000:])

    return run


def reindex_through(chat) -> Callable[[], None]:
    """Re-indexes with the chat's own engine (``chat.reindex()``), in line with its questions.

    For a store that one process at a time may open, a Milvus Lite file: the chat holds it, so
    a `qa index` child process would be refused.
    """

    def run() -> None:
        try:
            logger.warning("articles changed, re-indexed: %s", chat.reindex())
        except Exception as e:  # reported, not raised: the watch goes on
            logger.warning("articles changed, but re-indexing failed (the chat keeps the index it has): %s", e)

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
    """

    def __init__(self, folder: str | Path, on_change: Callable[[], None], interval: float = 3.0):
        self.folder = Path(folder)
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
            except Exception:  # a failed re-index must not stop the watch
                logger.exception("re-indexing after a change failed")
            with self._lock:
                self._seen = now
            pending = None
