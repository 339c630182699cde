"""Index stores: the protocol (:mod:`qa.stores.base`) and its implementations.

``open_store`` / ``create_store`` pick the implementation from the location: a folder
is the embedded default (:class:`qa.stores.local.LocalStore`: FAISS + SQLite FTS5).
"""

from __future__ import annotations

from pathlib import Path

from qa.stores.base import (
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
    "ArticleRecord", "HybridSearch", "IndexCorrupt", "IndexMismatch", "IndexMissing", "IndexStore", "IndexStoreError",
    "PassageRecord", "StoreSettings", "StoreStats", "StoredPassage", "content_hash", "create_store", "open_store",
]


def open_store(location: str | Path, embedding_model: str | None = None) -> IndexStore:
    """Open the live index at a location.

    Args:
        location: An index folder.
        embedding_model: If given, the model the index must have been built with.

    Raises:
        IndexStoreError: Missing, damaged or mismatched (the message says what to do).
    """
    from qa.stores.local import LocalStore

    return LocalStore.open(location, embedding_model)


def create_store(location: str | Path, settings: StoreSettings) -> IndexStore:
    """A new, empty index at a location; it becomes the live one on ``publish()``."""
    from qa.stores.local import LocalStore

    return LocalStore.create(location, settings)
