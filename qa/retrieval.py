"""Retrieval: a question -> the passages most likely to answer it (dense + BM25, fused by rank)."""

from __future__ import annotations

import contextlib

import time
from dataclasses import dataclass, fields

import numpy as np

from qa.embedding import Embedder
from qa.stores.base import HybridSearch, IndexMismatch, IndexStore

RRF_K = 60  # reciprocal-rank fusion constant (Cormack et al. 2009)


@dataclass
class Source:
    """A retrieved passage and its article: what a question was read from.

    Attributes:
        article_id: Id of the article.
        title: Article title.
        date: Publication date.
        source: File the article was read from.
        url: Article URL, if known.
        passage_number: Which passage of the article, counted from 1 (as shown in the chat and the CLI, and in JSON).
        passage_start: Character offset of the passage in the article.
        passage_end: End offset of the passage.
        passage: The passage text.
        cosine: Cosine similarity of the passage to the question.
        author: The article's byline, if known.
        page: The page of a PDF article the passage (for a :class:`Citation`, the answer) starts on,
            counted from 1; None for other articles (set by the engine: :func:`qa.pages.add_pages`).
    """

    article_id: str
    title: str
    date: str
    source: str
    url: str
    passage_number: int
    passage_start: int
    passage_end: int
    passage: str
    cosine: float = 0.0
    author: str = ""
    page: int | None = None


@dataclass
class Citation(Source):
    """Where an answer is: the :class:`Source` it was read from and the answer's place in the article.

    Attributes:
        answer_start: Character offset of the answer in the article.
        answer_end: End offset of the answer in the article.
        file_answer_start: Character offset of the answer in the article's file, for plain-text (.txt)
            articles whose file is in the configured articles folder, unchanged; else None.
        file_answer_end: End offset of the answer in the file.
    """

    answer_start: int = 0
    answer_end: int = 0
    file_answer_start: int | None = None
    file_answer_end: int | None = None

    @classmethod
    def of(cls, source: Source, answer_start: int, answer_end: int) -> "Citation":
        """The citation of an answer at ``answer_start:answer_end`` (article offsets) in a source's passage."""
        return cls(**{f.name: getattr(source, f.name) for f in fields(Source)}, answer_start=answer_start, answer_end=answer_end)

    def marked(self, before: str = "**", after: str = "**") -> str:
        """The passage with the answer wrapped in markers."""
        s = self.answer_start - self.passage_start
        e = self.answer_end - self.passage_start
        return self.passage[:s] + before + self.passage[s:e] + after + self.passage[e:]


@dataclass
class Hit:
    """A retrieved passage.

    Attributes:
        source: The passage and its article (``cosine``: cosine similarity to the query).
        rrf_score: The fused reciprocal-rank score (only its order means something).
    """

    source: Source
    rrf_score: float


def fuse(rankings: list[list[str]], k: int, rrf_k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal-rank fusion: each ranking adds 1 / (rrf_k + rank) to an id's score.

    Args:
        rankings: Ids, best first, one list per retriever.
        k: How many to keep.
        rrf_k: The fusion constant.

    Returns:
        (id, fused score), best first.
    """
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, pid in enumerate(ranking):
            fused[pid] = fused.get(pid, 0.0) + 1.0 / (rrf_k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])[:k]


class Retriever:
    """Dense (embedding) and keyword (BM25) search over a store, fused by reciprocal rank.

    Dense retrieval finds paraphrases; BM25 finds rare names and exact phrases that a small
    embedding model blurs. Reciprocal-rank fusion needs no score calibration. A store that
    fuses by itself (:class:`qa.stores.base.HybridSearch`) is asked to.

    Args:
        store: The index.
        embedder: The model the index was built with.
        pool: Candidates taken from each search per result kept (at least 20).
    """

    def __init__(self, store: IndexStore, embedder: Embedder, pool: int = 4):
        self.store = store
        self.embedder = embedder
        self.pool = pool

    def run(self, query: str, k: int, timings: dict[str, float] | None = None, depth_for: int | None = None) -> list[Hit]:
        """The k passages closest to a query.

        Args:
            query: Free text.
            k: How many.
            timings: If given, gets the seconds spent embedding ('embed') and searching ('search').
            depth_for: Take as many candidates from each search as for this many results (default
                ``k``): a wider look (more than the usual top_k) then keeps the usual top_k first, in the same order.

        Returns:
            Hits, best first.

        Raises:
            IndexMismatch: The embedding model gives vectors of another dimension than the index holds.
        """
        t0 = time.perf_counter()
        vector = self.embedder.embed([query])[0]
        t1 = time.perf_counter()
        dim = self.store.settings.dimension
        if vector.shape[0] != dim:
            where = self.store.stats().location
            raise IndexMismatch(
                f"The index in {where}/ holds vectors of dimension {dim}, but the embedding model gives {vector.shape[0]}. "
                f"Rebuild it with: qa index --rebuild --articles <your articles folder> --index {where}"
            )
        pool = max(self.pool * (depth_for or k), 20, k)
        # One snapshot for the searches and the passages they found, where the store offers one (the local store).
        with getattr(self.store, "snapshot", contextlib.nullcontext)():
            return self._ranked(vector, query, k, pool, timings, t0, t1)

    def _ranked(self, vector, query: str, k: int, pool: int, timings, t0: float, t1: float) -> list[Hit]:
        if isinstance(self.store, HybridSearch):
            ranked = self.store.hybrid_search(vector, query, k, RRF_K)
        else:
            dense = [pid for pid, _ in self.store.dense_search(vector, pool)]
            keyword = [pid for pid, _ in self.store.keyword_search(query, pool)]
            ranked = fuse([dense, keyword], k)
        scores = dict(ranked)
        hits = []
        for sp in self.store.passages([pid for pid, _ in ranked], with_vectors=True):
            a, p = sp.article, sp.passage
            cosine = float(np.dot(sp.vector, vector)) if sp.vector is not None else 0.0
            found = Source(a.id, a.title, a.date, a.source, a.url, p.number + 1, p.start, p.end, p.text,
                           cosine=cosine, author=a.author)
            hits.append(Hit(found, scores[p.id]))
        if timings is not None:
            timings.update(embed=t1 - t0, search=time.perf_counter() - t1)
        return hits
