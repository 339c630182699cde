"""The engine behind the chat: in this process (:class:`LocalChat`) or a child process (:class:`ChatProcess`)."""

from __future__ import annotations

import os
import signal
import sys
import threading
from dataclasses import asdict

from qa.config import Config
from qa.engine import Engine
from qa.followup import Turn
from qa.web import library
from qa.web.render import render

class LocalChat:
    """The chat's view of an engine in this process (for Python users and tests).

    Args:
        engine: An opened engine.
    """

    def __init__(self, engine: Engine):
        self.engine = engine

    def article_ids(self) -> list[str]:
        """Ids of the indexed articles."""
        return [a.id for a in self.engine.store.articles()]

    def reply(self, question: str, turns: list[Turn]) -> str:
        """The answer as the chat's HTML."""
        return render(self.engine.ask(question, turns))

    def answer(self, question: str, turns: list[Turn]) -> dict:
        """The answer as JSON-ready data."""
        return self.engine.ask(question, turns).to_dict()

    def articles(self) -> list[dict]:
        """The indexed articles (id, title, date, source, url), newest first, undated last."""
        return library.listing(self.engine.store.articles())

    def article(self, article_id: str) -> dict | None:
        """One article with its text (the page's "show article"), or None."""
        a = self.engine.store.article(article_id)
        return asdict(a) if a else None

    def add_files(self, paths: list[str]) -> dict:
        """Add uploaded files to the articles folder and index them (see :func:`qa.web.library.add_files`)."""
        return library.add_files(self.engine, paths)


_WORKER: dict = {}


def _worker_start(config: Config) -> None:
    # Ctrl-C is the parent's to handle; a parent killed outright must not leave this process behind.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # close() ends this process with SIGTERM; exiting through Python runs multiprocessing's exit hooks,
    # which release the semaphores made here (tqdm's lock): killed outright, they were reported as
    # "leaked semaphore objects" at every shutdown.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    parent = os.getppid()

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(0)
            threading.Event().wait(1.0)

    threading.Thread(target=watch, daemon=True).start()
    try:
        engine = Engine(config)
        engine.open()
        engine.warm_up()
        _WORKER["chat"] = LocalChat(engine)
    except Exception as e:  # reported to the parent on its first call, message intact
        _WORKER["error"] = e


def _worker_call(method: str, *args):
    if "error" in _WORKER:
        raise _WORKER["error"]
    return getattr(_WORKER["chat"], method)(*args)


def _manifest_article_ids(index_dir: str) -> list[str] | None:
    from pathlib import Path

    from qa.store import Manifest, current_generation

    gen = current_generation(Path(index_dir))
    try:
        return list(Manifest.read(gen / "manifest.json").articles) if gen else None
    except (OSError, ValueError, TypeError, KeyError):
        return None  # the child's own check reports what is wrong


class ChatProcess:
    """The engine in a child process, with the same methods as :class:`LocalChat`.

    ``qa serve`` uses it so that the models load on one core while the web server
    (Gradio) imports on the other: on a 2-core laptop the first answer comes seconds
    sooner. Questions are answered one at a time, in order.

    Args:
        config: Settings for the engine; the index must exist.
    """

    def __init__(self, config: Config):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the parent may already run torch threads (after indexing) or Gradio's.
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_worker_start, initargs=(config,))
        self._ready = self._pool.submit(_worker_call, "article_ids")
        self._ids = _manifest_article_ids(config.index_dir)

    def wait(self) -> None:
        """Wait until the engine is loaded. Raises what loading raised (e.g. a damaged index)."""
        self._ready.result()

    def article_ids(self) -> list[str]:
        """Ids of the indexed articles: read from the manifest, so the page can be served before the models load."""
        return self._ids if self._ids is not None else self._ready.result()

    def reply(self, question: str, turns: list[Turn]) -> str:
        return self._pool.submit(_worker_call, "reply", question, turns).result()

    def answer(self, question: str, turns: list[Turn]) -> dict:
        return self._pool.submit(_worker_call, "answer", question, turns).result()

    def articles(self) -> list[dict]:
        return self._pool.submit(_worker_call, "articles").result()

    def article(self, article_id: str) -> dict | None:
        return self._pool.submit(_worker_call, "article", article_id).result()

    def add_files(self, paths: list[str]) -> dict:
        return self._pool.submit(_worker_call, "add_files", paths).result()

    def close(self) -> None:
        """Stop the child process, at once, even while it is still loading the models."""
        # Ending the worker first lets shutdown wait without delay. A shutdown that does not
        # wait leaves the pool's manager thread racing the interpreter's exit hook, which on
        # Python 3.11 sometimes prints an "OSError: Bad file descriptor" traceback at exit.
        for proc in list((getattr(self._pool, "_processes", None) or {}).values()):
            proc.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)
