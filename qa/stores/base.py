"""The store protocol: what the engine and the indexer need from an index, keyed by stable ids.

Every index backend (the embedded FAISS + SQLite default in :mod:`qa.stores.local`, a
Milvus collection, ...) implements :class:`IndexStore`. Nothing outside ``qa/stores``
knows how a backend lays out its data: the engine searches and fetches through these
methods, and the indexer plans and applies changes through them.

Ids:
    * an article id is the article's own (:class:`qa.articles.Article` ``id``);
    * a passage id is :attr:`qa.chunking.Passage.id` (``"<article id>:<passage number>"``),
      so it is the same in every build of the same article;
    * a content hash (:func:`content_hash`) names the text that was embedded and the model
      that embedded it; stores use it to hand back an existing vector instead of
      embedding the same text again (a renamed or moved article costs no embedding).

Consistency: a store applies one :meth:`IndexStore.write` atomically; a reader sees all of
it or none of it, also when the writer is killed half way. (A store without multi-row
transactions, Milvus, makes a write recoverable instead: a reader may see an article half
updated for an instant, never missing, and the next update after a killed write repairs it;
an optional ``tidy()`` does the repair, and the indexer calls it before each update.) An id
both upserted and deleted in one write keeps its new version. A reader in another process
picks changes up with :meth:`IndexStore.refresh`, which refuses (:class:`IndexMismatch`) a
rebuild made with another embedding model. ``tests/test_store_contract.py`` checks all of
this for every store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from qa.articles import Article
from qa.chunking import Passage


class IndexStoreError(RuntimeError):
    """Base of the index errors; the message says what to do."""


class IndexMissing(IndexStoreError):
    """No index at the location."""


class IndexCorrupt(IndexStoreError):
    """Files missing, truncated or inconsistent."""


class IndexMismatch(IndexStoreError):
    """Built with another format, embedding model or dimension."""


@dataclass
class StoreSettings:
    """What an index is built with; fixed for the life of a store (changing any of them
    except ``index_type`` means building a new one).

    Attributes:
        embedding_model: Name of the embedding model (as configured).
        dimension: Vector dimension.
        chunking: The chunking settings as a dict (:class:`qa.chunking.ChunkingSettings`).
        index_type: How dense search is done: 'auto', 'flat' (exact), 'ivf' or 'hnsw' (approximate);
            a store may ignore it (e.g. a server with its own index choice).
    """

    embedding_model: str
    dimension: int
    chunking: dict
    index_type: str = "auto"


@dataclass
class PassageRecord:
    """A passage ready to be stored.

    Attributes:
        passage: The passage (its ``id`` is the stable passage id).
        search_text: The text that was embedded and is keyword-indexed (title + passage text).
        content_hash: :func:`content_hash` of ``search_text`` and the embedding model.
        vector: float32 (dimension,), unit length.
    """

    passage: Passage
    search_text: str
    content_hash: str
    vector: np.ndarray


@dataclass
class ArticleRecord:
    """An article with all of its passages: the unit of an upsert (it replaces the article's old passages)."""

    article: Article
    passages: list[PassageRecord] = field(default_factory=list)


@dataclass
class StoredPassage:
    """A passage read back from a store, with its article (without the article's text).

    Attributes:
        passage: The passage.
        article: Its article; ``text`` is empty (fetch it with :meth:`IndexStore.articles`).
        vector: Its vector, when asked for.
    """

    passage: Passage
    article: Article
    vector: np.ndarray | None = None


@dataclass
class StoreStats:
    """What a store holds.

    Attributes:
        articles: Number of articles.
        passages: Number of passages.
        embedding_model: The model the vectors come from.
        dimension: Vector dimension.
        index_type: The dense search structure in use (e.g. 'flat', 'hnsw', 'flat+hnsw').
        version: Changes with every committed write; readers compare it to see a change.
        location: Where the store lives (a folder, a URL).
        details: Backend-specific numbers (segments, files, ...), JSON-safe.
    """

    articles: int
    passages: int
    embedding_model: str
    dimension: int
    index_type: str
    version: str
    location: str = ""
    details: dict = field(default_factory=dict)


@dataclass
class ArticlePage:
    """One page of the article list (what the chat's articles panel shows).

    Attributes:
        total: Articles in the store.
        matching: Articles that match the filter (all of them without one).
        articles: The first ``limit`` matching articles, newest first, undated last, then by title; no text.
    """

    total: int
    matching: int
    articles: list[Article]


def article_words(article: Article) -> str:
    """What the article list's filter looks in: title, date, source and URL, lower-cased."""
    return " ".join((article.title, article.date, article.source, article.url)).lower()


def newest_first(articles: list[Article]) -> list[Article]:
    """Newest first, undated last, then by title (case-insensitive)."""
    out = sorted(articles, key=lambda a: a.title.lower())
    out.sort(key=lambda a: a.date or "", reverse=True)  # stable: titles stay sorted within a date
    return out


def page_articles(articles: list[Article], words: Sequence[str], limit: int) -> ArticlePage:
    """:meth:`IndexStore.browse` over a list already read (for stores that cannot filter and order themselves)."""
    words = [w.lower() for w in words]
    found = [a for a in articles if all(w in article_words(a) for w in words)]
    return ArticlePage(len(articles), len(found), newest_first(found)[:limit])


@runtime_checkable
class IndexStore(Protocol):
    """An index of articles and passages: dense vectors, keyword search and metadata.

    A store is obtained from its backend's ``open(location, embedding_model)`` (the live
    index; raises :class:`IndexMissing` / :class:`IndexCorrupt` / :class:`IndexMismatch`
    with a message that says what to do) or ``create(location, settings)`` (an empty,
    unpublished index that becomes the live one with :meth:`publish`; a full rebuild is
    written this way so readers keep the old index until the new one is complete).
    """

    @property
    def settings(self) -> StoreSettings:
        """What the index was built with."""
        ...

    def write(self, upsert: Sequence[ArticleRecord] = (), delete: Sequence[str] = ()) -> None:
        """Apply one change atomically: readers see all of it or none of it.

        Args:
            upsert: Articles to add or replace; an article's old passages are replaced by the given ones.
            delete: Ids of articles to remove with their passages (unknown ids are ignored).

        Raises:
            ValueError: A vector of the wrong dimension or not finite (nothing is written).
            IndexStoreError: The change could not be written (disk full, read-only); nothing changed.
        """
        ...

    def publish(self) -> None:
        """Make a store made by ``create`` the live index (atomically); a no-op for an opened live store."""
        ...

    def discard(self) -> None:
        """Remove a store made by ``create`` that was not published (a failed build); a no-op for the live store."""
        ...

    def warm_up(self) -> None:
        """Load the search structures now (readers; a writer never needs them).

        Raises:
            IndexCorrupt: They are damaged (e.g. vectors that are not finite).
        """
        ...

    def refresh(self) -> bool:
        """Pick up changes committed since this store was opened or last refreshed (by any process).

        Returns:
            True when something changed.
        """
        ...

    def article_hashes(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        """Article ids with their content hash (:attr:`qa.articles.Article.hash`), to plan an update.

        Args:
            ids: Only these (those the store holds); None: every article.
        """
        ...

    def vectors_by_content(self, content_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors for passages with these content hashes (those it holds), so they need no embedding."""
        ...

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Nearest passages to a query vector.

        Args:
            vector: float32 (dimension,), unit length.
            k: How many.

        Returns:
            (passage id, cosine similarity), best first; fewer than k when the store holds fewer.
        """
        ...

    def keyword_search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Passages sharing words with the query, by BM25.

        Returns:
            (passage id, BM25 score), best first, only passages that match at all.
        """
        ...

    def passages(self, ids: Sequence[str], with_vectors: bool = False) -> list[StoredPassage]:
        """Passages by id, in the given order; ids the store does not hold are left out."""
        ...

    def articles(self, ids: Sequence[str]) -> list[Article]:
        """Full articles (text included) by id, in the given order; unknown ids are left out."""
        ...

    def list_articles(self) -> list[Article]:
        """All articles, without their text, ordered by id."""
        ...

    def browse(self, words: Sequence[str] = (), limit: int = 200) -> ArticlePage:
        """The newest articles whose title, date, source or URL contain every word (case-insensitive), without text.

        An archive of a million articles is never listed whole: the page gets ``limit`` rows and the counts.

        Args:
            words: What each article listed must contain (none: every article).
            limit: At most this many articles.
        """
        ...

    def stats(self) -> StoreStats:
        """Counts and settings."""
        ...

    def set_index_type(self, index_type: str) -> str:
        """Rebuild only the dense search structure ('auto', 'flat', 'hnsw', 'ivf'); vectors are kept.

        Returns:
            The concrete type now in use.
        """
        ...

    def close(self) -> None:
        """Release files and connections."""
        ...


@runtime_checkable
class HybridSearch(Protocol):
    """Optional: a store that fuses dense and keyword search itself (e.g. Milvus ``hybrid_search`` with ``RRFRanker``).

    :class:`qa.retrieval.Retriever` uses it when present, else it fuses
    :meth:`IndexStore.dense_search` and :meth:`IndexStore.keyword_search` by reciprocal rank.
    """

    def hybrid_search(self, vector: np.ndarray, query: str, k: int, rrf_k: int = 60) -> list[tuple[str, float]]:
        """Passages by reciprocal-rank fusion of dense and BM25 search.

        Returns:
            (passage id, fused score), best first.
        """
        ...


def content_hash(search_text: str, embedding_model: str) -> str:
    """Names an embedding: the same text embedded by the same model gets the same hash."""
    h = hashlib.sha256()
    h.update(embedding_model.encode("utf-8"))
    h.update(b"\0")
    h.update(search_text.encode("utf-8"))
    return h.hexdigest()[:32]
