"""Index-store faults (issue 10): each one gives a clear message and loses nothing indexed before."""

import errno
import fcntl
import os
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from qa.articles import Article
from qa.config import ChunkingSettings
from qa.indexing import Indexer, NoArticles
from qa.stores import ArticleRecord, IndexCorrupt, IndexMismatch, IndexStoreError, PassageRecord, StoreSettings, create_store, open_store
from qa.stores.local import current_generation

pytestmark = pytest.mark.faults


def art(i: int) -> Article:
    return Article(f"a{i}.txt", f"Title {i}", f"Article {i} says the river number {i} is long. It has fish {i}.", "2020-01-01", f"a{i}.txt")


@pytest.fixture
def built(tmp_path, embedder):
    """An index of two articles, and what it holds."""
    ix = Indexer(tmp_path / "index", embedder, ChunkingSettings(target_words=8, max_words=20))
    ix.index([art(1), art(2)])
    return ix, open_store(ix.location).article_hashes()


def _holds(ix, hashes) -> None:
    """The index opens and holds exactly what it held (nothing lost, nothing half-written)."""
    store = open_store(ix.location)
    assert store.article_hashes() == hashes
    found = store.dense_search(ix.embedder.embed(["river number 2"])[0], 1)
    assert store.passages([found[0][0]])[0].article.id == "a2.txt"
    store.close()


def test_empty_or_unreadable_folder_leaves_the_index(built, tmp_path):
    from qa import Config, Engine

    ix, hashes = built
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoArticles, match="left as it was"):
        ix.index_folder(empty)
    _holds(ix, hashes)
    (empty / "bad.txt").write_bytes(b"\x00\x01binary")
    engine = Engine(Config(index_dir=str(ix.location), chunking=ix.chunking))
    with pytest.raises(NoArticles, match="1 file skipped"):
        engine.index(empty)  # the Python API refuses too, before touching the index
    _holds(ix, hashes)
    r = subprocess.run([sys.executable, "-m", "qa.cli", "index", "--articles", str(empty), "--index", str(ix.location)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 1 and "No articles could be read" in r.stderr and "Traceback" not in r.stderr
    _holds(ix, hashes)


@pytest.mark.parametrize("where", ["segment", "sqlite", "rebuild"])
def test_disk_full_leaves_the_index_and_no_partial_files(built, monkeypatch, where):
    import qa.stores.local as local

    ix, hashes = built
    gen = current_generation(ix.location)
    segments = set((gen / "segments").iterdir())

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(args[0]))

    if where == "sqlite":  # SQLite's own "database or disk is full", on the live index's file
        real = local._connect

        def small(path, read_only=False):
            db = real(path, read_only)
            if not read_only:
                db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
            return db

        monkeypatch.setattr(local, "_connect", small)
    else:
        monkeypatch.setattr(local.np, "save", full)
    third = art(3)
    if where == "sqlite":  # rows bigger than a page: the file must grow
        third = Article("a3.txt", "Title 3", "Lakes hold water. " * 1500, "2020-01-01", "a3.txt")
    with pytest.raises(IndexStoreError, match="disk is full") as e:
        ix.index([art(1), art(2), third], rebuild=where == "rebuild")
    assert "unchanged" in str(e.value) and "Free disk space" in str(e.value)
    monkeypatch.undo()
    _holds(ix, hashes)
    assert [g.name for g in ix.location.glob("gen-*")] == [gen.name]  # no partial generation
    assert set((gen / "segments").iterdir()) == segments  # no partial segment
    assert ix.index([art(1), art(2), third]).added == ["a3.txt"]  # the next build works


def test_killed_rebuild_leaves_nothing_once_the_next_build_runs(built):
    ix, hashes = built
    partial = ix.location / "gen-20200101-000000-dead00"  # what a kill -9 during a rebuild leaves
    (partial / "segments").mkdir(parents=True)
    (partial / "meta.sqlite").write_bytes(b"half")
    assert not ix.index([art(1), art(2)]).touched  # nothing changed, and still:
    assert not partial.exists()
    _holds(ix, hashes)


def _read_only(root, on: bool) -> None:
    """Make an index folder read-only (chmod; as root, which writes anywhere, the immutable attribute)."""
    paths = [root, *root.rglob("*")]
    if os.geteuid() != 0:
        for path in paths:
            path.chmod((0o555 if path.is_dir() else 0o444) if on else (0o755 if path.is_dir() else 0o644))
        return
    r = subprocess.run(["chattr", "+i" if on else "-i", *map(str, paths)], capture_output=True, text=True)
    if r.returncode != 0:
        if on:
            subprocess.run(["chattr", "-i", *map(str, paths)], capture_output=True)
            pytest.skip(f"cannot make a folder read-only here (running as root, chattr: {r.stderr.strip()})")


def test_read_only_index_folder(built, tmp_path):
    ix, hashes = built
    arts = tmp_path / "arts"
    arts.mkdir()
    (arts / "a3.txt").write_text("Three\n\nA third article about lakes.")
    _read_only(ix.location, True)
    try:
        assert sorted(open_store(ix.location).article_hashes()) == ["a1.txt", "a2.txt"]  # reading works
        r = subprocess.run([sys.executable, "-m", "qa.cli", "index", "--articles", str(arts), "--index", str(ix.location)],
                           capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
        assert "Could not write the index" in r.stderr and "unchanged" in r.stderr, r.stderr
    finally:
        _read_only(ix.location, False)
    _holds(ix, hashes)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b"..", b"../../etc", b""])
