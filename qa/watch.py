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


def reindex_command(config: Config) -> Callable[[], None]:
    """Runs `qa index` for the configured folders in a child process (its memory is returned when it ends)."""
    cmd = [sys.executable, "-m", "qa.cli", "index", "--articles", str(config.articles_dir), "--index", str(config.index_dir),
           "--embedding-model", config.embedding_model, "--store", config.store] + (["--follow-links"] if config.follow_links else [])

    def run() -> None:
        r = subprocess.run(cmd, capture_output=True, text=True)
        out = (r.stdout + r.stderr).strip()
        if r.returncode == 0:
            logger.warning("articles changed, re-indexed: %s", r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "done")
        else:
            logger.warning("articles changed, but re-indexing failed (the chat keeps the index it has): %s", out[-2000:])

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

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        seen = folder_signature(self.folder)
        pending = None  # a changed signature waiting to settle
        while not self._stop.wait(self.interval):
            now = folder_signature(self.folder)
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
            seen, pending = now, None
