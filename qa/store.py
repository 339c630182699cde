"""Kept for imports written before the index moved to :mod:`qa.stores` (the errors, the folder helpers)."""

from qa.stores.base import IndexCorrupt, IndexMismatch, IndexMissing, IndexStoreError
from qa.stores.local import LocalStore as IndexStore
from qa.stores.local import Manifest, build_lock, current_generation

__all__ = ["IndexCorrupt", "IndexMismatch", "IndexMissing", "IndexStore", "IndexStoreError", "Manifest", "build_lock", "current_generation"]
