import json

import numpy as np
import pytest

from qa.articles import Article
from qa.chunking import ChunkingSettings
from qa.indexing import Indexer
from qa.stores import IndexCorrupt, IndexMismatch, IndexMissing, IndexStore, open_store
from qa.stores.local import LocalStore, current_generation


def art(i: int, extra: str = "") -> Article:
    return Article(f"a{i}.txt", f"Title {i}", f"Article {i} says the river number {i} is long. {extra}It has fish {i}.", "2020-01-01", f"a{i}.txt")


@pytest.fixture
def indexer(tmp_path, embedder):
    return Indexer(tmp_path / "index", embedder, ChunkingSettings(target_words=8, max_words=20))


def _edit_manifest(root, **changes) -> None:
    """Change fields of the live generation's manifest, as an older or damaged index would have them."""
    path = current_generation(root) / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_local_store_implements_the_protocol(indexer):
    indexer.index([art(1)])
    store = open_store(indexer.location)
    assert isinstance(store, IndexStore) and isinstance(store, LocalStore)


def test_build_search_persist(indexer):
    report = indexer.index([art(1), art(2), art(3)])
    assert sorted(report.added) == ["a1.txt", "a2.txt", "a3.txt"] and report.embedded == report.passages > 0
    store = open_store(indexer.location, indexer.embedder.model_name)
    assert store.stats().passages == report.passages and store.settings.dimension == 384
    found = store.dense_search(indexer.embedder.embed(["river number 2"])[0], 3)
    top = store.passages([found[0][0]])[0]
    assert top.article.id == "a2.txt" and top.article.title == "Title 2" and top.passage.id == found[0][0]
    assert store.articles(["a2.txt"])[0].text[top.passage.start:top.passage.end] == top.passage.text
    assert found[0][1] > found[-1][1]


def test_incremental_add_change_remove(indexer):
    indexer.index([art(1, "Salmon migrate upstream. "), art(2), art(3)])
    gen1 = current_generation(indexer.location)
    store = open_store(indexer.location)
    kept = store.passages(["a1.txt:0"], with_vectors=True)[0].vector
    report = indexer.index([art(1, "Salmon migrate upstream. "), art(2, "Now with news. "), art(4, "Otters play there. ")])
    assert report.added == ["a4.txt"] and report.changed == ["a2.txt"] and report.removed == ["a3.txt"]
    assert report.unchanged == ["a1.txt"]
    store = open_store(indexer.location)
    assert report.embedded < report.passages  # a1 was not embedded again
    assert np.array_equal(store.passages(["a1.txt:0"], with_vectors=True)[0].vector, kept)
    assert {a.id for a in store.list_articles()} == {"a1.txt", "a2.txt", "a4.txt"}
    assert current_generation(indexer.location) == gen1  # updated in place, no new generation
    for words, article in (("salmon", "a1.txt"), ("news", "a2.txt"), ("otters", "a4.txt")):
        hits = store.keyword_search(words, 5)
        assert {store.passages([pid])[0].article.id for pid, _ in hits} == {article}
    # deleted passages are not found by either search
    assert not [pid for pid, _ in store.dense_search(indexer.embedder.embed(["river number 3"])[0], 50) if pid.startswith("a3.txt")]
    # nothing changed: nothing written
    version = store.stats().version
    again = indexer.index([art(1, "Salmon migrate upstream. "), art(2, "Now with news. "), art(4, "Otters play there. ")])
    assert not again.touched and again.embedded == 0 and open_store(indexer.location).stats().version == version


def test_chunking_change_rebuilds(indexer, embedder):
    indexer.index([art(1)])
    other = Indexer(indexer.location, embedder, ChunkingSettings(target_words=5, max_words=10))
    report = other.index([art(1)])
    assert report.rebuilt == "chunking settings changed" and report.embedded == report.passages


def test_missing_index_is_refused(tmp_path):
    with pytest.raises(IndexMissing, match="qa index"):
        open_store(tmp_path / "none")


def test_corrupt_index_is_refused(indexer):
    indexer.index([art(1), art(2)])
    gen = current_generation(indexer.location)
    seg = next((gen / "segments").glob("seg-*"))
    (seg / "vectors.npy").write_bytes(b"garbage")
    with pytest.raises(IndexCorrupt, match="--rebuild --articles"):
        open_store(indexer.location)
    (gen / "manifest.json").write_text("{")
    with pytest.raises(IndexCorrupt):
        open_store(indexer.location)


