"""The engine behind the chat: in this process (:class:`LocalChat`) or a child process (:class:`ChatProcess`).

Both answer through :meth:`start`, which returns a :class:`Pending` answer: the chat uses it to
say how many questions are ahead while it waits. Any failure reaches the caller as a
:class:`ChatError` whose message is meant for the user (the chat shows it, the API returns it).
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import sys
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from pathlib import Path

from qa import IndexStoreError
from qa.config import Config
from qa.conversation import Turn, as_turn
from qa.engine import Engine
from qa.web import library
from qa.locations import is_lite_location
from qa.indexing import browse_index, index_stats
from qa.web.render import render

logger = logging.getLogger(__name__)


def earlier_turns(history: list | None) -> list[Turn]:
    """The conversation so far from what a client sent: {question, answer} dicts (or bare earlier questions).

    Raises:
        ValueError: An item is neither (e.g. chat messages as {"role", "content"}: replies are not parsed).
    """
    turns = []
    for item in history or []:
        if isinstance(item, str):  # an earlier question alone (the API's older shape): used, not re-answered
            item = {"question": item}
        if not isinstance(item, dict) or "question" not in item and "resolved_question" not in item:
            raise ValueError(
                "Each earlier turn must be a dict with 'question' and 'answer' (e.g. what /ask returned), "
                f"got {item!r:.120}"
            )
        turns.append(as_turn(item))
    return turns


def turn_of(answer) -> dict:
    """What the chat remembers of an answer for later follow-ups."""
    return {"question": answer.question, "resolved_question": answer.resolved_question, "answer": answer.answer}


class ChatError(ValueError):
    """A question could not be answered; the message says why, in words for the user.

    A ValueError, like the engine's own refusals (an empty question), so callers need one except.
    """


def as_chat_error(e: BaseException) -> ChatError:
    """Any exception met while answering, as a message for the user (a ValueError is one already)."""
    if isinstance(e, ValueError):
        return e if isinstance(e, ChatError) else ChatError(str(e))
    detail = " ".join(str(e).split())[:300] or "no details"
    return ChatError(f"Answering this question failed ({type(e).__name__}: {detail}). "
                     "The articles and the index are unchanged; please ask again or rephrase the question.")


class Pending:
    """An answer on its way.

    Methods:
        ahead(): questions still in line before this one (0 once it is being answered).
        result(timeout): the answer; raises :class:`ChatError`, or ``TimeoutError`` when not ready in time.
    """

    def ahead(self) -> int:
        return 0

    def result(self, timeout: float | None = None):
        raise NotImplementedError


class _Done(Pending):
    def __init__(self, fn, *args):
        try:
            self._value, self._error = fn(*args), None
        except ValueError as e:  # the engine's refusals (empty question...) say what to do already
            self._value, self._error = None, e
        except Exception as e:  # anything else: a message, never a bare "Error"
            logger.exception("answering failed")
            self._value, self._error = None, as_chat_error(e)

    def result(self, timeout: float | None = None):
        if self._error is not None:
            raise self._error
        return self._value


class LocalChat:
    """The chat's view of an engine in this process (for Python users and tests).

    Args:
        engine: An opened engine.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        self.config = engine.config

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

    def start(self, method: str, *args) -> Pending:
        """Answer now (``method``: 'reply', 'answer' or 'exchange'); failures come back as :class:`ChatError`."""
        # reply/answer/exchange have a private body (the public ones come through here); others are direct.
        return _Done(getattr(self, "_" + method, None) or getattr(self, method), *args)

    def reply(self, question: str, turns: list[Turn]) -> str:
        """The answer as the chat's HTML."""
        return self.start("reply", question, turns).result()

    def answer(self, question: str, turns: list[Turn]) -> dict:
        """The answer as JSON-ready data."""
        return self.start("answer", question, turns).result()

    def exchange(self, question: str, turns: list[Turn]) -> tuple[str, dict]:
        """The answer as the chat's HTML, and the turn for the chat to remember."""
        return self.start("exchange", question, turns).result()

    def _reply(self, question: str, turns: list[Turn]) -> str:
        self.refresh()
        return render(self.engine.ask(question, turns))

    def _answer(self, question: str, turns: list[Turn]) -> dict:
        self.refresh()
        return self.engine.ask(question, turns).to_dict()

    def _exchange(self, question: str, turns: list[Turn]) -> tuple[str, dict]:
        self.refresh()
        answer = self.engine.ask(question, turns)
        return render(answer), turn_of(answer)

    def browse(self, query: str = "", limit: int = 200) -> dict:
        """The articles panel: ``total`` and ``matching`` counts and the newest matching ``rows`` (see :meth:`Engine.browse`)."""
        self.refresh()
        return library.page_rows(self.engine.browse(query, limit))

    def article(self, article_id: str) -> dict | None:
        """One article with its text (the page's "show article"), or None."""
        self.refresh()
        a = self.engine.article(article_id)
        return asdict(a) if a else None

    def process_id(self) -> int:
        """The id of the process answering (tells a server's answering processes apart)."""
        return os.getpid()

    def add_files(self, paths: list[str]) -> dict:
        """Add uploaded files to the articles folder and index them (see :func:`qa.web.library.add_files`)."""
        return library.add_files(self.engine, paths)

    def reindex(self) -> str:
        """Index the articles folder again with this engine; returns what changed, in a line."""
        return self.engine.index().summary()


