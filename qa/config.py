"""One configuration for the Python API, the CLI and the web chat."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

from qa.chunking import ChunkingSettings
from qa.embedding import DEFAULT_EMBEDDING_MODEL
from qa.questions import DEFAULT_MAX_QUESTION_CHARS
from qa.reader import DEFAULT_READER


@dataclass
class Config:
    """Settings of qa. Every field can also be set by an environment variable ``QA_<NAME>``.

    Attributes:
        articles_dir: Folder of articles to index.
        index_dir: Where the index lives.
        embedding_model: sentence-transformers model (name, path or hub id).
        reader_model: Extractive QA model; 'bundled' is the one shipped with qa.
        top_k: Passages retrieved per question.
        threshold: "No answer" below this reader margin; None uses the reader's calibrated value.
        max_answer_tokens: Longest answer in tokens.
        index_type: 'auto', 'flat' (exact) or 'hnsw' (approximate, for very large corpora).
        chunking: Passage sizes.
        max_question_chars: Longest question accepted (chat, APIs, CLI and ``Engine.ask``); longer ones
            are refused with a message that says so.
    """

    articles_dir: str = "seeds"
    index_dir: str = "index"
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    reader_model: str = DEFAULT_READER
    top_k: int = 3
    threshold: float | None = None
    max_answer_tokens: int = 30
    index_type: str = "auto"
    chunking: ChunkingSettings = field(default_factory=ChunkingSettings)
    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS

    @classmethod
    def from_env(cls, **overrides) -> "Config":
        """Defaults, then ``QA_*`` environment variables, then explicit overrides (None ignored)."""
        cfg = cls()
        for f in fields(cls):
            value = os.environ.get(f"QA_{f.name.upper()}")
            if value is None or f.name == "chunking":
                continue
            if f.name in ("top_k", "max_answer_tokens", "max_question_chars"):
                value = int(value)
            elif f.name == "threshold":
                value = float(value)
            setattr(cfg, f.name, value)
        for k, v in overrides.items():
            if v is not None:
                setattr(cfg, k, v)
        return cfg
