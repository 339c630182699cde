"""qa: question answering over a folder of articles, with citations.

Example:
    >>> from qa import Engine
    >>> engine = Engine.load("index")
    >>> result = engine.ask("Who is the NATO Secretary-General?")
    >>> result.answer, result.citations[0].title
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Names loaded when first used (PEP 562): `import qa.config` or `qa.text` must not pull in the
# reader, FAISS and the stores; `from qa import Engine` still works as before.
_WHERE = {
    "Article": "qa.articles", "load_articles": "qa.articles",
    "Passage": "qa.chunking", "chunk_article": "qa.chunking",
    "ChunkingSettings": "qa.config", "Config": "qa.config",
    "Answer": "qa.engine", "Citation": "qa.engine", "Engine": "qa.engine", "Hit": "qa.engine", "Source": "qa.engine",
    "Turn": "qa.conversation",
    "Indexer": "qa.indexing", "IndexReport": "qa.indexing",
    "IndexCorrupt": "qa.stores", "IndexMismatch": "qa.stores", "IndexMissing": "qa.stores", "IndexStoreError": "qa.stores",
}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from qa.articles import Article, load_articles  # noqa: F401
    from qa.chunking import Passage, chunk_article  # noqa: F401
    from qa.config import ChunkingSettings, Config  # noqa: F401
    from qa.conversation import Turn  # noqa: F401
    from qa.engine import Answer, Citation, Engine, Hit, Source  # noqa: F401
    from qa.indexing import Indexer, IndexReport  # noqa: F401
    from qa.stores import IndexCorrupt, IndexMismatch, IndexMissing, IndexStoreError  # noqa: F401


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")


__version__ = "0.1.0"
