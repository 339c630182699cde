"""Index stores: the protocol (:mod:`qa.stores.base`) and its implementations.

``open_store`` / ``create_store`` pick the implementation from the location: a folder
is the embedded default (:class:`qa.stores.local.LocalStore`: FAISS + SQLite FTS5).
"""

from __future__ import annotations

from pathlib import Path

from qa.locations import is_lite_location, is_milvus_location
from qa.stores.base import (
    ArticlePage,
    ArticleRecord,
    HybridSearch,
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    IndexStore,
    IndexStoreError,
    PassageRecord,
    StoredPassage,
    StoreSettings,
    StoreStats,
    content_hash,
)

__all__ = [
    "ArticlePage", "ArticleRecord", "HybridSearch", "IndexCorrupt", "IndexMismatch", "IndexMissing", "IndexStore", "IndexStoreError",
    "PassageRecord", "StoreSettings", "StoreStats", "StoredPassage", "content_hash", "create_store", "open_store", "writer_lock",
]


def open_store(location: str | Path, embedding_model: str | None = None) -> IndexStore:
    """Open the live index at a location.

    Args:
        location: An index folder, or a Milvus location (``milvus:///path/file.db``, ``http://host:19530``).
        embedding_model: If given, the model the index must have been built with.

    Raises:
        IndexStoreError: Missing, damaged or mismatched (the message says what to do).
    """
    if is_milvus_location(location):
        from qa.stores.milvus import MilvusStore

        return MilvusStore.open(str(location), embedding_model)
    from qa.stores.local import LocalStore

    return LocalStore.open(location, embedding_model)


def create_store(location: str | Path, settings: StoreSettings) -> IndexStore:
    """A new, empty index at a location; it becomes the live one on ``publish()``."""
    if is_milvus_location(location):
        from qa.stores.milvus import MilvusStore

        return MilvusStore.create(str(location), settings)
    from qa.stores.local import LocalStore

    return LocalStore.create(location, settings)


def writer_lock(location: str | Path):
    """One build at a time: a lock file in an index folder; on a Milvus server a lease row
    (:func:`qa.stores.milvus.writer_lease`). Milvus Lite locks its file itself."""
    import contextlib

    if is_lite_location(location):
        return contextlib.nullcontext()
    if is_milvus_location(location):
        from qa.stores.milvus import writer_lease

        return writer_lease(str(location))
    from qa.stores.local import build_lock

    return build_lock(Path(location))
