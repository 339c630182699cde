"""The fault-injection suite: shared helpers (``pytest -m faults`` runs this folder alone).

Every fault test does the same three things: build a real index (real embedder, real FAISS),
break something (bad input, a killed process, a full disk...), then check the message the
user sees and that nothing indexed before was lost (:func:`assert_nothing_lost`).

Fixtures:
    articles: a fresh articles folder (the seed article and two short ones with known answers).
    indexed: ``articles`` with an index already built from it, and a snapshot of what it held.
    engine_models: the embedder (and, on demand, the reader) loaded once per session.

Helpers:
    qa_cli(*args): run ``python -m qa.cli`` and return the finished process (stdout/stderr text).
    build_index(articles, index, embedder): build an index in this process.
    snapshot(index, embedder): what an index holds (article ids, passages).
    assert_nothing_lost(index, before, embedder, reader=None): every article of ``before`` is
        still there and still found by a search for its own facts (and answered, given a reader).
    serve(articles, index, tmp): a running ``qa serve`` (context manager) -> Server(url, proc, log).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SEEDS = ROOT / "seeds"

# pytest imports every conftest.py as the module "conftest"; this one is imported after
# tests/conftest.py and so replaces it in sys.modules, where the other test files look up
# `from conftest import ...`. Re-export that file's names so those imports keep working.
sys.path.insert(0, str(ROOT))
from tests.conftest import bundled_reader_available, free_port, milvus_lite_runs, needs_reader  # noqa: E402,F401


def pytest_collection_modifyitems(config, items):
    """Every test in this folder carries the ``faults`` marker."""
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.faults)


@dataclass(frozen=True)
class Fact:
    """A short article with one question it answers and a search query that finds it."""

    file: str
    text: str
    question: str
    answer: str


FACTS = [
    Fact("lighthouse.txt",
         "Port Vell lighthouse gets a new keeper\n\nThe lighthouse keeper of Port Vell is Marta Puig, appointed in 2009. "
         "She replaced Joan Ferrer, who retired after thirty years.\n",
         "Who is the lighthouse keeper of Port Vell?", "Marta Puig"),
    Fact("orchard.txt",
         "Quince harvest in Valdoria\n\nThe quince orchards of Valdoria produced 4,200 tonnes this autumn, "
         "the largest harvest since 1987. Growers credited the late rains.\n",
         "How many tonnes did the quince orchards of Valdoria produce?", "4,200"),
]


GOOD = "Good title\n\nA good story about the harbour."


def article_folder(tmp_path: Path) -> Path:
    """A new articles folder holding one good article (``good.txt``), for a bad file to be put beside."""
    arts = tmp_path / "arts"
    arts.mkdir()
    (arts / "good.txt").write_text(GOOD)
    return arts


def named_once(warnings: list[str], name: str) -> str:
    """The one warning that names a file (fails when none or several do)."""
    hits = [w for w in warnings if name in w]
    assert len(hits) == 1, (name, warnings)
    return hits[0]


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    """A fresh articles folder: the seed article plus :data:`FACTS`."""
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    for f in FACTS:
        (folder / f.file).write_text(f.text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def engine_models(embedder):
    """The session's embedder, plus a reader loaded on first use (``engine_models.reader()``)."""

    class Models:
        def __init__(self):
            self.embedder = embedder
            self._reader = None

        def reader(self):
            if self._reader is None:
                from qa.reader import Reader

                self._reader = Reader()
                self._reader.warm_up()
            return self._reader

    return Models()


def _engine(index: Path, embedder, reader=None):
    from qa import Engine
    from qa.config import Config

    engine = Engine(Config(index_dir=str(index)))
    engine.embedder = embedder  # loaded once per session, not per test
    if reader is not None:
        engine.reader = reader
    return engine


def build_index(articles: Path, index: Path, embedder):
    """Build (or refresh) ``index`` from ``articles`` in this process; returns the IndexReport."""
    return _engine(index, embedder).index(articles)


@dataclass(frozen=True)
class Snapshot:
    """What an index held: article ids and the number of passages."""

    article_ids: frozenset[str]
    passages: int