_WORKER: dict = {}


def default_workers(location: str | Path, cpus: int | None = None) -> int:
    """How many answering processes ``qa serve`` starts: one per core, at most 4 (each holds the models,
    ~0.5 GB); one for a Milvus Lite file, which only one process may open.

    Args:
        location: The index location.
        cpus: Cores to size for (default: this machine's).
    """
    if is_lite_location(location):
        return 1
    return max(1, min(cpus or os.cpu_count() or 1, 4))


def _worker_start(config: Config, threads: int | None = None) -> None:
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
    if threads:
        import torch

        torch.set_num_threads(threads)  # the cores shared among the answering processes, not each taking all
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
    if method in ("reply", "answer", "exchange"):
        return _WORKER["chat"].start(method, *args).result()
    return getattr(_WORKER["chat"], method)(*args)


class _InLine(Pending):
    """A question sent to the child process; sent again once to a new child if this one dies."""

    def __init__(self, owner: "ChatProcess", ticket: int, method: str, args: tuple):
        self._owner, self._ticket, self._method, self._args = owner, ticket, method, args
        self._resent = False
        self._pool, self._future = owner._submit(ticket, method, args)

    def ahead(self) -> int:
        return self._owner._ahead(self._ticket)

    def result(self, timeout: float | None = None):
        try:
            value = self._future.result(timeout)
        except FutureTimeout:
            raise TimeoutError from None  # still in line or being answered: the caller may wait again
        except BrokenProcessPool:
            self._owner._restart(self._pool)
            if self._resent:
                raise ChatError("The answering process stopped twice while answering this question; it has been "
                                "restarted. The index is unchanged; please ask again.") from None
            self._resent = True
            self._pool, self._future = self._owner._submit(self._ticket, self._method, self._args)
            return self.result(timeout)
        except ValueError:
            raise
        except Exception as e:  # e.g. the engine could not load: said in words
            raise as_chat_error(e) from None
        return value


