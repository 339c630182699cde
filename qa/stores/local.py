"""The embedded index store (the default): FAISS segments + SQLite (metadata and FTS5 BM25).

Layout of an index folder::

    index/
      CURRENT                the live generation's folder name (written to a temp file, fsynced, renamed)
      .lock                  held by the one build that may run at a time
      gen-<time>-<id>/       one generation: one embedding model and chunking
        manifest.json        format, embedding model, dimension, chunking (never changes)
        READERS              readers hold a shared flock on it; an old generation is removed only when none does
        meta.sqlite          articles, passages (stable ids), the list of live segments, deleted vector
                             ids, the keyword changes not yet applied, and a version bumped by every write
        keyword/             the keyword index (Tantivy, BM25), derived from meta.sqlite: see qa.stores.keyword
        segments/seg-*/      immutable: ids.npy (vector ids) + vectors.npy (+ index.faiss when HNSW or IVF)

Updates cost what changed, not the collection:

* a write puts the new passages' vectors into a new small segment (written and fsynced
  first), then, in one SQLite transaction, replaces the articles' rows, logs the keyword
  changes and updates the segment list. The transaction is the commit point: a writer killed before it
  leaves an orphan segment folder (removed by the next write) and the index as it was.
* a deleted passage's vector stays in its segment, listed in ``dead`` and skipped by
  search (a FAISS ID selector); segments of similar size are merged, and a segment with
  many dead vectors rewritten, so the count of segments stays logarithmic.
* the keyword index (Tantivy: segments, deletes and merges of its own) is brought up to the
  committed state after each commit, from the logged changes; it may lag SQLite (a killed
  writer), never lead it, and the next writer catches it up or rebuilds it. Readers drop
  keyword hits that their SQLite snapshot does not list. (SQLite FTS5, used before, scored
  every matching passage: 200 ms a search at 1M passages, against a few ms for Tantivy.)

A full rebuild (another embedding model or chunking, ``--rebuild``) writes a new
generation and switches ``CURRENT`` to it. Readers (the chat) call :meth:`LocalStore.refresh`
before each question: a new generation is reopened, new segments are loaded, the others
kept in memory.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import math
import os
import re
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from qa.articles import Article
from qa.chunking import Passage
from qa.stores.base import (
    ArticlePage,
    ArticleRecord,
    IndexCorrupt,
    IndexMismatch,
    IndexMissing,
    IndexStoreError,
    StoredPassage,
    StoreSettings,
    StoreStats,
)

logger = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 3: segments + SQLite FTS5, stable passage ids
RERANK = 4  # an SQ8 segment's search takes this many candidates per result, ranked exactly
HNSW_M = 32  # graph neighbours per vector (twice that on the bottom layer)
# "auto": segments above this many vectors use IVF-SQ8, smaller ones exact search. IVF, not HNSW: at 1M
# passages (benchmarks/results/live.md) IVF1024-SQ8 probing 64 lists found the exact top 10 (recall 1.0,
# 6 ms) where HNSW-SQ8 (M=32, efConstruction=40) found 0.58 at efSearch 128 and 0.81 at 512, and it
# builds in 25 s against 11 minutes.
APPROX_ABOVE = 200_000
IVF_PROBE_SHARE = 16  # an IVF segment's search probes one list in this many (62 of 1000 at 1M)
IVF_MIN_PROBE = 16  # and at least this many (a small segment has few lists)
MERGE_FANOUT = 4  # this many segments of one size class are merged into one
DEAD_REWRITE = 0.3  # a segment with this share of deleted vectors is rewritten without them
_GEN_NAME = re.compile(r"^gen-[A-Za-z0-9_-]{1,80}$")
_WORD = re.compile(r"\w+")

_SCHEMA = """
CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT, date TEXT, source TEXT, url TEXT, hash TEXT, text TEXT,
                       author TEXT NOT NULL DEFAULT '');
CREATE TABLE passages (vid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, article_id TEXT NOT NULL, number INTEGER,
                       start INTEGER, "end" INTEGER, text TEXT, content_hash TEXT, segment TEXT NOT NULL, body TEXT);
