"""The local store's keyword index (Tantivy, derived from meta.sqlite): analysis as the Milvus store's,
readers that see a writer's commit, and kill -9 at each step of the keyword update caught up by the
next writer (never a hit for a deleted passage, never a new one missing after it)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.articles import Article
from qa.chunking import Passage
from qa.stores import ArticleRecord, PassageRecord, StoreSettings, content_hash
from qa.stores.keyword import KeywordIndex
from qa.stores.local import LocalStore

ROOT = Path(__file__).resolve().parent.parent
DIM = 8


def record(aid: str, words: str, title: str = "") -> ArticleRecord:
    """An article of one passage with a vector made from its id (no model needed)."""
    text = f"The report says {words}."
    vector = np.random.default_rng(abs(hash(aid)) % 2**32).normal(size=DIM).astype(np.float32)
    body = f"{title}\n{text}" if title else text
    p = PassageRecord(Passage(aid, 0, 0, len(text), text), body, content_hash(body, "m"), vector / np.linalg.norm(vector))
    return ArticleRecord(Article(aid, title, text), [p])


def new_store(root: Path) -> LocalStore:
    store = LocalStore.create(root, StoreSettings("m", DIM, {}))
    store.publish()
    return store


def found(store: LocalStore, query: str) -> list[str]:
    return [pid.split(":")[0] for pid, _ in store.keyword_search(query, 50)]


def test_analysis_is_the_milvus_analyzers():
    """Lower-case, accents folded, the bm25s English stopwords dropped, no stemming."""
    from bm25s.stopwords import STOPWORDS_EN

    kw = KeywordIndex.__new__(KeywordIndex)
    from qa.stores.keyword import analyzer

    kw.analyzer = analyzer()
    assert kw.terms("The CAFÉ in Zürich, the naïve Ferries") == ["cafe", "zurich", "naive", "ferries"]
    assert kw.terms(" ".join(sorted(STOPWORDS_EN))) == []


def test_search_finds_only_live_passages_and_reads_titles(tmp_path):
    store = new_store(tmp_path / "index")
    store.write([record("a", "otters in the kelp", title="Coastal news"), record("b", "ferries at dawn")])
    assert found(store, "otters") == ["a"] and found(store, "coastal") == ["a"] and found(store, "ferries dawn") == ["b"]
    store.write(delete=["a"])
    assert found(store, "otters kelp") == [] and found(store, "ferries") == ["b"]
    assert store._db.execute("SELECT COUNT(*) FROM keyword_log").fetchone()[0] == 0  # applied, then emptied
    store.close()


def test_a_body_other_than_title_and_text_is_stored_and_rebuilt(tmp_path):
    """Search text that is not title + text (as a caller may give) is kept in SQLite and survives a rebuild."""
    store = new_store(tmp_path / "index")
    rec = record("a", "plain words")
    rec.passages[0].search_text = "walrus " + rec.passages[0].search_text
    store.write([rec, record("b", "other words", title="Same as made")])
    assert store._db.execute("SELECT COUNT(*) FROM passages WHERE body IS NOT NULL").fetchone()[0] == 1
    shutil.rmtree(store.gen / "keyword")
    store.tidy()
    assert found(store, "walrus") == ["a"] and found(store, "made") == ["b"]
    store.close()


def test_a_reader_in_another_process_sees_a_writers_keywords(tmp_path):
    """A reader's keyword index follows the writer's Tantivy commits (also one made after the SQLite commit it saw)."""
    writer = new_store(tmp_path / "index")
    writer.write([record("a", "otters")])
    reader = LocalStore.open(tmp_path / "index")
    assert found(reader, "otters") == ["a"]
    writer.write([record("b", "walruses")], delete=["a"])
    assert reader.refresh()
    assert found(reader, "walruses") == ["b"] and found(reader, "otters") == []
    # SQLite committed first, Tantivy after: a reader that searched in between sees the keywords once they are
    # applied, although SQLite's version has not moved since.
    sync = writer._sync_keywords
    writer._sync_keywords = lambda check=False: None
    writer.write([record("c", "narwhals")])
    assert reader.refresh() and found(reader, "narwhals") == []
    sync()
    assert not reader.refresh() and found(reader, "narwhals") == ["c"]
    reader.close()
    writer.close()


_WRITER = """
import sys
sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
from test_keyword_index import record
from qa.stores.local import LocalStore
store = LocalStore.open({index!r})
store.write([record("new", "narwhals tusks")], delete=["old"])
"""


@pytest.mark.parametrize("step", ["before-commit", "keyword-before-commit", "keyword-before-applied", "keyword-before-prune", None])
def test_kill_9_during_the_keyword_update(tmp_path, step):
    """A writer killed at each step: readers never get the deleted article's keywords, and the next
    writer (``tidy``, as ``qa index`` runs it first) makes the keyword index hold the new article."""
    index = tmp_path / "index"
    store = new_store(index)
    store.write([record("old", "otters kelp"), record("keep", "otters harbour")])
    store.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("QA_CRASH_AT", None)
    if step:
        env["QA_CRASH_AT"] = step
    code = _WRITER.format(root=str(ROOT), tests=str(ROOT / "tests"), index=str(index))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == (-9 if step else 0), proc.stderr[-2000:]
    reader = LocalStore.open(index)
    committed = step != "before-commit"
    assert sorted(found(reader, "otters")) == (["keep"] if committed else ["keep", "old"])
    assert found(reader, "kelp") == ([] if committed else ["old"])
    writer = LocalStore.open(index)
    writer.tidy()
    reader.refresh()
    assert found(reader, "narwhals") == (["new"] if committed else [])
    assert found(reader, "kelp") == ([] if committed else ["old"])
    assert len(reader._keywords()) == reader.stats().passages
    writer.close()
    reader.close()


def test_a_write_after_a_killed_keyword_update_catches_up_without_a_rebuild(tmp_path, monkeypatch):
    """The next write applies what a killed one logged (from the log, not by rebuilding the collection)."""
    store = new_store(tmp_path / "index")
    store.write([record("a", "otters")])
    real_set_applied = KeywordIndex.set_applied
    monkeypatch.setattr(KeywordIndex, "apply", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        store.write([record("b", "walruses")])
    monkeypatch.undo()
    assert found(store, "walruses") == []  # committed in SQLite, not yet in the keyword index
    rebuilt = []
    monkeypatch.setattr(LocalStore, "_rebuild_keywords", lambda self, v: rebuilt.append(v))
    store.write([record("c", "narwhals")])
    assert found(store, "walruses") == ["b"] and found(store, "narwhals") == ["c"] and rebuilt == []
    # Killed after Tantivy's commit, before APPLIED says so: the next write applies the change again, once.
    monkeypatch.setattr(KeywordIndex, "set_applied", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        store.write([record("d", "puffins")], delete=["c"])
    monkeypatch.setattr(KeywordIndex, "set_applied", real_set_applied)
    store.write([record("e", "herons")])
    store._keywords().reload()
    assert len(store._keywords()) == store.stats().passages == 4 and rebuilt == []
    assert found(store, "puffins") == ["d"] and found(store, "narwhals") == []
    # Merges move the version without keyword changes; a tidy then records it, and the next write needs no rebuild.
    assert store._state("version", 0) > KeywordIndex.read_applied(store.gen / "keyword")
    store.tidy()
    store.write([record("f", "gulls")])
    assert found(store, "gulls") == ["f"] and rebuilt == []
    store.close()


def test_a_missing_damaged_or_short_keyword_index_is_rebuilt_by_the_next_writer(tmp_path):
    index = tmp_path / "index"
    store = new_store(index)
    store.write([record("a", "otters"), record("b", "walruses")])
    shutil.rmtree(store.gen / "keyword")
    reader = LocalStore.open(index)
    assert found(reader, "otters") == []  # a reader cannot repair it (it may not write); it does not fail either
    store.tidy()
    assert found(store, "otters") == ["a"]
    # A keyword index missing a passage although it says it is up to date: rebuilt by tidy.
    (store.gen / "keyword" / "APPLIED").write_text("garbage")
    store.tidy()
    assert found(store, "walruses") == ["b"]
    from qa.stores.keyword import KeywordIndex as K

    kw = K.open(store.gen / "keyword")
    kw.apply([], [store._db.execute("SELECT vid FROM passages WHERE article_id = 'b'").fetchone()[0]], kw.applied())
    store._keywords().reload()  # (APPLIED did not change: the store would not reload by itself)
    assert found(store, "walruses") == []
    store.tidy()
    assert found(store, "walruses") == ["b"]
    reader.refresh()
    assert found(reader, "otters") == ["a"]
    reader.close()
    store.close()


def test_an_older_generation_with_fts5_keywords_is_read_and_written(tmp_path):
    """A generation made before the Tantivy keyword index (SQLite FTS5) keeps working until rebuilt."""
    import sqlite3

    store = new_store(tmp_path / "index")
    store.write([record("a", "otters")])
    gen = store.gen
    store.close()
    db = sqlite3.connect(gen / "meta.sqlite")
    db.executescript("CREATE VIRTUAL TABLE passages_fts USING fts5(body, tokenize='unicode61 remove_diacritics 2');"
                     "INSERT INTO passages_fts(rowid, body) SELECT vid, text FROM passages; DROP TABLE keyword_log;")
    db.commit()
    db.close()
    shutil.rmtree(gen / "keyword")
    store = LocalStore.open(tmp_path / "index")
    assert store._fts and found(store, "otters") == ["a"]
    store.write([record("b", "walruses")], delete=["a"])
    store.tidy()
    assert found(store, "walruses") == ["b"] and found(store, "otters") == []
    assert not (gen / "keyword").exists()
    store.close()