def snapshot(index: Path, embedder) -> Snapshot:
    engine = _engine(index, embedder)
    engine.open()
    return Snapshot(frozenset(a.id for a in engine.articles()), engine.stats().passages)


def assert_nothing_lost(index: Path, before: Snapshot, embedder, reader=None) -> None:
    """The index opens, holds every article of ``before``, and finds (and, given a reader, answers) each fact.

    Args:
        index: The index folder after the fault.
        before: :func:`snapshot` taken before the fault.
        embedder: A warmed-up embedder (``engine_models.embedder``).
        reader: A warmed-up reader (``engine_models.reader()``) to also check the answers.
    """
    engine = _engine(index, embedder, reader)
    engine.open()  # raises if the index no longer opens
    ids = {a.id for a in engine.articles()}
    assert before.article_ids <= ids, f"articles lost: {sorted(before.article_ids - ids)}"
    assert engine.stats().passages >= before.passages
    for f in FACTS:
        if f.file not in before.article_ids:
            continue
        hits = engine.search(f.question, k=3)
        assert f.file in [h.source.article_id for h in hits], f"{f.file} is no longer found"
        if reader is not None:
            assert f.answer in (engine.ask(f.question).answer or ""), f"{f.question!r} is no longer answered"


@dataclass
class Indexed:
    articles: Path
    index: Path
    before: Snapshot


@pytest.fixture(scope="session")
def _built_template(tmp_path_factory, embedder) -> Indexed:
    tmp = tmp_path_factory.mktemp("faults-template")
    folder = tmp / "articles"
    shutil.copytree(SEEDS, folder)
    for f in FACTS:
        (folder / f.file).write_text(f.text, encoding="utf-8")
    build_index(folder, tmp / "index", embedder)
    return Indexed(folder, tmp / "index", snapshot(tmp / "index", embedder))


@pytest.fixture
def indexed(tmp_path: Path, _built_template: Indexed) -> Indexed:
    """An articles folder and its index (a private copy for this test), with a snapshot of what it holds."""
    shutil.copytree(_built_template.articles, tmp_path / "articles")
    shutil.copytree(_built_template.index, tmp_path / "index", symlinks=True)
    return Indexed(tmp_path / "articles", tmp_path / "index", _built_template.before)


def qa_cli(*args: str, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``python -m qa.cli *args`` from the repository root (this worktree's code)."""
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=timeout)


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serve(articles: Path, index: Path, tmp: Path, *extra: str, env: dict | None = None, wait_s: float = 300):
    """A running ``qa serve`` on a free loopback port; stopped (TERM, then KILL) on exit.

    Yields:
        :class:`Server` once the page answers HTTP.
    """
    port = free_port()
    log = tmp / f"serve-{port}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "serve", "--articles", str(articles), "--index", str(index),
             "--port", str(port), *extra],
            # No users file unless a test gives one (a users.json where the tests run would ask for sign-in).
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "QA_USERS_FILE": str(tmp / "no-users.json"), **(env or {})},
        )
    server = Server(f"http://127.0.0.1:{port}/", proc, log)
    try:
        deadline = time.time() + wait_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError("qa serve exited:\n" + server.output())
            try:
                urllib.request.urlopen(server.url, timeout=2)
                break
            except urllib.error.HTTPError:  # it answers (401 behind a proxy's sign-in): it is up
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("qa serve did not start:\n" + server.output()) from None
                time.sleep(0.5)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def child_pids(pid: int) -> list[int]:
    """Direct children of a process (from /proc: Linux)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def engine_worker_pid(server: Server, wait_s: float = 120) -> int:
    """The pid of ``qa serve``'s engine process (its spawned multiprocessing child, not the resource tracker)."""
    deadline = time.time() + wait_s
    while time.time() < deadline:
        for pid in child_pids(server.proc.pid):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "spawn_main" in cmd and "resource_tracker" not in cmd:
                return pid
        time.sleep(0.2)
    raise AssertionError("no engine process under qa serve:\n" + server.output())


def kill_and_wait(pid: int, wait_s: float = 30) -> None:
    """SIGKILL a process and wait until it is gone (a zombie counts as gone)."""
    import signal

    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + wait_s
    while time.time() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state == "Z":
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not die")
