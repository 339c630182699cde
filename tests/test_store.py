import json
import shutil

import numpy as np
import pytest

from qa.articles import Article
from qa.chunking import ChunkingSettings
from qa.indexing import Indexer
from qa.store import IndexCorrupt, IndexMismatch, IndexMissing, IndexStore, current_generation


def art(i: int, extra: str = "") -> Article:
    return Article(f"a{i}.txt", f"Title {i}", f"Article {i} says the river number {i} is long. {extra}It has fish {i}.", "2020-01-01", f"a{i}.txt")


@pytest.fixture
def indexer(tmp_path, embedder):
    return Indexer(tmp_path / "index", embedder, ChunkingSettings(target_words=8, max_words=20))


def _edit_manifest(root, **changes) -> None:
    """Change fields of the live generation's manifest, as an older or damaged index would have them."""
    path = current_generation(root) / "manifest.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def test_build_search_persist(indexer):
    report = indexer.index([art(1), art(2), art(3)])
    assert sorted(report.added) == ["a1.txt", "a2.txt", "a3.txt"] and report.embedded == report.passages > 0
    store = IndexStore.open(indexer.root, indexer.embedder.model_name)
    assert len(store) == report.passages and store.manifest.dimension == 384
    scores, rows = store.search(indexer.embedder.embed(["river number 2"]), 3)
    top = store.passages(list(rows[0]))[0]
    assert top.article.id == "a2.txt" and top.article.title == "Title 2"
    assert store.article("a2.txt").text[top.passage.start:top.passage.end] == top.passage.text
    assert scores[0][0] > scores[0][-1]


def test_incremental_add_change_remove(indexer):
    indexer.index([art(1, "Salmon migrate upstream. "), art(2), art(3)])
    gen1 = current_generation(indexer.root)
    v_before = IndexStore.open(indexer.root).vectors
    unchanged_vec = np.array(v_before[:1])
    report = indexer.index([art(1, "Salmon migrate upstream. "), art(2, "Now with news. "), art(4, "Otters play there. ")])
    assert report.added == ["a4.txt"] and report.changed == ["a2.txt"] and report.removed == ["a3.txt"]
    assert report.unchanged == ["a1.txt"]
    store = IndexStore.open(indexer.root)
    assert report.embedded < report.passages  # a1 was not embedded again
    assert np.allclose(store.vectors[:1], unchanged_vec)
    assert {a.id for a in store.articles()} == {"a1.txt", "a2.txt", "a4.txt"}
    assert current_generation(indexer.root) != gen1 and not gen1.exists()
    # Keyword search over kept, changed and new passages (kept ones reuse their stored terms).
    for words, article in (("salmon", "a1.txt"), ("news", "a2.txt"), ("otters", "a4.txt")):
        hits = store.keyword_search(words, 5)
        assert {store.passages([r])[0].article.id for r, _ in hits} == {article}
    # nothing changed: nothing rebuilt
    again = indexer.index([art(1, "Salmon migrate upstream. "), art(2, "Now with news. "), art(4, "Otters play there. ")])
    assert not again.touched and again.embedded == 0


def test_chunking_change_rebuilds(indexer, embedder):
    indexer.index([art(1)])
    other = Indexer(indexer.root, embedder, ChunkingSettings(target_words=5, max_words=10))
    report = other.index([art(1)])
    assert report.rebuilt == "chunking settings changed" and report.embedded == report.passages


def test_missing_index_is_refused(tmp_path):
    with pytest.raises(IndexMissing, match="qa index"):
        IndexStore.open(tmp_path / "none")


def test_corrupt_index_is_refused(indexer):
    indexer.index([art(1), art(2)])
    gen = current_generation(indexer.root)
    (gen / "index.faiss").write_bytes(b"garbage")
    with pytest.raises(IndexCorrupt, match="--rebuild"):
        IndexStore.open(indexer.root)
    (gen / "manifest.json").write_text("{")
    with pytest.raises(IndexCorrupt):
        IndexStore.open(indexer.root)


def test_other_model_or_dimension_is_refused(indexer):
    indexer.index([art(1)])
    with pytest.raises(IndexMismatch, match="embedding model"):
        IndexStore.open(indexer.root, "some/other-model")
    _edit_manifest(indexer.root, dimension=768)
    with pytest.raises(IndexCorrupt, match="dimension"):
        IndexStore.open(indexer.root)


def test_older_format_is_refused_then_rebuilt(indexer):
    indexer.index([art(1)])
    _edit_manifest(indexer.root, format_version=1)
    with pytest.raises(IndexMismatch, match="format 1"):
        IndexStore.open(indexer.root)
    report = indexer.index([art(1)])
    assert report.rebuilt == "the old index is in another format" and report.embedded == report.passages
    assert len(IndexStore.open(indexer.root)) == report.passages


def test_interrupted_build_leaves_old_index(indexer, monkeypatch):
    import qa.store

    indexer.index([art(1), art(2)])
    before = current_generation(indexer.root)

    def boom(*a, **k):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(qa.store.np, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        indexer.index([art(1), art(2), art(3)])
    monkeypatch.undo()
    assert current_generation(indexer.root) == before
    store = IndexStore.open(indexer.root)
    assert {a.id for a in store.articles()} == {"a1.txt", "a2.txt"}
    # the next build succeeds and cleans up the partial generation
    indexer.index([art(1), art(2), art(3)])
    assert len(list(indexer.root.glob("gen-*"))) == 1


def test_hnsw_index_type(tmp_path, embedder):
    ix = Indexer(tmp_path / "h", embedder, ChunkingSettings(target_words=8, max_words=20), index_type="hnsw")
    report = ix.index([art(i) for i in range(5)])
    assert report.index_type == "hnsw"
    store = IndexStore.open(ix.root)
    _, rows = store.search(embedder.embed(["river number 3"]), 2)
    assert store.passages(list(rows[0]))[0].article.id == "a3.txt"


def test_engine_upsert_and_delete(tmp_path):
    from qa import Config, Engine

    engine = Engine(Config(index_dir=str(tmp_path / "ix")))
    report = engine.upsert([art(1), art(2)])
    assert sorted(report.added) == ["a1.txt", "a2.txt"]
    report = engine.upsert([Article("a1.txt", "Title 1", "Completely new text about volcanoes erupting.")])
    assert report.changed == ["a1.txt"] and report.unchanged == ["a2.txt"]
    assert engine.search("volcano eruption", k=1)[0].citation.article_id == "a1.txt"
    report = engine.delete(["a1.txt"])
    assert report.removed == ["a1.txt"]
    assert {h.citation.article_id for h in engine.search("volcano", k=5)} == {"a2.txt"}