def test_other_model_or_dimension_is_refused(indexer):
    indexer.index([art(1)])
    with pytest.raises(IndexMismatch, match="embedding model"):
        open_store(indexer.location, "some/other-model")
    _edit_manifest(indexer.location, dimension=768)
    with pytest.raises(IndexCorrupt, match="shape"):
        open_store(indexer.location)


def test_older_format_is_refused_then_rebuilt(indexer):
    indexer.index([art(1)])
    _edit_manifest(indexer.location, format_version=2)
    with pytest.raises(IndexMismatch, match="format 2"):
        open_store(indexer.location)
    report = indexer.index([art(1)])
    assert report.rebuilt == "the old index is in another format" and report.embedded == report.passages
    assert open_store(indexer.location).stats().passages == report.passages


def test_hnsw_index_type_without_embedding(tmp_path, embedder):
    ix = Indexer(tmp_path / "h", embedder, ChunkingSettings(target_words=8, max_words=20), index_type="flat")
    ix.index([art(i) for i in range(5)])
    ix.index_type = "hnsw"
    report = ix.index([art(i) for i in range(5)])
    assert report.index_type == "hnsw" and report.reindexed and report.embedded == 0 and not report.rebuilt
    store = open_store(ix.location)
    found = store.dense_search(embedder.embed(["river number 3"])[0], 2)
    assert store.passages([found[0][0]])[0].article.id == "a3.txt"


def test_segments_merge_and_deleted_vectors_are_dropped(indexer):
    for i in range(10):  # ten small writes: size classes of four are merged
        indexer.apply(upsert=[art(i)])
    store = open_store(indexer.location)
    assert len(store.stats().details["segments"]) < 10
    indexer.apply(delete=[f"a{i}.txt" for i in range(8)])
    store = open_store(indexer.location)
    s = store.stats()
    assert s.articles == 2 and s.details["deleted_vectors"] < s.passages  # rewritten without most deleted vectors
    assert {pid.split(":")[0] for pid, _ in store.dense_search(indexer.embedder.embed(["river"])[0], 20)} == {"a8.txt", "a9.txt"}


def test_engine_upsert_and_delete(tmp_path):
    from qa import Config, Engine

    engine = Engine(Config(index_dir=str(tmp_path / "ix")))
    report = engine.upsert([art(1), art(2)])
    assert sorted(report.added) == ["a1.txt", "a2.txt"]
    report = engine.upsert([Article("a1.txt", "Title 1", "Completely new text about volcanoes erupting.")])
    assert report.changed == ["a1.txt"] and report.unchanged == []
    assert engine.search("volcano eruption", k=1)[0].source.article_id == "a1.txt"
    report = engine.delete(["a1.txt"])
    assert report.removed == ["a1.txt"]
    assert {h.source.article_id for h in engine.search("volcano", k=5)} == {"a2.txt"}
    assert engine.stats().articles == 1 and engine.article("a2.txt").text == art(2).text


# ---- bylines --------------------------------------------------------------------------------

def by(i: int, author: str, extra: str = "") -> Article:
    a = art(i, extra)
    a.author = author
    return a


def _hash_before_bylines(a: Article) -> str:
    """Article.hash as qa computed it before authors were stored (title, date, url, text)."""
    import hashlib

    h = hashlib.sha256()
    for part in (a.title, a.date, a.url, a.text):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def _as_built_before_bylines(root) -> None:
    """Make an index what qa built before bylines were stored: no author column, the old hashes."""
    import sqlite3

    db = sqlite3.connect(current_generation(root) / "meta.sqlite")
    rows = db.execute("SELECT id, title, date, url, text FROM articles").fetchall()
    db.executemany("UPDATE articles SET hash = ? WHERE id = ?",
                   [(_hash_before_bylines(Article(i, t, x, d, url=u)), i) for i, t, d, u, x in rows])
    db.execute("ALTER TABLE articles DROP COLUMN author")
    db.commit()
    db.close()


def _counting(embedder, monkeypatch) -> list[str]:
    """Every text the embedder is asked to embed from now on."""
    texts: list[str] = []
    embed = embedder.embed
    monkeypatch.setattr(embedder, "embed", lambda batch, *a, **k: texts.extend(batch) or embed(batch, *a, **k))
    return texts


