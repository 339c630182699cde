"""Dense search in the local store's approximate segments (IVF and HNSW over SQ8 codes), re-ranked exactly from
the memory-mapped float32 vectors: scores exact, recall against exact search, a structure a fraction of the vectors."""

from __future__ import annotations

import numpy as np
import pytest

from qa.articles import Article
from qa.chunking import Passage
from qa.stores import ArticleRecord, PassageRecord, StoreSettings, content_hash
from qa.stores.local import LocalStore

DIM = 384


def clustered(n: int, seed: int) -> np.ndarray:
    """Unit vectors around 40 centres (like embeddings of news on a few topics, not uniform noise)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, DIM))
    v = centres[rng.integers(0, 40, n)] + 0.9 * rng.normal(size=(n, DIM))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_segments_hold_sq8_codes_and_rank_by_exact_scores(tmp_path, kind):
    vectors = clustered(3000, 0)
    store = LocalStore.create(tmp_path / "index", StoreSettings("m", DIM, {}, kind))
    records = []
    for i, v in enumerate(vectors):
        text = f"passage {i}"
        records.append(ArticleRecord(Article(f"a{i}", "", text), [PassageRecord(Passage(f"a{i}", 0, 0, len(text), text), text,
                                                                             content_hash(text, "m"), v)]))
    store.write(records)
    store.publish()
    seg = store.gen / "segments" / store.stats().details["segment_names"][0]
    assert store.stats().index_type == kind
    # The structure with its codes is well under the float32 vectors (a byte per dimension + lists or links).
    assert (seg / "index.faiss").stat().st_size < 0.5 * (seg / "vectors.npy").stat().st_size
    queries = clustered(60, 1)
    exact = queries @ vectors.T
    recall = []
    for q, scores in zip(queries, exact):
        found = store.dense_search(q, 10)
        rows = [int(pid.split(":")[0][1:]) for pid, _ in found]
        # Scores are the exact cosines (re-ranked from the stored vectors), not the 8-bit approximations.
        assert np.allclose([s for _, s in found], scores[rows], atol=1e-5)
        recall.append(len(set(rows) & set(np.argsort(-scores)[:10].tolist())) / 10)
    assert np.mean(recall) >= 0.95, np.mean(recall)
    got = store.passages(["a7:0"], with_vectors=True)[0].vector
    assert np.array_equal(got, vectors[7])  # the stored vector itself
    store.close()


def test_auto_uses_ivf_above_the_threshold_and_deleted_vectors_are_skipped(tmp_path, monkeypatch):
    import qa.stores.local as local

    monkeypatch.setattr(local, "APPROX_ABOVE", 500)
    vectors = clustered(800, 2)
    store = LocalStore.create(tmp_path / "index", StoreSettings("m", DIM, {}, "auto"))
    records = [ArticleRecord(Article(f"a{i}", "", f"p {i}"), [PassageRecord(Passage(f"a{i}", 0, 0, 3, f"p {i}"), f"p {i}",
                                                                      content_hash(f"p {i}", "m"), v)]) for i, v in enumerate(vectors)]
    store.write(records)
    assert store.stats().index_type == "ivf"
    assert store.dense_search(vectors[5], 1)[0][0] == "a5:0"
    store.write(delete=["a5"])
    store.refresh()  # as the engine does before each question
    found = [pid for pid, _ in store.dense_search(vectors[5], 10)]
    assert "a5:0" not in found and len(found) == 10  # skipped by the search itself, not dropped afterwards
    store.close()


def test_ivf_codes_are_mapped_from_the_segment_file_not_copied(tmp_path):
    """Answering processes share one copy of the IVF lists through the page cache (issue 24): the open
    store maps the segment's index.faiss (listed in this process's memory maps) instead of reading it in."""
    vectors = clustered(1200, 3)
    store = LocalStore.create(tmp_path / "index", StoreSettings("m", DIM, {}, "ivf"))
    store.write([ArticleRecord(Article(f"a{i}", "", f"p {i}"), [PassageRecord(Passage(f"a{i}", 0, 0, 3, f"p {i}"), f"p {i}",
                                                                       content_hash(f"p {i}", "m"), v)]) for i, v in enumerate(vectors)])
    store.publish()
    reader = LocalStore.open(tmp_path / "index")
    seg = reader.gen / "segments" / reader.stats().details["segment_names"][0]
    assert reader.dense_search(vectors[9], 1)[0][0] == "a9:0"
    assert str((seg / "index.faiss").resolve()) in open("/proc/self/maps").read()
    reader.close()
    store.close()