def test_damaged_current_is_refused_then_rebuilt(built, content):
    ix, hashes = built
    (ix.location / "CURRENT").write_bytes(content)
    with pytest.raises(IndexCorrupt, match="CURRENT") as e:
        open_store(ix.location)
    assert "qa index --rebuild --articles" in str(e.value)
    report = ix.index([art(1), art(2)])
    assert report.rebuilt == "the old index was unreadable"
    _holds(ix, hashes)


def test_nan_vectors_are_refused(built):
    ix, hashes = built
    gen = current_generation(ix.location)
    seg = next((gen / "segments").glob("seg-*"))
    vectors = np.load(seg / "vectors.npy")
    vectors[0, 3] = np.nan
    np.save(seg / "vectors.npy", vectors)  # same size: only the values are wrong
    store = open_store(ix.location)
    with pytest.raises(IndexCorrupt, match="not finite"):
        store.warm_up()
    store.close()
    # ... and never written: a NaN vector from a model is refused before anything changes.
    np.save(seg / "vectors.npy", np.nan_to_num(vectors))
    store = open_store(ix.location)
    p = store.passages(["a1.txt:0"])[0].passage
    bad = np.full(store.settings.dimension, np.nan, np.float32)
    with pytest.raises(ValueError, match="not finite"):
        store.write([ArticleRecord(art(9), [PassageRecord(p, "x", "h", bad)])])
    assert store.article_hashes() == hashes


def test_emptied_articles_table_is_detected(built):
    ix, _ = built
    db = sqlite3.connect(current_generation(ix.location) / "meta.sqlite")
    db.execute("DELETE FROM articles")
    db.commit()
    db.close()
    with pytest.raises(IndexCorrupt, match="0 articles") as e:
        open_store(ix.location)
    assert "--articles" in str(e.value)


def test_consistent_index_of_another_dimension(tmp_path, embedder):
    from qa import Config, Engine
    from qa.chunking import Passage

    root = tmp_path / "index"
    from dataclasses import asdict

    store = create_store(root, StoreSettings(embedder.model_name, 8, asdict(ChunkingSettings())))
    p = Passage("a1.txt", 0, 0, 10, "Article 1 ")
    v = np.ones(8, np.float32) / np.sqrt(8)
    store.write([ArticleRecord(Article("a1.txt", "T", "Article 1 says"), [PassageRecord(p, "T Article 1", "h", v)])])
    store.publish()
    store.close()
    engine = Engine(Config(index_dir=str(root)))
    with pytest.raises(IndexMismatch, match="dimension 8") as e:
        engine.search("anything")
    assert "--articles" in str(e.value)
    report = Indexer(root, embedder).index([art(1)])
    assert report.rebuilt.startswith("vector dimension changed")
    assert open_store(root).settings.dimension == 384


