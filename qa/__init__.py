"""qa: question answering over a folder of articles, with citations.

Example:
    >>> from qa import Engine
    >>> engine = Engine.load("index")
    >>> result = engine.ask("Who is the NATO Secretary-General?")
    >>> result.answer, result.citations[0].title
"""

from qa.articles import Article, load_articles
from qa.chunking import ChunkingSettings, Passage, chunk_article
from qa.config import Config
from qa.engine import Answer, Citation, Engine, Hit
from qa.conversation import Turn
from qa.indexing import Indexer, IndexReport
from qa.stores import IndexCorrupt, IndexMismatch, IndexMissing, IndexStoreError

__all__ = [
    "Answer", "Article", "ChunkingSettings", "Citation", "Config", "Engine", "Hit", "IndexCorrupt",
    "IndexMismatch", "IndexMissing", "IndexReport", "IndexStoreError", "Indexer", "Passage", "Turn",
    "chunk_article", "load_articles",
]
__version__ = "0.1.0"
