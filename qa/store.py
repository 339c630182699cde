"""The index on disk: FAISS vectors, SQLite metadata and a manifest, swapped in atomically.

Layout of an index folder::

    index/
      CURRENT            name of the live generation (replaced atomically)
      gen-<time>-<id>/   one complete build
        manifest.json    format, embedding model, dimension, chunking, index type, article hashes
        index.faiss      the vectors' search structure
        bm25/            a BM25 keyword index of the same passages (bm25s)
        vectors.npy      the vectors themselves, reused by incremental builds
        meta.sqlite      articles and passages (row i of the index = passage row i)

A build writes a new generation next to the live one and only then points CURRENT
at it, so a build that is interrupted leaves the previous index usable.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from qa.articles import Article
from qa.chunking import Passage, search_text

FORMAT_VERSION = 2  # 2: passages keep their BM25 terms, so updates only tokenize new text
HNSW_ABOVE = 200_000  # "auto" switches from exact search to HNSW above this many passages


class IndexStoreError(RuntimeError):
    """Base of the index errors; the message says what to do."""


class IndexMissing(IndexStoreError):
    pass


class IndexCorrupt(IndexStoreError):
    pass


class IndexMismatch(IndexStoreError):
    pass


@dataclass
class Manifest:
    """What an index was built with; checked every time it is opened."""

    embedding_model: str
    dimension: int
    chunking: dict
    index_type: str
    articles: dict[str, str] = field(default_factory=dict)  # article id -> content hash
    passages: int = 0
    files: dict[str, int] = field(default_factory=dict)  # file name -> size in bytes
    format_version: int = FORMAT_VERSION
    created: str = ""

    @classmethod
    def read(cls, path: Path) -> "Manifest":
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def make_faiss_index(vectors: np.ndarray, index_type: str):
    """A FAISS inner-product index over ``vectors``.

    Args:
        vectors: float32 (n, d), unit rows.
        index_type: 'flat' (exact), 'hnsw' (graph, approximate) or 'auto' (by size).

    Returns:
        (index, the concrete type used).
    """
    import faiss

    n, d = vectors.shape
    if index_type == "auto":
        index_type = "hnsw" if n > HNSW_ABOVE else "flat"
    if index_type == "flat":
        index = faiss.IndexFlatIP(d)
    elif index_type == "hnsw":
        index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 40
        index.hnsw.efSearch = 128
    else:
        raise ValueError(f"unknown index type {index_type!r} (use auto, flat or hnsw)")
    if n:
        index.add(vectors)
    return index, index_type


_SCHEMA = """
CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT, date TEXT, source TEXT, url TEXT, hash TEXT, text TEXT);
CREATE TABLE passages (row INTEGER PRIMARY KEY, article_id TEXT, number INTEGER, start INTEGER, "end" INTEGER, text TEXT, terms TEXT);
CREATE INDEX passages_article ON passages(article_id, number);
"""


@dataclass
class StoredPassage:
    """A passage with the article it belongs to, as read back from the index."""

    passage: Passage
    article: Article


class IndexStore:
    """An opened (read-only) index generation.

    Use :meth:`open`; build or refresh an index with :func:`qa.indexing.Indexer`.
    """

    def __init__(self, path: Path, manifest: Manifest, index, vectors: np.ndarray, bm25=None):
        self.path = path
        self.bm25 = bm25
        self.manifest = manifest
        self.index = index
        self.vectors = vectors
        self._db = sqlite3.connect(f"file:{path / 'meta.sqlite'}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()  # the web server calls from several threads

    @classmethod
    def open(cls, index_dir: str | Path, embedding_model: str | None = None) -> "IndexStore":
        """Open the live generation of an index folder and check it.

        Args:
            index_dir: The index folder.
            embedding_model: If given, the model the index must have been built with.

        Raises:
            IndexMissing: No index there.
            IndexCorrupt: Files missing, truncated or inconsistent.
            IndexMismatch: Built with another format or embedding model.
        """
        import faiss

        root = Path(index_dir)
        gen = current_generation(root)
        if gen is None:
            raise IndexMissing(f"No index in {root}/. Build it with: qa index --articles <folder> --index {root}")
        fix = f"Rebuild it with: qa index --rebuild --index {root}"
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
        if not manifest.files:
            raise IndexCorrupt(f"The index in {root}/ is damaged (manifest lists no files). {fix}")
        for name, size in manifest.files.items():
            f = gen / name
            if not f.exists() or f.stat().st_size != size:
                raise IndexCorrupt(f"The index in {root}/ is damaged ({name} is missing or has the wrong size). {fix}")
        try:
            index = faiss.read_index(str(gen / "index.faiss"))
            vectors = np.load(gen / "vectors.npy", mmap_mode="r")
            bm25 = _load_bm25(gen / "bm25") if manifest.passages else None
            store = cls(gen, manifest, index, vectors, bm25)
            rows = store._db.execute("SELECT COUNT(*) FROM passages").fetchone()[0]
        except (RuntimeError, OSError, ValueError, KeyError, sqlite3.DatabaseError) as e:
            raise IndexCorrupt(f"The index in {root}/ is damaged ({e}). {fix}") from None
        if not (index.ntotal == rows == manifest.passages == len(vectors)) or index.d != manifest.dimension:
            raise IndexCorrupt(
                f"The index in {root}/ is inconsistent ({index.ntotal} vectors of dimension {index.d}, "
                f"{rows} passages, manifest says {manifest.passages} of dimension {manifest.dimension}). {fix}"
            )
        return store

    def __len__(self) -> int:
        return self.manifest.passages

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Nearest passages by inner product.

        Args:
            vectors: float32 (q, d) query vectors.
            k: How many per query.

        Returns:
            (scores, rows), each (q, k); rows are -1 where fewer than k exist.
        """
        k = max(1, min(k, self.index.ntotal or 1))
        return self.index.search(np.ascontiguousarray(vectors, dtype=np.float32), k)

    def keyword_search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Passages sharing words with the query, by BM25.

        Returns:
            (row, score) pairs, best first, only those with a positive score.
        """
        if self.bm25 is None:
            return []
        tokens = bm25_terms([query])
        if not tokens or not tokens[0]:
            return []
        k = max(1, min(k, len(self)))
        with self._lock:
            rows, scores = self.bm25.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if s > 0]

    def passages(self, rows: list[int]) -> list[StoredPassage]:
        """Passages (with their articles) for index rows, in the given order."""
        rows = [int(r) for r in rows if r >= 0]
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        with self._lock:
            found = self._db.execute(
                f"SELECT p.row, p.article_id, p.number, p.start, p.\"end\", p.text, a.title, a.date, a.source, a.url "
                f"FROM passages p JOIN articles a ON a.id = p.article_id WHERE p.row IN ({marks})",
                rows,
            ).fetchall()
        by_row = {
            r[0]: StoredPassage(Passage(r[1], r[2], r[3], r[4], r[5]), Article(r[1], r[6], "", r[7], r[8], r[9]))
            for r in found
        }
        return [by_row[r] for r in rows if r in by_row]

    def article(self, article_id: str) -> Article | None:
        """The full article, text included."""
        with self._lock:
            r = self._db.execute(
                "SELECT id, title, text, date, source, url FROM articles WHERE id = ?", (article_id,)
            ).fetchone()
        return Article(*r) if r else None

    def articles(self) -> list[Article]:
        """All articles (without their text)."""
        with self._lock:
            rows = self._db.execute("SELECT id, title, '', date, source, url FROM articles ORDER BY id").fetchall()
        return [Article(*r) for r in rows]

    def passages_by_article(self) -> dict[str, list[tuple[int, Passage, list[str]]]]:
        """Every passage as (row, passage, BM25 terms), grouped by article, in row order (one query, for incremental builds)."""
        with self._lock:
            rows = self._db.execute('SELECT row, article_id, number, start, "end", text, terms FROM passages ORDER BY row').fetchall()
        out: dict[str, list[tuple[int, Passage, list[str]]]] = {}
        for row, a, n, s, e, text, terms in rows:
            out.setdefault(a, []).append((row, Passage(a, n, s, e, text), terms.split()))
        return out

    def close(self) -> None:
        self._db.close()


def current_generation(root: Path) -> Path | None:
    """The live generation folder of an index, or None if there is none."""
    try:
        name = (root / "CURRENT").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    gen = root / name
    if not name or "/" in name or not gen.is_dir():
        return None
    return gen


@contextlib.contextmanager
def build_lock(root: Path):
    """One build at a time per index folder."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexStoreError(f"Another build is running on {root}/; wait for it to finish.") from None
        yield