CREATE INDEX passages_article ON passages(article_id);
CREATE INDEX passages_content ON passages(content_hash);
CREATE TABLE keyword_log (version INTEGER NOT NULL, vid INTEGER NOT NULL, op INTEGER NOT NULL);
CREATE INDEX keyword_log_version ON keyword_log(version);
CREATE TABLE segments (name TEXT PRIMARY KEY, kind TEXT NOT NULL, rows INTEGER NOT NULL, files TEXT NOT NULL);
CREATE TABLE dead (vid INTEGER PRIMARY KEY, segment TEXT NOT NULL);
CREATE INDEX dead_segment ON dead(segment);
CREATE TABLE state (key TEXT PRIMARY KEY, value);
"""
# passages.body: the keyword-indexed search text when it is not the article's title + "\n" + the passage
# text (what qa.chunking.search_text makes; NULL then, so the text is not stored twice). keyword_log:
# the vector ids each write added (op 1) and deleted (op 0), until the keyword index has applied them.
# Generations made before the keyword index moved to Tantivy have an FTS5 table (passages_fts) instead
# and keep it: they are read and written as before.
_BODY = "COALESCE(p.body, CASE WHEN a.title <> '' THEN a.title || char(10) || p.text ELSE p.text END)"

# Indexes built before bylines were stored lack the articles' author column. Readers read '' for it
# (they never change an index: `qa ask` and the chat may not be allowed to); the first write adds it,
# inside that write's transaction (SQLite adds a column with a default without rewriting a row).
_ADD_AUTHOR = "ALTER TABLE articles ADD COLUMN author TEXT NOT NULL DEFAULT ''"


@dataclass
class Manifest:
    """What a generation was built with (``manifest.json``; written once)."""

    embedding_model: str
    dimension: int
    chunking: dict
    format_version: int = FORMAT_VERSION
    created: str = ""

    @classmethod
    def read(cls, path: Path) -> "Manifest":
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class _Segment:
    """An immutable block of vectors, loaded for search.

    A flat segment (small) is searched exactly in memory. An HNSW segment's graph holds the
    vectors scalar-quantized to 8 bits (SQ8: a byte per dimension, a quarter of float32); its
    search takes ``RERANK`` times the candidates asked for and ranks them by their exact inner
    product, read from ``vectors.npy`` memory-mapped (only the candidates' pages are read), so
    scores are exact and the float32 vectors never sit in memory. (HNSW segments written before
    held float32 vectors in the graph; they are read as they are, without re-ranking.)
    """

    def __init__(self, folder: Path, kind: str, lock_fd: int | None):
        import faiss

        self.name = folder.name
        self.kind = kind
        self.ids = np.load(folder / "ids.npy")
        self._lock_fd = lock_fd
        self.vectors = np.load(folder / "vectors.npy", mmap_mode="r")  # exact vectors, read on demand
        self.rerank = False
        if kind == "hnsw":
            self.index = faiss.read_index(str(folder / "index.faiss"))
            self.index.hnsw.efSearch = 128
            self.rerank = isinstance(self.index, faiss.IndexHNSWSQ)
        elif kind == "ivf":
            # The lists' codes mapped from the file, not copied: answering processes share one copy in the
            # page cache (at 1M, 394 MB each otherwise), opening reads nothing, and search is as fast
            # (2.9 against 3.8 ms p50 at 1M, docs/scale.md). Segment files are never rewritten in place.
            self.index = faiss.read_index(str(folder / "index.faiss"), getattr(faiss, "IO_FLAG_MMAP_IFC", 0))
            self.nprobe = max(min(self.index.nlist, IVF_MIN_PROBE), self.index.nlist // IVF_PROBE_SHARE)
            self.rerank = True
        else:
            if not np.isfinite(self.vectors).all():
                raise ValueError(f"segment {self.name} holds vectors that are not finite (NaN or infinite)")
            self.index = faiss.IndexFlatIP(self.vectors.shape[1])
            if len(self.vectors):
                self.index.add(np.ascontiguousarray(self.vectors))
        self.selector = None  # set by set_dead

    def set_dead(self, dead_vids: np.ndarray) -> None:
        import faiss

        if not len(dead_vids):
            self.selector = None
            return
        rows = np.searchsorted(self.ids, dead_vids).astype(np.int64)
        batch = faiss.IDSelectorBatch(rows)
        self._keep = (rows, batch)  # the selectors refer to these; keep them alive
        self.selector = faiss.IDSelectorNot(batch)
        self.dead = len(rows)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        import faiss

        live = len(self.ids) - (self.dead if self.selector is not None else 0)
        k = min(k, live)
        if k <= 0:
            return []
        wanted = min(k * RERANK, live) if self.rerank else k
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(sel=self.selector, efSearch=max(128, wanted))
        elif self.kind == "ivf":
            params = faiss.SearchParametersIVF(sel=self.selector, nprobe=self.nprobe)
        else:
            params = faiss.SearchParameters(sel=self.selector) if self.selector is not None else None
        scores, rows = self.index.search(vector[None, :], wanted, params=params)
        rows, scores = rows[0][rows[0] >= 0], scores[0][rows[0] >= 0]
        if self.rerank and len(rows):
            order = np.argsort(rows)  # rows in file order: fewer, sequential page reads
            exact = np.empty(len(rows), dtype=np.float32)
            exact[order] = np.asarray(self.vectors[rows[order]], dtype=np.float32) @ vector
            best = np.argsort(-exact, kind="stable")[:k]
            rows, scores = rows[best], exact[best]
        return [(int(self.ids[r]), float(s)) for r, s in zip(rows, scores)]

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the shared lock
            self._lock_fd = None


class LocalStore:
    """An index generation in a folder (see the module docstring for the layout).

    Use :meth:`open` (the live index) or :meth:`create` (a new generation, live after
    :meth:`publish`). Safe to use from several threads; one process writes at a time.
    """

    def __init__(self, root: Path, gen: Path, manifest: Manifest, db: sqlite3.Connection, readers_fd: int | None, published: bool):
        self.root = root
        self.gen = gen
        self.manifest = manifest
        self._db = db
        self._readers_fd = readers_fd
        self._published = published
        self._lock = threading.RLock()
        self._segments: dict[str, _Segment] = {}
        self._loaded_version: int | None = None
        self._version = self._state("version", 0)
        self._has_author = self._author_stored()
        self._fts = self._fts_stored()  # an older generation: keywords in SQLite FTS5, not Tantivy
        self._kw = None  # the keyword index (qa.stores.keyword.KeywordIndex), opened when first needed
        self._kw_version: int | None = None  # what its APPLIED file said when it was last (re)loaded

    # ---- opening and creating -------------------------------------------------------------

    @classmethod
    def open(cls, index_dir: str | Path, embedding_model: str | None = None) -> "LocalStore":
        """Open the live generation of an index folder and check it.

        Args:
            index_dir: The index folder.
            embedding_model: If given, the model the index must have been built with.

        Raises:
            IndexMissing: No index there.
            IndexCorrupt: Files missing, truncated or inconsistent.
            IndexMismatch: Built with another format or embedding model.
        """
        root = Path(index_dir)
        for attempt in range(3):
            gen = current_generation(root)
            if gen is None:
                raise IndexMissing(f"No index in {root}/. Build it with: qa index --articles <folder> --index {root}")
            fd = _lock_shared(gen / "READERS")
            if current_generation(root) == gen:  # not replaced (and maybe removed) while we took the lock
                break
            if fd is not None:
                os.close(fd)
        fix = rebuild_hint(root)
        try:
            try:
                manifest = Manifest.read(gen / "manifest.json")
            except (OSError, ValueError, TypeError, KeyError) as e:
                raise IndexCorrupt(f"The index in {root}/ is damaged (manifest unreadable: {e}). {fix}") from None
            if manifest.format_version != FORMAT_VERSION:
                raise IndexMismatch(
                    f"The index in {root}/ has format {manifest.format_version}; this version of qa reads {FORMAT_VERSION}. {fix}"
                )
            if embedding_model is not None and manifest.embedding_model != embedding_model:
                raise IndexMismatch(
                    f"The index in {root}/ was built with embedding model {manifest.embedding_model!r}, "
                    f"but {embedding_model!r} is configured. {fix}, or set the embedding model back to {manifest.embedding_model!r}."
                )
            if not (gen / "meta.sqlite").is_file():
                raise IndexCorrupt(f"The index in {root}/ is damaged (meta.sqlite is missing). {fix}")
            try:
                db = _connect(gen / "meta.sqlite", read_only=not os.access(gen, os.W_OK))
                store = cls(root, gen, manifest, db, fd, published=True)
                store._check()
            except sqlite3.DatabaseError as e:
                raise IndexCorrupt(f"The index in {root}/ is damaged ({e}). {fix}") from None
        except IndexStoreError:
            if fd is not None:
                os.close(fd)
            raise
        return store

    @classmethod
    def create(cls, index_dir: str | Path, settings: StoreSettings) -> "LocalStore":
        """A new, empty generation in an index folder; readers keep the live one until :meth:`publish`."""
        root = Path(index_dir)
        with _write_errors(root):
            root.mkdir(parents=True, exist_ok=True)
            remove_unused_generations(root)
            gen = root / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
            (gen / "segments").mkdir(parents=True)
            manifest = Manifest(settings.embedding_model, settings.dimension, dict(settings.chunking),
                                created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
            _write_file(gen / "manifest.json", json.dumps(asdict(manifest), indent=1).encode())
            _write_file(gen / "READERS", b"")
            db = _connect(gen / "meta.sqlite")
            db.executescript(_SCHEMA)
            db.executemany("INSERT INTO state VALUES (?, ?)",
                           [("version", 0), ("next_vid", 0), ("index_type", settings.index_type), ("articles", 0), ("passages", 0),
                            ("keyword_pruned", 0)])
            db.commit()
            from qa.stores.keyword import KeywordIndex

            KeywordIndex.create(gen / "keyword").set_applied(0)
            _fsync_path(gen)
        return cls(root, gen, manifest, db, _lock_shared(gen / "READERS"), published=False)

    def publish(self) -> None:
        """Make this generation the live one (atomic switch of ``CURRENT``), then remove unused old ones."""
        if self._published:
            return
        with _write_errors(self.root):
            _fsync_path(self.gen / "meta.sqlite")
            _fsync_path(self.gen)
            _crash_point("before-publish")
            _write_file(self.root / "CURRENT.tmp", self.gen.name.encode())
            os.replace(self.root / "CURRENT.tmp", self.root / "CURRENT")
            _fsync_path(self.root)
        self._published = True
        remove_unused_generations(self.root)

    def discard(self) -> None:
        """Remove this generation if it was never published."""
        if self._published:
            return
        self.close()
        shutil.rmtree(self.gen, ignore_errors=True)

    def close(self) -> None:
        with self._lock:
            self._kw = self._kw_version = None
            for seg in self._segments.values():
                seg.close()
            self._segments = {}
            self._loaded_version = None
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            if self._readers_fd is not None:
                os.close(self._readers_fd)
                self._readers_fd = None

    def _check(self) -> None:
        """Cheap consistency checks (counts, files, dimensions), run on every open."""
        fix = rebuild_hint(self.root)
        bad = f"The index in {self.root}/ is damaged"
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"articles", "passages", "segments", "dead", "state"} <= tables or not {"passages_fts", "keyword_log"} & tables:
            raise IndexCorrupt(f"{bad} (meta.sqlite lacks tables). {fix}")
        articles = self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        passages = self._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        if (articles, passages) != (self._state("articles", -1), self._state("passages", -1)) or (passages and not articles):
            raise IndexCorrupt(f"{bad} ({articles} articles and {passages} passages stored, "
                               f"{self._state('articles', '?')} and {self._state('passages', '?')} recorded). {fix}")
        vectors = 0
        for name, _, rows, files in self._db.execute("SELECT name, kind, rows, files FROM segments").fetchall():
            folder = self.gen / "segments" / name
            for fname, size in json.loads(files).items():
                f = folder / fname
                if not f.is_file() or f.stat().st_size != size:
                    raise IndexCorrupt(f"{bad} (segments/{name}/{fname} is missing or has the wrong size). {fix}")
            try:
                shape = np.load(folder / "vectors.npy", mmap_mode="r").shape
            except (OSError, ValueError) as e:
                raise IndexCorrupt(f"{bad} (segments/{name}/vectors.npy: {e}). {fix}") from None
            if shape != (rows, self.manifest.dimension):
                raise IndexCorrupt(f"{bad} (segments/{name} holds vectors of shape {shape}, expected "
                                   f"({rows}, {self.manifest.dimension})). {fix}")
            vectors += rows
        dead = self._db.execute("SELECT COUNT(*) FROM dead").fetchone()[0]
        if vectors - dead != passages:
            raise IndexCorrupt(f"{bad} ({vectors - dead} live vectors for {passages} passages). {fix}")

    # ---- reading --------------------------------------------------------------------------

    @property
    def settings(self) -> StoreSettings:
        m = self.manifest
        return StoreSettings(m.embedding_model, m.dimension, m.chunking, self._state("index_type", "auto"))

    def __len__(self) -> int:
        return self._state("passages", 0)

    def refresh(self) -> bool:
        """Pick up a new generation or new segments written by any process since the last call.

        Returns:
            True when something changed (the caller's view of the index is now the newest).
        """
        with self._lock:
            if self._published and current_generation(self.root) not in (self.gen, None):
                fresh = LocalStore.open(self.root, self.manifest.embedding_model)
                old = (self.gen, self.manifest, self._db, self._readers_fd, self._segments)
                self.gen, self.manifest, self._db, self._readers_fd = fresh.gen, fresh.manifest, fresh._db, fresh._readers_fd
                self._segments, self._loaded_version = {}, None
                self._version = fresh._version
                self._has_author = fresh._has_author
                self._fts, self._kw, self._kw_version = fresh._fts, None, None
                _, _, db, fd, segs = old
                for seg in segs.values():
                    seg.close()
                db.close()
                if fd is not None:
                    os.close(fd)
                return True
            version = self._state("version", 0)
            if version == self._version:
                return False
            self._version = version
            self._has_author = self._author_stored()  # a writer may have added the column meanwhile
            return True

    def _fts_stored(self) -> bool:
        """Whether this generation keeps its keywords in SQLite FTS5 (made before the Tantivy keyword index)."""
        with self._lock:
            return self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'passages_fts'").fetchone() is not None

    def _author_stored(self) -> bool:
        """Whether the articles table has its author column (an index built before bylines were stored has not)."""
        with self._lock:
            return "author" in {r[1] for r in self._db.execute("PRAGMA table_info(articles)")}

    def _author(self, table: str = "") -> str:
        """The SQL for an article's author: its column, or '' in an index built before it existed."""
        return f"{table}author" if self._has_author else "''"

    def warm_up(self) -> None:
        """Load the segments of the current version (called by readers; search calls it too)."""
        with self._lock:
            if self._loaded_version == self._version:
                return
            for attempt in range(3):
                try:
                    self._load_segments()
                    return
                except FileNotFoundError:
                    # Compaction removed a segment between our read of the list and our lock: read again.
                    self._version = self._state("version", 0)
            raise IndexCorrupt(f"The index in {self.root}/ is damaged (segment files are missing). {rebuild_hint(self.root)}")

    def _load_segments(self) -> None:
        rows = self._db.execute("SELECT name, kind FROM segments").fetchall()
        dead: dict[str, list[int]] = {}
        for vid, seg in self._db.execute("SELECT vid, segment FROM dead"):
            dead.setdefault(seg, []).append(vid)
        keep = {}
        for name, kind in rows:
            seg = self._segments.get(name)
            if seg is None:
                folder = self.gen / "segments" / name
                fd = _lock_shared(folder / "ids.npy", missing_ok=False)
                try:
                    seg = _Segment(folder, kind, fd)
                except (RuntimeError, ValueError, OSError) as e:
                    os.close(fd)
                    if isinstance(e, FileNotFoundError):
                        raise
                    raise IndexCorrupt(f"The index in {self.root}/ is damaged ({e}). {rebuild_hint(self.root)}") from None
            seg.set_dead(np.array(sorted(dead.get(name, ())), dtype=np.int64))
            keep[name] = seg
        for name, seg in self._segments.items():
            if name not in keep:
                seg.close()
        self._segments = keep
        self._loaded_version = self._version

    @contextlib.contextmanager
    def snapshot(self):
        """Reads inside it see one state of the index (one SQLite read transaction), whatever a writer commits meanwhile.

        A question reads dense hits, keyword hits and their passages in one snapshot: a passage
        found by one search is never missing from the other reads, and the segments searched are
        the ones that state lists (loaded, and held, so their vectors cannot go away).
        """
        with self._lock:
            if self._db.in_transaction:  # nested, or the caller's own transaction
                yield self
                return
            seen = self._version  # what refresh() last reported: it still reports a change after this snapshot
            for attempt in range(3):
                self._db.execute("BEGIN")
                try:
                    self._version = self._state("version", 0)  # the first read: the snapshot starts here
                    self._author_check()
                    self.warm_up()
                    if not self._fts:
                        self._keywords()  # loaded at the snapshot's start, so a later commit does not reach it
                    break
                except IndexCorrupt:
                    self._db.execute("COMMIT")
                    if attempt == 2:
                        self._version = seen
                        raise
                except BaseException:
                    self._db.execute("COMMIT")
                    self._version = seen
                    raise
            try:
                yield self
            finally:
                self._version = seen
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("COMMIT")

    def _author_check(self) -> None:
        if not self._has_author:
            self._has_author = self._author_stored()

    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Nearest passages by cosine similarity (inner product of unit vectors)."""
        vector = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
        if vector.shape[0] != self.manifest.dimension:
            raise IndexMismatch(
                f"The index in {self.root}/ holds vectors of dimension {self.manifest.dimension}, but the query has "
                f"{vector.shape[0]}. {rebuild_hint(self.root)}"
            )
        self.warm_up()
        with self._lock:
            found = [hit for seg in self._segments.values() for hit in seg.search(vector, k)]
        found.sort(key=lambda h: -h[1])
        return self._ids_for(found[:k])

    def keyword_search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Passages by BM25 over their words (Tantivy; FTS5 in an older generation); English stopwords are ignored.

        Only passages the current SQLite state (the snapshot, inside one) lists are returned:
        the keyword index may lag it after a killed writer, and ids are never reused.
        """
        if not self._fts:
            with self._lock:
                kw = self._keywords()
                found = kw.search(query, k) if kw is not None else []
            return self._ids_for(found)
        from bm25s.stopwords import STOPWORDS_EN

        terms = [w for w in dict.fromkeys(_WORD.findall(query.lower())) if w not in STOPWORDS_EN]
        if not terms:
            return []
        match = " OR ".join(f'"{w}"' for w in terms)
        with self._lock:
            found = self._db.execute(
                "SELECT rowid, bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ? ORDER BY bm25(passages_fts) LIMIT ?",
                (match, int(k)),
            ).fetchall()
        return self._ids_for([(vid, -score) for vid, score in found])

    def _keywords(self):
        """The keyword index, reloaded when a writer has applied more to it (None when missing: a writer rebuilds it).

        A writer commits Tantivy after SQLite, then records what it applied (``APPLIED``): reading that
        small file before each search (not only when SQLite's version moves) is what lets a reader see
        the keywords of a write whose SQLite commit it saw first. Inside a snapshot it is not reloaded
        past the snapshot's version: a question's keyword hits come from the state its other reads see
        (or, after a killed writer, an earlier one), as far as the index loaded before the snapshot allows.
        """
        from qa.stores.keyword import KeywordIndex

        with self._lock:
            folder = self.gen / "keyword"
            if self._kw is None:
                self._kw = KeywordIndex.open(folder)
                if self._kw is None:
                    logger.warning("the keyword index in %s is missing or damaged; the next qa index rebuilds it", self.gen)
                    return None
                self._kw_version = self._kw.applied()
            else:
                applied = KeywordIndex.read_applied(folder)
                if applied is not None and applied != self._kw_version and (not self._db.in_transaction or applied <= self._version):
                    self._kw.reload()
                    self._kw_version = applied
            return self._kw

    def _ids_for(self, scored: list[tuple[int, float]]) -> list[tuple[str, float]]:
        """Vector ids -> passage ids (those still stored), keeping order and scores."""
        if not scored:
            return []
        with self._lock:
            ids = dict(self._db.execute(
                f"SELECT vid, id FROM passages WHERE vid IN ({','.join('?' * len(scored))})", [v for v, _ in scored]
            ).fetchall())
        return [(ids[v], s) for v, s in scored if v in ids]

    def passages(self, ids: Sequence[str], with_vectors: bool = False) -> list[StoredPassage]:
        """Passages (with their articles, without article text) by id, in the given order."""
        ids = list(ids)
        if not ids:
            return []
        with self._lock:
            found = self._db.execute(
                'SELECT p.id, p.article_id, p.number, p.start, p."end", p.text, a.title, a.date, a.source, a.url, p.vid, p.segment, '
                f"{self._author('a.')} FROM passages p JOIN articles a ON a.id = p.article_id WHERE p.id IN ({','.join('?' * len(ids))})",
                ids,
            ).fetchall()
        by_id = {}
        for pid, aid, n, s, e, text, title, date, source, url, vid, seg, author in found:
            vector = self._vector(seg, vid) if with_vectors else None
            by_id[pid] = StoredPassage(Passage(aid, n, s, e, text), Article(aid, title, "", date, source, url, author), vector)
        return [by_id[i] for i in ids if i in by_id]

    def _vector(self, segment: str, vid: int) -> np.ndarray | None:
        loaded = self._segments.get(segment)
        if loaded is not None:  # held in memory (and its files locked): never compacted away under a reader
            row = int(np.searchsorted(loaded.ids, vid))
            if row < len(loaded.ids) and loaded.ids[row] == vid:
                return np.array(loaded.vectors[row], dtype=np.float32)  # exact (an SQ8 graph holds approximations)
        folder = self.gen / "segments" / segment
        try:
            ids = np.load(folder / "ids.npy", mmap_mode="r")
            row = int(np.searchsorted(ids, vid))
            return np.array(np.load(folder / "vectors.npy", mmap_mode="r")[row])
        except (OSError, ValueError, IndexError):
            return None  # compacted away meanwhile: the caller treats it as unknown

    def articles(self, ids: Sequence[str] | None = None) -> list[Article]:
        """Full articles (text included) by id, in the given order (no ids: every article without its text, as before)."""
        if ids is None:
            return self.list_articles()
        ids = list(ids)
        if not ids:
            return []
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, title, text, date, source, url, {self._author()} FROM articles WHERE id IN ({','.join('?' * len(ids))})", ids
            ).fetchall()
        by_id = {r[0]: Article(*r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def article(self, article_id: str) -> Article | None:
        """One full article, or None."""
        found = self.articles([article_id])
        return found[0] if found else None

    def list_articles(self) -> list[Article]:
        with self._lock:
            rows = self._db.execute(f"SELECT id, title, '', date, source, url, {self._author()} FROM articles ORDER BY id").fetchall()
        return [Article(*r) for r in rows]

    def browse(self, words: Sequence[str] = (), limit: int = 200) -> ArticlePage:
        """See :meth:`qa.stores.base.IndexStore.browse`: filtered, ordered, counted and cut in one SQLite scan, so a
        million articles are never read into Python. Matching is Python's own (``str.lower``, as
        :func:`qa.stores.base.page_articles` does: SQLite's ``lower`` folds ASCII only), one call per article."""
        words = [w.lower() for w in words]
        matched = 0

        def has_words(text: str) -> bool:
            # Counts as it filters: a full scan calls it once per article, so the count needs no second pass
            # (a window count(*) OVER () would keep every matching row for the sort).
            nonlocal matched
            text = text.lower()
            found = all(w in text for w in words)
            matched += found
            return found

        where = "WHERE qa_has(title || ' ' || date || ' ' || source || ' ' || url)" if words else ""
        with self._lock:
            self._db.create_function("qa_has", 1, has_words)
            self._db.create_function("qa_lower", 1, str.lower, deterministic=True)
            total = self._db.execute("SELECT count(*) FROM articles").fetchone()[0]
            rows = self._db.execute(f"SELECT id, title, '', date, source, url, {self._author()} FROM articles {where} "
                                    "ORDER BY coalesce(date, '') DESC, qa_lower(title), id LIMIT ?", [int(limit)]).fetchall()
            if limit <= 0 and words:  # SQLite skips the scan for LIMIT 0: count on its own
                self._db.execute(f"SELECT count(*) FROM articles {where}").fetchone()
        return ArticlePage(total, matched if words else total, [Article(*r) for r in rows])

    def article_hashes(self, ids: Sequence[str] | None = None) -> dict[str, str]:
        with self._lock:
            if ids is None:
                return dict(self._db.execute("SELECT id, hash FROM articles").fetchall())
            ids, out = list(ids), {}
            for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
                chunk = ids[start : start + 500]
                out.update(self._db.execute(f"SELECT id, hash FROM articles WHERE id IN ({','.join('?' * len(chunk))})", chunk).fetchall())
            return out

    def vectors_by_content(self, content_hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by content hash (read from the segments' files, nothing else is loaded)."""
        out: dict[str, np.ndarray] = {}
        hashes = list(dict.fromkeys(content_hashes))
        for start in range(0, len(hashes), 500):  # SQLite's limit on bound parameters
            chunk = hashes[start : start + 500]
            with self._lock:
                rows = self._db.execute(
                    f"SELECT content_hash, segment, vid FROM passages WHERE content_hash IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
            by_segment: dict[str, list[tuple[str, int]]] = {}
            for h, seg, vid in rows:
                if h not in out:
                    by_segment.setdefault(seg, []).append((h, vid))
            for seg, items in by_segment.items():
                folder = self.gen / "segments" / seg
                ids = np.load(folder / "ids.npy", mmap_mode="r")
                vectors = np.load(folder / "vectors.npy", mmap_mode="r")
                for h, vid in items:
                    out[h] = np.array(vectors[int(np.searchsorted(ids, vid))])
        return out

    def stats(self) -> StoreStats:
        with self._lock:
            segs = self._db.execute("SELECT kind, rows, name FROM segments ORDER BY rows DESC").fetchall()
            dead = self._db.execute("SELECT COUNT(*) FROM dead").fetchone()[0]
        kinds = "+".join(dict.fromkeys(k for k, _, _ in segs)) or _concrete(self._state("index_type", "auto"), 0)
        return StoreStats(
            articles=self._state("articles", 0), passages=self._state("passages", 0),
            embedding_model=self.manifest.embedding_model, dimension=self.manifest.dimension, index_type=kinds,
            version=f"{self.gen.name}/{self._state('version', 0)}", location=str(self.root),
            details={"segments": [r for _, r, _ in segs], "segment_names": [n for _, _, n in segs],
                     "deleted_vectors": dead, "generation": self.gen.name},
        )

    def _state(self, key: str, default):
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    # ---- writing --------------------------------------------------------------------------

    def write(self, upsert: Sequence[ArticleRecord] = (), delete: Sequence[str] = ()) -> None:
        """Add or replace articles and delete others, atomically (one SQLite transaction).

        The new passages' vectors go into one new segment, written and fsynced before the
        transaction that lists it commits.
        """
        dim = self.manifest.dimension
        records = [p for a in upsert for p in a.passages]
        vectors = np.stack([np.asarray(p.vector, dtype=np.float32).reshape(-1) for p in records]) if records else np.zeros((0, dim), np.float32)
        if vectors.shape[1] != dim:
            raise ValueError(f"vectors of dimension {vectors.shape[1]} given to an index of dimension {dim}")
        if not np.isfinite(vectors).all():
            raise ValueError("vectors that are not finite (NaN or infinite) cannot be indexed")
        ids = [a.article.id for a in upsert]
        if len(set(ids)) != len(ids):
            raise ValueError("article ids must be unique")
        drop = list(dict.fromkeys([*ids, *delete]))
        segment = None
        with self._lock, _write_errors(self.root):
            try:
                self._db.execute("BEGIN IMMEDIATE")  # one writer at a time, readers go on reading
                self._remove_orphans()
                first = self._state("next_vid", 0)
                vids = np.arange(first, first + len(records), dtype=np.int64)
                if len(records):
                    segment = self._write_segment(vids, vectors)
                _crash_point("segment-written")
                self._delete_articles(drop)
                db = self._db
                if upsert and not self._author_stored():
                    db.execute(_ADD_AUTHOR)  # an index built before bylines were stored (committed with this write)
                db.executemany(
                    "INSERT INTO articles (id, title, date, source, url, hash, text, author) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(a.id, a.title, a.date, a.source, a.url, a.hash, a.text, a.author) for a in (r.article for r in upsert)],
                )
                rows = [(int(v), p.passage.id, p.passage.article_id, p.passage.number, p.passage.start, p.passage.end,
                         p.passage.text, p.content_hash, segment[0]) for v, p in zip(vids, records)]
                if self._fts:
                    db.executemany('INSERT INTO passages (vid, id, article_id, number, start, "end", text, content_hash, segment) '
                                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                    db.executemany("INSERT INTO passages_fts(rowid, body) VALUES (?, ?)", [(int(v), p.search_text) for v, p in zip(vids, records)])
                else:
                    titles = {r.article.id: r.article.title for r in upsert}
                    bodies = [None if p.search_text == _joined(titles[p.passage.article_id], p.passage.text) else p.search_text
                              for p in records]
                    db.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                   [(*row, body) for row, body in zip(rows, bodies)])
                    version = self._state("version", 0) + 1  # this write's
                    db.executemany("INSERT INTO keyword_log VALUES (?, ?, 1)", [(version, int(v)) for v in vids])
                if segment:
                    db.execute("INSERT INTO segments VALUES (?, ?, ?, ?)", segment)
                self._bump(next_vid=first + len(records))
                _crash_point("before-commit")
                db.execute("COMMIT")
            except BaseException:
                self._abort(segment)
                raise
            self._has_author = self._author_stored()
        self._sync_keywords()
        self._compact()

    def _abort(self, segment: tuple | None) -> None:
        """Undo a write that failed part way: roll back its transaction and remove the segment it wrote, if any."""
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("ROLLBACK")
        if segment:
            shutil.rmtree(self.gen / "segments" / segment[0], ignore_errors=True)

    def _delete_articles(self, article_ids: list[str]) -> None:
        db = self._db
        for start in range(0, len(article_ids), 500):
            chunk = article_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            gone = db.execute(f"SELECT vid, segment FROM passages WHERE article_id IN ({marks})", chunk).fetchall()
            db.executemany("INSERT INTO dead VALUES (?, ?)", gone)
            if self._fts:
                db.executemany("DELETE FROM passages_fts WHERE rowid = ?", [(v,) for v, _ in gone])
            else:
                version = self._state("version", 0) + 1  # this write's
                db.executemany("INSERT INTO keyword_log VALUES (?, ?, 0)", [(version, v) for v, _ in gone])
            db.execute(f"DELETE FROM passages WHERE article_id IN ({marks})", chunk)
            db.execute(f"DELETE FROM articles WHERE id IN ({marks})", chunk)

    def _bump(self, **state) -> None:
        """Inside a write transaction: new counts and version (readers see the change by the version)."""
        db = self._db
        state.update(
            version=self._state("version", 0) + 1,
            articles=db.execute("SELECT COUNT(*) FROM articles").fetchone()[0],
            passages=db.execute("SELECT COUNT(*) FROM passages").fetchone()[0],
        )
        db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", list(state.items()))

    def _write_segment(self, vids: np.ndarray, vectors: np.ndarray, kind: str | None = None) -> tuple[str, str, int, str]:
        """Write an immutable segment folder (fsynced). Returns its row for the segments table."""
        import faiss

        kind = kind or _concrete(self._state("index_type", "auto"), len(vids))
        name = f"seg-{self._state('version', 0) + 1:06d}-{uuid.uuid4().hex[:6]}"
        folder = self.gen / "segments" / name
        folder.mkdir(parents=True)
        try:
            np.save(folder / "ids.npy", vids)
            np.save(folder / "vectors.npy", vectors)
            if kind == "hnsw":
                # SQ8 codes in the graph: a byte per dimension (the exact vectors stay in vectors.npy, for re-ranking)
                index = faiss.IndexHNSWSQ(vectors.shape[1], faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = 40
                index.train(np.ascontiguousarray(vectors))  # per-dimension ranges
                index.add(np.ascontiguousarray(vectors))
                faiss.write_index(index, str(folder / "index.faiss"))
            elif kind == "ivf":
                # ~sqrt(n) lists of SQ8 codes; centroids trained on a sample (64 a list, well above FAISS's 39)
                nlist = max(1, int(math.sqrt(len(vectors))))
                index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(vectors.shape[1]), vectors.shape[1], nlist,
                                                      faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
                rows = np.random.default_rng(0).choice(len(vectors), min(len(vectors), 64 * nlist), replace=False)
                index.train(np.ascontiguousarray(vectors[np.sort(rows)]))
                for start in range(0, len(vectors), 100_000):  # in blocks: no second full copy of the vectors
                    index.add(np.ascontiguousarray(vectors[start : start + 100_000]))
                faiss.write_index(index, str(folder / "index.faiss"))
            files = {f.name: f.stat().st_size for f in sorted(folder.iterdir())}
            _fsync_path(folder)
            _fsync_dir(folder.parent)  # the commit that lists it depends on its entry in segments/
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # half-written: never listed, never left behind
            raise
        return name, kind, len(vids), json.dumps(files)

    def _compact(self) -> None:
        """Merge segments of one size class and rewrite those with many deleted vectors (each its own transaction)."""
        while True:
            segs = self._db.execute("SELECT name, kind, rows FROM segments").fetchall()
            dead = dict(self._db.execute("SELECT segment, COUNT(*) FROM dead GROUP BY segment").fetchall())
            group = [s for s in segs if s[2] and dead.get(s[0], 0) >= DEAD_REWRITE * s[2]][:1]
            if not group:
                tiers: dict[int, list] = {}
                for s in segs:
                    live = s[2] - dead.get(s[0], 0)
                    tiers.setdefault(int(math.log(max(live, 1), MERGE_FANOUT)), []).append(s)
                group = next((t for t in tiers.values() if len(t) >= MERGE_FANOUT), [])
            if not group:
                return
            self._merge([s[0] for s in group])

    def _merge(self, names: list[str], kind: str | None = None) -> None:
        """Replace segments by one holding their live vectors."""
        with self._lock, _write_errors(self.root):
            segment = None
            try:
                self._db.execute("BEGIN IMMEDIATE")
                marks = ",".join("?" * len(names))
                dead = {v for (v,) in self._db.execute(f"SELECT vid FROM dead WHERE segment IN ({marks})", names)}
                ids, vecs = [], []
                for name in names:
                    folder = self.gen / "segments" / name
                    seg_ids = np.load(folder / "ids.npy")
                    keep = ~np.isin(seg_ids, np.fromiter(dead, np.int64, len(dead)))
                    ids.append(seg_ids[keep])
                    vecs.append(np.load(folder / "vectors.npy", mmap_mode="r")[keep])
                all_ids = np.concatenate(ids)
                order = np.argsort(all_ids)
                all_ids = all_ids[order]
                vectors = np.concatenate(vecs)[order] if len(all_ids) else np.zeros((0, self.manifest.dimension), np.float32)
                if len(all_ids):
                    segment = self._write_segment(all_ids, vectors, kind)
                    self._db.execute("INSERT INTO segments VALUES (?, ?, ?, ?)", segment)
                    self._db.execute(f"UPDATE passages SET segment = ? WHERE segment IN ({marks})", [segment[0], *names])
                self._db.execute(f"DELETE FROM dead WHERE segment IN ({marks})", names)
                self._db.execute(f"DELETE FROM segments WHERE name IN ({marks})", names)
                self._bump()
                _crash_point("merge-before-commit")
                self._db.execute("COMMIT")
            except BaseException:
                self._abort(segment)
                raise
        self._remove_segments(names)

    def optimize(self, index_type: str | None = None) -> None:
        """Merge every segment into one without deleted vectors (after a bulk load; costs the whole collection).

        Args:
            index_type: Also switch to this index type ('auto', 'flat', 'hnsw').
        """
        if index_type is not None:
            _concrete(index_type, 0)
            with self._lock, _write_errors(self.root):
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("INSERT OR REPLACE INTO state VALUES ('index_type', ?)", (index_type,))
                self._db.execute("COMMIT")
        names = [n for (n,) in self._db.execute("SELECT name FROM segments").fetchall()]
        if names:
            self._merge(names)

    def set_index_type(self, index_type: str) -> str:
        """Rebuild each segment's search structure for another index type; vectors and ids are kept."""
        _concrete(index_type, 0)  # validates
        with self._lock, _write_errors(self.root):
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("INSERT OR REPLACE INTO state VALUES ('index_type', ?)", (index_type,))
            self._db.execute("COMMIT")
        for name, kind, rows in self._db.execute("SELECT name, kind, rows FROM segments").fetchall():
            if _concrete(index_type, rows) != kind:
                self._merge([name], _concrete(index_type, rows))
        return self.stats().index_type

    def tidy(self) -> None:
        """Repair what killed or failed writes left behind: orphan segments, unused generations, and a keyword
        index behind the committed state (caught up), or missing, damaged or not holding every passage (rebuilt)."""
        with self._lock, _write_errors(self.root):
            self._db.execute("BEGIN IMMEDIATE")  # no writer is between writing a segment and committing it
            try:
                self._remove_orphans()
            finally:
                self._db.execute("COMMIT")
        self._sync_keywords(check=True)

    def _sync_keywords(self, check: bool = False) -> None:
        """Bring the keyword index up to the committed SQLite state (writers only).

        Runs inside a write transaction, so one process at a time changes Tantivy (SQLite's write
        lock serializes them, as it does the writes). The logged changes newer than what the index
        applied are applied; when the log no longer holds them (or the index is missing or damaged)
        it is rebuilt from the passages. The log is then emptied.

        Args:
            check: Also rebuild when the index does not hold exactly the stored passages (``tidy``).
        """
        if self._fts:
            return
        from qa.stores.keyword import KeywordIndex

        with self._lock, _write_errors(self.root):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                version = self._state("version", 0)
                kw = KeywordIndex.open(self.gen / "keyword")
                applied = kw.applied() if kw is not None else -1
                if kw is None or applied < self._state("keyword_pruned", 0) or applied > version:
                    kw = self._rebuild_keywords(version)
                else:
                    ops = self._db.execute("SELECT vid, op FROM keyword_log WHERE version > ?", (applied,)).fetchall()
                    if ops:
                        deleted = {v for v, op in ops if op == 0}
                        added = [v for v, op in ops if op == 1 and v not in deleted]
                        kw.apply(self._bodies(added), deleted, version)
                    elif applied < version:
                        kw.set_applied(version)  # nothing to apply (merges): still, the log up to here may go
                    if check:
                        kw.reload()
                        if len(kw) != self._state("passages", 0):
                            logger.warning("the keyword index in %s holds %d passages for %d stored; rebuilding it",
                                           self.gen, len(kw), self._state("passages", 0))
                            kw = self._rebuild_keywords(version)
                _crash_point("keyword-before-prune")
                self._db.execute("DELETE FROM keyword_log WHERE version <= ?", (version,))
                self._db.execute("INSERT OR REPLACE INTO state VALUES ('keyword_pruned', ?)", (version,))
                self._db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                raise
        self._kw, self._kw_version = None, None  # reopened by the next search (the folder may have been replaced)

    def _bodies(self, vids: Sequence[int]) -> list[tuple[int, str]]:
        """(vector id, search text) of stored passages (those still stored)."""
        out: list[tuple[int, str]] = []
        for start in range(0, len(vids), 500):  # SQLite's limit on bound parameters
            chunk = [int(v) for v in vids[start : start + 500]]
            out += self._db.execute(
                f"SELECT p.vid, {_BODY} FROM passages p JOIN articles a ON a.id = p.article_id "
                f"WHERE p.vid IN ({','.join('?' * len(chunk))})", chunk).fetchall()
        return out

    def _rebuild_keywords(self, version: int):
        """A new keyword index from every stored passage, written aside and then put in place (inside a write transaction)."""
        from qa.stores.keyword import KeywordIndex

        folder, new, old = self.gen / "keyword", self.gen / "keyword.new", self.gen / "keyword.old"
        kw = KeywordIndex.create(new)
        rows = self._db.execute(f"SELECT p.vid, {_BODY} FROM passages p JOIN articles a ON a.id = p.article_id")
        kw.apply(rows, (), version, fresh=True)  # APPLIED is written last: a killed rebuild leaves a folder without it, rebuilt again
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(new, folder)
        _fsync_dir(self.gen)
        shutil.rmtree(old, ignore_errors=True)
        return KeywordIndex.open(folder)

    def _remove_orphans(self) -> None:
        """Inside a write transaction: segment folders no commit lists (a killed writer's) and unused generations."""
        listed = {n for (n,) in self._db.execute("SELECT name FROM segments")}
        for folder in (self.gen / "segments").glob("seg-*"):
            if folder.name not in listed:
                _remove_unlocked(folder, folder / "ids.npy")
        remove_unused_generations(self.root)

    def _remove_segments(self, names: list[str]) -> None:
        for name in names:
            folder = self.gen / "segments" / name
            _remove_unlocked(folder, folder / "ids.npy")


def _crash_point(name: str) -> None:
    """Fault injection for the crash tests: ``QA_CRASH_AT=<name>`` kills this process here, as ``kill -9`` would."""
    if os.environ.get("QA_CRASH_AT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _joined(title: str, text: str) -> str:
    """What :func:`qa.chunking.search_text` makes of a title and a passage's text (then not stored twice)."""
    return f"{title}\n{text}" if title else text


def _concrete(index_type: str, rows: int) -> str:
    if index_type == "auto":
        return "ivf" if rows > APPROX_ABOVE else "flat"
    if index_type not in ("flat", "hnsw", "ivf"):
        raise ValueError(f"unknown index type {index_type!r} (use auto, flat, hnsw or ivf)")
    return index_type


def rebuild_hint(root: Path) -> str:
    return f"Rebuild it with: qa index --rebuild --articles <your articles folder> --index {root}"


def current_generation(root: Path) -> Path | None:
    """The live generation folder of an index, or None if there is no index.

    Raises:
        IndexCorrupt: ``CURRENT`` is unreadable or names something that is not a generation here.
    """
    try:
        data = (root / "CURRENT").read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise IndexCorrupt(f"The index in {root}/ cannot be read ({e.strerror}: {root / 'CURRENT'}).") from None
    try:
        name = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        name = None
    if not name or not _GEN_NAME.match(name):
        raise IndexCorrupt(f"The index in {root}/ is damaged (CURRENT does not name a generation). {rebuild_hint(root)}")
    gen = root / name
    if not gen.is_dir():
        raise IndexCorrupt(f"The index in {root}/ is damaged (CURRENT names {name}, which is missing). {rebuild_hint(root)}")
    return gen


def live_generation_name(root: Path) -> str | None:
    """The live generation's name without any checks (cheap; for change detection), or None."""
    try:
        return (root / "CURRENT").read_bytes().decode("utf-8", "replace").strip() or None
    except OSError:
        return None


LOCK_POLL_S = 0.2


def lock_holder(root: Path) -> str:
    """Who holds an index folder's build lock, in words ("process 1234: qa index ..."), or '' when unknown."""
    try:
        text = (Path(root) / ".lock").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""
    pid, _, command = text.partition(" ")
    if not pid.isdigit() or int(pid) == os.getpid():
        return ""  # unknown, or this process: then another program holds what it waits for
    if not Path(f"/proc/{pid}").exists() and Path("/proc/self").exists():
        return ""  # written by a process that has ended: whoever holds the lock now did not say
    return f"process {pid}" + (f": {command}" if command else "")


@contextlib.contextmanager
def build_lock(root: Path, wait: float = 0.0):
    """One build at a time per index folder; waits up to ``wait`` seconds for another build to finish.

    The holder writes its process id and command line into the lock file, so that a build
    that is refused (or waits) can say which process holds the lock.
    """
    import sys

    with _write_errors(root):
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)  # not truncated: the holder's note stays readable
    try:
        deadline = time.monotonic() + max(wait, 0.0)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = lock_holder(root) or "another process"
                if time.monotonic() >= deadline:
                    waited = f" (waited {wait:.0f} s)" if wait > 0 else ""
                    raise IndexStoreError(
                        f"Another build is running on {root}/ ({holder}){waited}; the index is unchanged. "
                        "Wait for it to finish, then run again (qa index --wait SECONDS waits for it).") from None
                if not told:
                    logger.warning("another build is running on %s/ (%s); waiting up to %.0f s for it", root, holder, wait)
                    told = True
                time.sleep(LOCK_POLL_S)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {' '.join(['qa', *sys.argv[1:]]) if sys.argv else ''}".encode()[:1000], 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def remove_unused_generations(root: Path) -> None:
    """Remove generations that are not live and that no reader holds (also a killed build's partial one)."""
    try:
        live = live_generation_name(root)
        for gen in root.glob("gen-*"):
            if gen.name != live and gen.is_dir():
                _remove_unlocked(gen, gen / "READERS")
    except OSError as e:
        logger.warning("could not remove old index generations in %s: %s", root, e)


def _remove_unlocked(folder: Path, lock_file: Path) -> None:
    """Remove a folder unless a reader holds a shared lock on ``lock_file``."""
    try:
        fd = os.open(lock_file, os.O_RDONLY)
    except FileNotFoundError:
        shutil.rmtree(folder, ignore_errors=True)  # never completed: nobody can be reading it
        return
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # in use; a later write removes it
    finally:
        os.close(fd)
    shutil.rmtree(folder, ignore_errors=True)


def _lock_shared(path: Path, missing_ok: bool = True) -> int | None:
    """A shared flock on a file, held until the returned descriptor is closed."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        if not missing_ok:
            raise
        return None
    except OSError:
        return None
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


BUSY_TIMEOUT_S = 30.0  # how long a write waits for another process's SQLite write lock


def _connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    """A connection to meta.sqlite, in WAL mode: readers read a snapshot while a writer writes, and never wait for it."""
    uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    # Autocommit mode: transactions are begun and ended explicitly (BEGIN IMMEDIATE ... COMMIT).
    db = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    if not read_only:
        db.execute("PRAGMA journal_mode=WAL")  # persistent: also read-only connections read the file in WAL mode
        db.execute("PRAGMA synchronous=FULL")
    return db


@contextlib.contextmanager
def _write_errors(root: Path):
    """Disk full, read-only folders and the like, said plainly (the index is left as it was)."""
    try:
        yield
    except sqlite3.OperationalError as e:
        if _locked(e):
            holder = lock_holder(root)
            raise IndexStoreError(
                f"Could not write the index in {root}/: another process held its database (meta.sqlite) locked for "
                f"{BUSY_TIMEOUT_S:g} s ({holder or 'not a qa build: another program has it open for writing, e.g. a sqlite3 shell'}); "
                "the index is unchanged. Wait for that process to finish or close it, then run again.") from None
        raise IndexStoreError(f"Could not write the index in {root}/ ({e}); the index is unchanged. "
                              "Free disk space or fix the folder's permissions, then run again.") from None
    except OSError as e:
        what = {errno.ENOSPC: "the disk is full", errno.EACCES: "permission denied", errno.EROFS: "read-only file system",
                errno.EDQUOT: "disk quota exceeded", errno.EPERM: "not permitted"}.get(e.errno, e.strerror or str(e))
        raise IndexStoreError(f"Could not write the index in {root}/ ({what}: {e.filename or root}); the index is unchanged. "
                              "Free disk space or fix the folder's permissions, then run again.") from None


def _locked(e: sqlite3.Error) -> bool:
    """SQLite's "database is locked" / "busy": another connection holds a lock (not a disk or permission problem)."""
    text = str(e).lower()
    return "locked" in text or "busy" in text


def _fsync_dir(path: Path) -> None:
    """fsync a folder itself (its entries: a file or folder made or renamed in it survives a power cut)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_path(path: Path) -> None:
    """fsync a file, or a folder's files and the folder itself (so a rename after it is durable)."""
    if path.is_dir():
        for f in path.iterdir():
            if f.is_file():
                _fsync_path(f)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