class ChatProcess:
    """The engine in a child process, with the same methods as :class:`LocalChat`.

    ``qa serve`` uses it so that the models load on one core while the web server
    (Gradio) imports on the other: on a 2-core laptop the first answer comes seconds
    sooner. With ``workers`` > 1, that many child processes answer at once, each with the
    index open (its files memory-mapped: the keyword index and the vectors read for
    re-ranking are shared through the page cache) and its own models; questions are taken
    in order by the first process free. If a child process dies (killed, out of memory),
    the next call starts the processes again and the questions that were in line are sent
    to them once more.

    Args:
        config: Settings for the engine; the index must exist.
        workers: Answering processes (1 for a Milvus Lite file, whatever is asked: one process may open it).

    Attributes:
        restarts: How many times the child process was started again.
    """

    def __init__(self, config: Config, workers: int = 1):
        self.config = config
        self.workers = 1 if is_lite_location(config.location) else max(1, int(workers))
        self.restarts = 0
        self._lock = threading.Lock()
        self._tickets = itertools.count(1)
        self._line: dict[int, Future] = {}  # ticket -> its future, until that future is done
        self._pool = self._new_pool()
        self._ready = self._warm(self._pool)
        self._location = config.location

    def _new_pool(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the parent may already run torch threads (after indexing) or Gradio's.
        threads = max(1, (os.cpu_count() or 1) // self.workers) if self.workers > 1 else None
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_start, initargs=(self.config, threads))

    def _warm(self, pool) -> Future:
        """Start every process of a pool now (each loads the models), not when questions first pile up.

        A pool starts a process for each call made while none is idle: one call per worker, made
        at once, starts them all. Returns the first call's future (done when one process is ready).
        """
        calls = [pool.submit(_worker_call, "stats") for _ in range(self.workers)]  # a cheap call: counts, no article list
        return calls[0]

    def _submit(self, ticket: int, method: str, args: tuple) -> tuple[object, Future]:
        """Send a question to the current child process; it counts as in line until its future is done."""
        with self._lock:
            pool = self._pool
        try:
            future = pool.submit(_worker_call, method, *args)
        except BrokenProcessPool:  # already known dead: a future that says so
            future = Future()
            future.set_exception(BrokenProcessPool("the answering process died"))
        except RuntimeError:  # shut down by close(): the server is stopping
            raise ChatError("The server is shutting down; please ask again when it is back.") from None
        with self._lock:
            self._line[ticket] = future

        def leave(done: Future) -> None:
            with self._lock:
                if self._line.get(ticket) is done:  # not a later resend of the same question
                    del self._line[ticket]

        # Tied to the future, not to a caller reading the result: a caller that went away
        # (a closed browser tab) must not stay counted in the line.
        future.add_done_callback(leave)
        return pool, future

    def _restart(self, broken) -> None:
        """Replace a dead pool by a new one (once, however many callers noticed)."""
        with self._lock:
            if self._pool is not broken:
                return
            logger.warning("The answering process stopped; starting a new one (the questions in line are sent again).")
            broken.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            self._warm(self._pool)
            self.restarts += 1

    def _ahead(self, ticket: int) -> int:
        """Questions before this one still waiting for a process (those being answered by the others do not count)."""
        with self._lock:
            return max(0, sum(1 for t in self._line if t < ticket) - (self.workers - 1))

    def wait(self) -> None:
        """Wait until the engine is loaded. Raises what loading raised (e.g. a damaged index)."""
        self._ready.result()

    def browse(self, query: str = "", limit: int = 200) -> dict:
        """The articles panel (see :meth:`LocalChat.browse`), read here: a filter typed does not wait behind questions."""
        found = browse_index(self._location, query, limit)
        return library.page_rows(found) if found is not None else self.start("browse", query, limit).result()

    def stats(self) -> dict:
        """What the index on disk holds now (see :meth:`LocalChat.stats`), read here: no wait behind questions.

        The worker reopens a changed index before its next question.
        """
        if is_lite_location(self._location) and self._ready.done() and not self._ready.exception():
            return self.start("stats").result()  # the child holds the Milvus Lite file: ask it, in line
        found = index_stats(self._location)
        if found is None:
            return {"articles": self.browse(limit=0)["total"], "passages": None, "version": None}
        return {"articles": found.articles, "passages": found.passages, "version": found.version}

    def start(self, method: str, *args) -> Pending:
        """Put a call to the chat in line (``method``: a :class:`LocalChat` method, e.g. 'reply', 'stats', 'reindex')."""
        with self._lock:
            ticket = next(self._tickets)
        return _InLine(self, ticket, method, args)

    def waiting(self) -> int:
        """Questions in line or being answered."""
        with self._lock:
            return len(self._line)

    def reply(self, question: str, turns: list[Turn]) -> str:
        return self.start("reply", question, turns).result()

    def answer(self, question: str, turns: list[Turn]) -> dict:
        return self.start("answer", question, turns).result()

    def exchange(self, question: str, turns: list[Turn]) -> tuple[str, dict]:
        return self.start("exchange", question, turns).result()

    def article(self, article_id: str) -> dict | None:
        return self.start("article", article_id).result()

    def add_files(self, paths: list[str]) -> dict:
        """Add uploaded files; indexed in a `qa index` child process, so questions are answered meanwhile.

        The engine's process answers one question at a time: indexing there held up every question
        for as long as the upload took to embed. A `qa index` process writes a new generation of the
        index, which the engine picks up before its next question. A Milvus Lite file is open in one
        process at a time, the engine's: there the engine indexes, as before.
        """
        if is_lite_location(self.config.location):
            return self.start("add_files", paths).result()
        from qa.watch import run_index

        articles, written, warnings = library.stage(self.config, paths)
        if not articles:
            return {"added": [], "files": [], "warnings": warnings, "summary": "nothing to add"}
        # In the serving process's line of index jobs, with the folder watch's: one waits for the other.
        r = run_index(self.config)
        if r.returncode != 0:
            # The files are saved: the folder watch (or the next `qa index`) indexes them.
            detail = " ".join((r.stderr or r.stdout).strip().removeprefix("error: ").split())[-500:]
            raise ChatError(f"{', '.join(Path(w).name for w in written)} saved in the articles folder, but not indexed yet "
                            f"({detail or 'qa index failed'}). The folder watch or the next qa index indexes it; "
                            "the articles indexed before are unchanged.")
        lines = r.stdout.strip().splitlines()
        return {"added": [a.id for a in articles], "files": written, "warnings": warnings,
                "summary": lines[-1] if lines else "indexed"}

    def reindex(self) -> str:
        return self.start("reindex").result()

    def close(self) -> None:
        """Stop the child process, at once, even while it is still loading the models."""
        # Ending the worker first lets shutdown wait without delay. A shutdown that does not
        # wait leaves the pool's manager thread racing the interpreter's exit hook, which on
        # Python 3.11 sometimes prints an "OSError: Bad file descriptor" traceback at exit.
        with self._lock:
            pool = self._pool
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)
