"""Retrieval over a real index: BM25 finds what the embedding blurs, fusion keeps it, reused vectors are the right ones."""

import shutil

import numpy as np
import pytest

from qa.retrieval import fuse

# Near-spellings of a rare name: the embedding model puts them close to "Zentrox", BM25 does not.
LOOKALIKES = ["Zentrix", "Zentro", "Centrox", "Zentrax", "Xentrox", "Zentrovia", "Zentroxa", "Sentrox", "Zentrux", "Zentrock"]
TARGET = ("Local News\n\nThe annual dog show drew large crowds on Saturday; the winning poodle, bred by a family "
          "from the valley, was sponsored by Zentrox, and the judges praised its calm temper and its neat coat.\n")


def test_fuse_adds_reciprocal_ranks():
    fused = dict(fuse([["a", "b", "c"], ["c", "d"]], k=4, rrf_k=60))
    assert fused["c"] == pytest.approx(1 / 62 + 1 / 60)
    assert fused["a"] == pytest.approx(1 / 60) and fused["d"] == pytest.approx(1 / 61)
    assert [pid for pid, _ in fuse([["a", "b", "c"], ["c", "d"]], k=2)] == ["c", "a"]


@pytest.fixture(scope="module")
def lookalike_engine(tmp_path_factory, embedder):
    from qa import Config, Engine

    tmp = tmp_path_factory.mktemp("retrieval")
    arts = tmp / "articles"
    arts.mkdir()
    for i, name in enumerate(LOOKALIKES):
        (arts / f"brand-{i}.txt").write_text(f"Brand notes {i}\n\n{name} is a brand. The {name} company.\n")
    (arts / "dog-show.txt").write_text(TARGET)
    engine = Engine(Config(index_dir=str(tmp / "index"), articles_dir=str(arts)))
    engine.embedder = embedder  # the session's loaded model
    engine.index(arts)
    return engine


def test_a_rare_name_the_embedding_blurs_is_found_by_keyword_and_kept_by_fusion(lookalike_engine):
    engine = lookalike_engine
    vector = engine.embedder.embed(["Zentrox"])[0]
    dense = [pid for pid, _ in engine.store.dense_search(vector, 3)]
    assert not any(pid.startswith("dog-show") for pid in dense)  # the premise: dense search alone misses it
    hits = engine.search("Zentrox", k=3)
    assert hits[0].source.article_id == "dog-show.txt"


def test_vectors_reused_for_a_renamed_article_are_its_own(lookalike_engine, tmp_path):
    from qa.chunking import chunk_article, search_text

    engine = lookalike_engine
    arts = tmp_path / "articles"
    shutil.copytree(engine.config.articles_dir, arts)
    (arts / "dog-show.txt").rename(arts / "renamed-show.txt")
    (arts / "brand-3.txt").rename(arts / "brand-three.txt")
    report = engine.index(arts)
    assert report.embedded == 0  # moved text costs no embedding: its vectors are reused
    for article_id in ("renamed-show.txt", "brand-three.txt", "brand-5.txt"):
        article = engine.article(article_id)
        ids = [p.id for p in chunk_article(article, engine.config.chunking)]
        stored = engine.store.passages(ids, with_vectors=True)
        assert len(stored) == len(ids) > 0, article_id
        for sp in stored:
            fresh = engine.embedder.embed([search_text(article.title, sp.passage)])[0]
            # bf16 embedding (on CPUs that have it) differs in the 4th decimal with the batch; another passage's vector is far.
            assert float(np.dot(sp.vector, fresh)) > 0.999, sp.passage.id


def test_a_wider_look_searches_as_deep_as_the_usual_top_k(lookalike_engine):
    """A time question's wider look (4 x top_k) must keep the passages a plain question reads: same depth, same fusion."""
    from qa.retrieval import Retriever

    store = lookalike_engine.store
    asked = []
    real_dense, real_keyword = store.dense_search, store.keyword_search
    store.dense_search = lambda v, n: asked.append(n) or real_dense(v, n)  # a spy on the real store
    store.keyword_search = lambda q, n: asked.append(n) or real_keyword(q, n)
    try:
        retriever = Retriever(store, lookalike_engine.embedder)
        plain = [h.source.passage for h in retriever.run("Which brand is a company?", 3)]
        wide = [h.source.passage for h in retriever.run("Which brand is a company?", 30, depth_for=3)]
    finally:
        store.dense_search, store.keyword_search = real_dense, real_keyword
    assert asked == [20, 20, 30, 30]  # max(4 x 3, 20), then at least the 30 asked for
    assert wide[:3] == plain