def write_generation(
    root: Path,
    manifest: Manifest,
    articles: list[Article],
    passages: list[Passage],
    vectors: np.ndarray,
    terms: list[list[str]] | None = None,
) -> Path:
    """Write a complete generation, then make it the live one.

    Args:
        root: The index folder.
        manifest: Settings of the build (counts and file sizes are filled in here).
        articles: All articles of the new index.
        passages: All passages, in row order.
        vectors: Their vectors, row i for passage i.
        terms: Their BM25 terms (:func:`bm25_terms`), if already known.

    Returns:
        The new generation folder.
    """
    import faiss

    gen = root / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    gen.mkdir(parents=True)
    index, manifest.index_type = make_faiss_index(vectors, manifest.index_type)
    faiss.write_index(index, str(gen / "index.faiss"))
    np.save(gen / "vectors.npy", vectors)
    if terms is None:
        titles = {a.id: a.title for a in articles}
        terms = bm25_terms([search_text(titles[p.article_id], p) for p in passages])
    if passages:
        _build_bm25(terms, gen / "bm25")
    db = sqlite3.connect(gen / "meta.sqlite")
    db.executescript(_SCHEMA)
    db.executemany(
        "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(a.id, a.title, a.date, a.source, a.url, a.hash, a.text) for a in articles],
    )
    db.executemany(
        "INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(i, p.article_id, p.number, p.start, p.end, p.text, " ".join(t)) for i, (p, t) in enumerate(zip(passages, terms))],
    )
    db.commit()
    db.close()
    manifest.passages = len(passages)
    manifest.articles = {a.id: a.hash for a in articles}
    manifest.created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    manifest.files = {f.relative_to(gen).as_posix(): f.stat().st_size for f in sorted(gen.rglob("*")) if f.is_file()}
    (gen / "manifest.json").write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
    _fsync_dir(gen)
    tmp = root / "CURRENT.tmp"
    tmp.write_text(gen.name, encoding="utf-8")
    os.replace(tmp, root / "CURRENT")  # the atomic switch
    _fsync_dir(root)
    for old in root.glob("gen-*"):
        if old != gen and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    return gen


def bm25_terms(texts: list[str]) -> list[list[str]]:
    """The BM25 terms of texts: lower-cased words without English stopwords (bm25s's tokenizer)."""
    import bm25s

    if not texts:
        return []
    return bm25s.tokenize(texts, stopwords="en", return_ids=False, show_progress=False)


def _build_bm25(terms: list[list[str]], path: Path) -> None:
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each build at DEBUG

    bm25 = bm25s.BM25()
    bm25.index(terms, show_progress=False)
    bm25.save(str(path))


def _load_bm25(path: Path):
    import bm25s

    return bm25s.BM25.load(str(path))


def _fsync_dir(path: Path) -> None:
    for f in path.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
