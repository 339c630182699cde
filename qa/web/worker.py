"""The engine behind the chat: in this process (:class:`LocalChat`) or a child process (:class:`ChatProcess`)."""

from __future__ import annotations

import logging
import os
import signal
import threading

from qa.config import Config
from qa.engine import Engine
from qa.followup import Turn
from qa.stores import IndexStoreError
from qa.web.render import render

logger = logging.getLogger(__name__)

class LocalChat:
    """The chat's view of an engine in this process (for Python users and tests).

    Args:
        engine: An opened engine.
    """

    def __init__(self, engine: Engine):
        self.engine = engine

    def article_ids(self) -> list[str]:
        """Ids of the indexed articles (as of the newest index on disk)."""
        self.refresh()
        return [a.id for a in self.engine.articles()]

    def stats(self) -> dict:
        """What the index holds now: ``articles``, ``passages``, ``version`` (changes with every update)."""
        self.refresh()
        s = self.engine.stats()
        return {"articles": s.articles, "passages": s.passages, "version": s.version}

    def refresh(self) -> bool:
        """Reopen the index if a build or update changed it since the last question (a cheap check).

        A damaged new index is reported in the log and the one in memory keeps answering.
        """
        try:
            return self.engine.refresh()
        except IndexStoreError as e:
            logger.warning("keeping the index in memory: %s", e)
            return False

    def reply(self, question: str, turns: list[Turn]) -> str:
        """The answer as the chat's HTML."""
        self.refresh()
        return render(self.engine.ask(question, turns), self.engine)

    def answer(self, question: str, turns: list[Turn]) -> dict:
        """The answer as JSON-ready data."""
        self.refresh()
        return self.engine.ask(question, turns).to_dict()


_WORKER: dict = {}


def _worker_start(config: Config) -> None:
    # Ctrl-C is the parent's to handle; a parent killed outright must not leave this process behind.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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


def _read_index(index_dir: str, what):
    """``what(store)`` for the live index, read here without models or search structures (None if it cannot be read)."""
    from qa.stores import open_store

    if str(index_dir).startswith("milvus://"):
        return None  # Milvus Lite opens a file in one process at a time: the child's engine holds it
    try:
        store = open_store(index_dir)
    except IndexStoreError:
        return None  # the child's own check reports what is wrong
    try:
        return what(store)
    finally:
        store.close()


def _stored_article_ids(index_dir: str) -> list[str] | None:
    return _read_index(index_dir, lambda store: [a.id for a in store.list_articles()])


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
        self._index_dir = config.location
        self._ids = _stored_article_ids(config.location)

    def wait(self) -> None:
        """Wait until the engine is loaded. Raises what loading raised (e.g. a damaged index)."""
        self._ready.result()

    def article_ids(self) -> list[str]:
        """Ids of the indexed articles: read from the index here, so the page can be served before the models load."""
        return self._ids if self._ids is not None else self._ready.result()

    def stats(self) -> dict:
        """What the index on disk holds now (see :meth:`LocalChat.stats`), read here: no wait behind questions.

        The worker reopens a changed index before its next question.
        """
        found = _read_index(self._index_dir, lambda store: store.stats())
        if found is None:
            return {"articles": len(self.article_ids()), "passages": None, "version": None}
        return {"articles": found.articles, "passages": found.passages, "version": found.version}

    def reply(self, question: str, turns: list[Turn]) -> str:
        return self._pool.submit(_worker_call, "reply", question, turns).result()

    def answer(self, question: str, turns: list[Turn]) -> dict:
        return self._pool.submit(_worker_call, "answer", question, turns).result()

    def close(self) -> None:
        """Stop the child process, at once, even while it is still loading the models."""
        # Ending the worker first lets shutdown wait without delay. A shutdown that does not
        # wait leaves the pool's manager thread racing the interpreter's exit hook, which on
        # Python 3.11 sometimes prints an "OSError: Bad file descriptor" traceback at exit.
        for proc in list((getattr(self._pool, "_processes", None) or {}).values()):
            proc.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)