def test_authors_are_stored_and_reach_citations(indexer):
    from qa.retrieval import Retriever

    indexer.index([by(1, "Ann Lee"), art(2)])
    store = open_store(indexer.location)
    assert [(a.id, a.author) for a in store.list_articles()] == [("a1.txt", "Ann Lee"), ("a2.txt", "")]
    assert [a.author for a in store.articles(["a2.txt", "a1.txt"])] == ["", "Ann Lee"]
    assert store.passages(["a1.txt:0"])[0].article.author == "Ann Lee"
    hits = Retriever(store, indexer.embedder).run("river number 1", 5)
    assert {h.source.article_id: h.source.author for h in hits} == {"a1.txt": "Ann Lee", "a2.txt": ""}


def test_a_byline_change_alone_reaches_the_index_without_embedding(indexer, monkeypatch):
    indexer.index([by(1, "Ann Lee"), art(2)])
    store = open_store(indexer.location)
    vector = store.passages(["a1.txt:0"], with_vectors=True)[0].vector
    embedded = _counting(indexer.embedder, monkeypatch)
    report = indexer.index([by(1, "Ann B. Lee"), art(2)])
    assert report.changed == ["a1.txt"] and report.unchanged == ["a2.txt"]
    assert report.embedded == 0 and embedded == [] and report.reused > 0  # the vectors are the stored ones
    assert store.refresh() and store.articles(["a1.txt"])[0].author == "Ann B. Lee"  # a reader sees the fix
    assert np.array_equal(store.passages(["a1.txt:0"], with_vectors=True)[0].vector, vector)
    assert not indexer.index([by(1, "Ann B. Lee"), art(2)]).touched  # and then nothing more to do


def test_an_index_built_before_bylines_opens_answers_and_gets_them_without_embedding(indexer, monkeypatch):
    from qa.retrieval import Retriever

    indexer.index([art(1), art(2), art(3)])
    _as_built_before_bylines(indexer.location)
    reader = open_store(indexer.location)  # e.g. the chat, open across the upgrade
    assert [a.author for a in reader.list_articles()] == ["", "", ""]
    hits = Retriever(reader, indexer.embedder).run("river number 2", 3)
    assert hits[0].source.article_id == "a2.txt" and hits[0].source.author == ""
    assert reader.articles(["a2.txt"])[0].text == art(2).text
    # The articles' files have bylines: the next `qa index` stores them, embedding nothing.
    embedded = _counting(indexer.embedder, monkeypatch)
    report = indexer.index([by(1, "Ann Lee"), art(2), by(3, "Bo Chan")])
    assert report.changed == ["a1.txt", "a3.txt"] and report.unchanged == ["a2.txt"]  # an article without one is as it was
    assert report.embedded == 0 and embedded == []
    assert reader.refresh() and [a.author for a in reader.list_articles()] == ["Ann Lee", "", "Bo Chan"]
    assert [h.source.author for h in Retriever(reader, indexer.embedder).run("river number 3", 1)] == ["Bo Chan"]
    # A reader of the old generation picks the new one's bylines up after a rebuild too.
    _as_built_before_bylines(indexer.location)
    old = open_store(indexer.location)
    indexer.index([by(1, "Ann Lee"), art(2), by(3, "Bo Chan")], rebuild=True)
    assert old.refresh() and [a.author for a in old.list_articles()] == ["Ann Lee", "", "Bo Chan"]


def test_deleted_articles_leave_no_keyword_rows(indexer):
    """After deleting 10 of 12 articles, a keyword search finds the 2 left (stale rows once crowded them out)."""
    articles = [Article(f"k{i:02d}.txt", f"Ferry {i}", f"The ferry number {i} crossed the strait at dawn.", "2020-01-01", f"k{i:02d}.txt")
                for i in range(12)]
    indexer.index(articles)
    report = indexer.index(articles[10:])
    assert len(report.removed) == 10
    store = open_store(indexer.location)
    try:
        found = [pid.split(":")[0] for pid, _ in store.keyword_search("ferry strait dawn", 2)]
        assert sorted(found) == ["k10.txt", "k11.txt"]
        store._keywords().reload()
        assert len(store._keywords()) == store.stats().passages  # the keyword index's documents
    finally:
        store.close()


def test_an_unchanged_article_is_not_written_again(indexer):
    """The stored content hash is the article's: a second run over the same articles changes nothing."""
    articles = [art(1), art(2)]
    indexer.index(articles)
    again = indexer.index(articles)
    assert not again.touched and sorted(again.unchanged) == ["a1.txt", "a2.txt"]
    assert all(open_store(indexer.location).article_hashes().values())