def test_two_builds_at_once(built):
    ix, hashes = built
    with open(ix.location / ".lock", "w") as other:  # another build holds the lock (flock is per open file)
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        other.write(f"{os.getppid()} qa index --articles elsewhere")  # what a build writes: who holds it
        other.flush()
        with pytest.raises(IndexStoreError, match="Another build is running") as e:
            ix.index([art(1), art(2), art(3)])
        assert f"process {os.getppid()}: qa index --articles elsewhere" in str(e.value)
        r = subprocess.run([sys.executable, "-m", "qa.cli", "index", "--articles", str(ROOT / "seeds"), "--index", str(ix.location),
                            "--wait", "1"], capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert r.returncode == 2 and "Another build is running" in r.stderr and "Traceback" not in r.stderr
        assert f"process {os.getppid()}" in r.stderr and "waited 1 s" in r.stderr, r.stderr
        assert "disk space" not in r.stderr
    _holds(ix, hashes)
    assert ix.index([art(1), art(2), art(3)]).added == ["a3.txt"]


def test_a_build_waits_for_another_build_then_runs(indexed):
    """`qa index` started while another build runs waits for it (--wait) instead of failing."""
    import threading
    import time

    (indexed.articles / "new.txt").write_text("New\n\nThe new bridge over the river opened on Monday.")
    other = open(indexed.index / ".lock", "w")
    fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    threading.Timer(3.0, other.close).start()  # the other build ends after 3 s
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "qa.cli", "index", "--articles", str(indexed.articles), "--index", str(indexed.index),
                        "--wait", "120"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "1 added" in r.stdout and time.monotonic() - t0 >= 3.0


def _hold_sqlite(root, how="IMMEDIATE"):
    """Another program's connection holding a write transaction on the live index's database."""
    db = sqlite3.connect(current_generation(root) / "meta.sqlite", isolation_level=None, timeout=0, check_same_thread=False)
    db.execute(f"BEGIN {how}")
    db.execute("INSERT OR REPLACE INTO state VALUES ('probe', 1)")
    return db


def test_a_held_sqlite_lock_is_named_not_a_disk_problem(built, monkeypatch):
    import qa.stores.local as local

    ix, hashes = built
    monkeypatch.setattr(local, "BUSY_TIMEOUT_S", 0.5)
    holder = _hold_sqlite(ix.location)
    try:
        with pytest.raises(IndexStoreError) as e:
            ix.index([art(1), art(2), art(3)])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    message = str(e.value)
    assert "locked" in message and "another program has it open for writing" in message, message
    assert "disk space" not in message and "permissions" not in message
    _holds(ix, hashes)


def test_a_build_waits_for_a_short_sqlite_lock(indexed):
    """A write transaction another program holds for a moment is waited for: `qa index` succeeds."""
    import threading

    (indexed.articles / "new.txt").write_text("New\n\nThe new bridge over the river opened on Monday.")
    holder = _hold_sqlite(indexed.index)

    def release():
        holder.execute("ROLLBACK")
        holder.close()

    threading.Timer(4.0, release).start()
    r = subprocess.run([sys.executable, "-m", "qa.cli", "index", "--articles", str(indexed.articles), "--index", str(indexed.index)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0 and "1 added" in r.stdout, r.stderr


def test_questions_are_read_while_another_program_holds_an_exclusive_lock(built):
    """WAL mode: readers read the last commit while a writer (even BEGIN EXCLUSIVE) holds the database."""
    import time

    ix, hashes = built
    holder = _hold_sqlite(ix.location, "EXCLUSIVE")
    try:
        t0 = time.monotonic()
        store = open_store(ix.location)
        with store.snapshot():
            found = store.dense_search(ix.embedder.embed(["river number 2"])[0], 1)
            assert store.keyword_search("river number 2", 3)
            assert store.passages([found[0][0]], with_vectors=True)[0].vector is not None
        store.close()
        assert time.monotonic() - t0 < 5
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with sqlite3.connect(current_generation(ix.location) / "meta.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_one_question_reads_one_snapshot(built, embedder):
    """A write committed between a question's searches is not seen by that question (and its vectors stay readable)."""
    from qa.chunking import chunk_article, search_text
    from qa.stores import content_hash

    ix, _ = built
    reader = open_store(ix.location)
    writer = open_store(ix.location)
    vector = embedder.embed(["river number 2"])[0]
    with reader.snapshot():
        before = reader.dense_search(vector, 5)
        a = art(2)
        a.text = "Article 2 now says the river number 2 is short."
        passages = chunk_article(a, ix.chunking)
        texts = [search_text(a.title, p) for p in passages]
        vectors = embedder.embed(texts)
        writer.write([ArticleRecord(a, [PassageRecord(p, t, content_hash(t, embedder.model_name), v)
                                        for p, t, v in zip(passages, texts, vectors)])], ["a1.txt"])
        writer.optimize()  # the segments the reader searched are merged away on disk
        assert reader.keyword_search("river number 1", 5)  # still the old state: a1 is there
        got = reader.passages([pid for pid, _ in before], with_vectors=True)
        assert [p.passage.id for p in got] == [pid for pid, _ in before]
        assert all(p.vector is not None for p in got)
    reader.refresh()
    assert "a1.txt" not in reader.article_hashes()
    reader.close()
    writer.close()
