"""The local store's keyword index: BM25 over passages' search text in Tantivy, derived from meta.sqlite.

SQLite stays the source of truth. Each write logs, in its own transaction, the vector ids it
added and deleted (``keyword_log``, keyed by the write's version number); after the SQLite
commit the writer applies the log to Tantivy, commits Tantivy, and then records the version it
applied in ``APPLIED`` (written to a temporary file, fsynced, renamed). So Tantivy may lag the
committed SQLite state, never lead it (a rolled-back write never reaches it), and ``APPLIED``
never says more than Tantivy holds: replaying the log from it is idempotent (every added id is
deleted first), so a writer killed at any point is caught up by the next writer
(:meth:`qa.stores.local.LocalStore.tidy`, which ``qa index`` runs before each update). A folder
that is missing or unreadable, or older than the log kept, is rebuilt from SQLite.

Readers never write: they search the Tantivy commit they last loaded, and the store keeps only
the hits whose vector ids the SQLite snapshot still lists (ids are never reused), so a deleted
passage is never returned even while Tantivy lags.

Analysis, as in the Milvus store's ``analyzer()``: words split at non-alphanumeric characters,
lower-cased, accents folded to ASCII, the bm25s English stopwords dropped, no stemming;
BM25 with k1 = 1.2, b = 0.75 (Tantivy's, and SQLite FTS5's).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

TOKENIZER = "qa"
WRITER_HEAP = 64_000_000  # bytes of Tantivy's indexing buffer (one thread): flushed to a segment when full
APPLIED = "APPLIED"


def analyzer():
    """The Tantivy analyzer: simple tokenizer, lowercase, ASCII folding, bm25s English stopwords."""
    import tantivy
    from bm25s.stopwords import STOPWORDS_EN

    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold())
            .filter(tantivy.Filter.custom_stopword(sorted(STOPWORDS_EN)))
            .build())


def _schema():
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("vid", indexed=True, fast=True)  # indexed: deleted by term; fast: read back per hit
    sb.add_text_field("body", tokenizer_name=TOKENIZER, index_option="freq")  # no positions: no phrase queries
    return sb.build()


class KeywordIndex:
    """A Tantivy index of (vector id, search text), in a folder of an index generation.

    Args:
        folder: The folder (``<generation>/keyword``); made by :meth:`create`.
    """

    def __init__(self, folder: Path):
        import tantivy

        self.folder = folder
        self.schema = _schema()
        self.analyzer = analyzer()
        self.index = tantivy.Index(self.schema, path=str(folder), reuse=True)
        self.index.register_tokenizer(TOKENIZER, self.analyzer)
        self.index.config_reader("Manual")  # reloaded when the store sees a new SQLite version
        self._searcher = self.index.searcher()

    @classmethod
    def create(cls, folder: Path) -> "KeywordIndex":
        """An empty index in a new folder (a folder already there is replaced)."""
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        kw = cls(folder)
        writer = kw.index.writer(WRITER_HEAP, 1)
        writer.commit()  # a first commit: readers can open it
        writer.wait_merging_threads()
        kw.reload()
        return kw

    @classmethod
    def open(cls, folder: Path) -> "KeywordIndex | None":
        """The index in a folder, or None when it is missing or cannot be read (then it is rebuilt by a writer)."""
        if not (folder / "meta.json").is_file() or cls.read_applied(folder) is None:
            return None
        try:
            return cls(folder)
        except (ValueError, OSError, RuntimeError):
            return None

    @staticmethod
    def read_applied(folder: Path) -> int | None:
        """The SQLite version whose changes Tantivy holds (at least), or None when unknown."""
        try:
            return int((folder / APPLIED).read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None

    def applied(self) -> int:
        """The SQLite version whose changes this index holds (-1: unknown, rebuild)."""
        found = self.read_applied(self.folder)
        return -1 if found is None else found

    def apply(self, add: Iterable[tuple[int, str]], delete: Iterable[int], version: int, fresh: bool = False) -> None:
        """Delete and add passages, commit, then record ``version`` as applied.

        Args:
            add: (vector id, search text) of passages to add (any earlier copy of the id is deleted first,
                so applying the same change twice leaves one copy).
            delete: Vector ids to remove.
            version: The SQLite version these changes bring the index to.
            fresh: The index is empty (a rebuild): nothing to delete first.
        """
        import tantivy

        writer = self.index.writer(WRITER_HEAP, 1)
        try:
            for vid in delete:
                writer.delete_documents_by_term("vid", int(vid))
            for vid, text in add:
                if not fresh:
                    writer.delete_documents_by_term("vid", int(vid))
                writer.add_document(tantivy.Document(vid=int(vid), body=text))
            _crash_point("keyword-before-commit")
            writer.commit()
            writer.wait_merging_threads()  # merges of small segments finish now, not in a writer that is gone
        except BaseException:
            with contextlib.suppress(Exception):
                writer.rollback()
            raise
        _crash_point("keyword-before-applied")
        self.set_applied(version)

    def set_applied(self, version: int) -> None:
        """Record the SQLite version this index holds (after its Tantivy commit: it never says more than is there)."""
        tmp = self.folder / (APPLIED + ".tmp")
        with open(tmp, "wb") as f:
            f.write(str(int(version)).encode())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.folder / APPLIED)
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def reload(self) -> None:
        """Search the newest Tantivy commit (by any process) from now on."""
        self.index.reload()
        self._searcher = self.index.searcher()

    def __len__(self) -> int:
        """Live documents in the loaded commit."""
        return self._searcher.num_docs

    def terms(self, query: str) -> list[str]:
        """The query's distinct terms after analysis (stopwords dropped)."""
        return list(dict.fromkeys(self.analyzer.analyze(query)))

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Passages sharing terms with the query, by BM25.

        Returns:
            (vector id, BM25 score), best first.
        """
        import tantivy

        terms = self.terms(query)
        if not terms or k <= 0:
            return []
        q = tantivy.Query.boolean_query([
            (tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "body", t, index_option="freq")) for t in terms])
        searcher = self._searcher
        hits = searcher.search(q, int(k), count=False).hits
        if not hits:
            return []
        vids = searcher.fast_field_values("vid", [addr for _, addr in hits])
        return [(int(v), float(score)) for v, (score, _) in zip(vids, hits)]


def _crash_point(name: str) -> None:
    from qa.stores.local import _crash_point as crash

    crash(name)
