"""Building and refreshing an index: articles -> passages -> vectors -> store."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from qa.articles import Article, load_articles
from qa.chunking import ChunkingSettings, Passage, chunk_article, search_text
from qa.embedding import Embedder
from qa.store import IndexMismatch, IndexStore, IndexStoreError, Manifest, bm25_terms, build_lock, write_generation

logger = logging.getLogger(__name__)


@dataclass
class IndexReport:
    """What a build did."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    passages: int = 0
    embedded: int = 0
    rebuilt: str = ""  # why everything was rebuilt, if it was
    warnings: list[str] = field(default_factory=list)
    index_type: str = ""

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.rebuilt)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged articles; {self.passages} passages "
            f"({self.embedded} embedded, index: {self.index_type})"
        )


class Indexer:
    """Builds an index from articles, re-embedding only what changed.

    Args:
        index_dir: Where the index lives.
        embedder: The embedding model (shared with the engine so it loads once).
        chunking: Passage sizes.
        index_type: 'auto', 'flat' or 'hnsw'.
    """

    def __init__(
        self,
        index_dir: str | Path,
        embedder: Embedder,
        chunking: ChunkingSettings | None = None,
        index_type: str = "auto",
    ):
        self.root = Path(index_dir)
        self.embedder = embedder
        self.chunking = chunking or ChunkingSettings()
        self.index_type = index_type

    def stale(self, articles: list[Article]) -> bool:
        """True when the index is missing, unusable, or does not match these articles and settings."""
        try:
            store = IndexStore.open(self.root, self.embedder.model_name)
        except IndexStoreError:
            return True
        m = store.manifest
        store.close()
        return m.articles != {a.id: a.hash for a in articles} or m.chunking != asdict(self.chunking)

    def index_folder(self, folder: str | Path, rebuild: bool = False, show_progress: bool = False, **read_options) -> IndexReport:
        """Index every article in a folder (see :func:`qa.articles.load_articles`; ``read_options`` go to it)."""
        articles, warnings = load_articles(folder, **read_options)
        report = self.index(articles, rebuild=rebuild, show_progress=show_progress)
        report.warnings = warnings + report.warnings
        return report

    def index(self, articles: list[Article], rebuild: bool = False, show_progress: bool = False) -> IndexReport:
        """Make the index hold exactly these articles.

        Unchanged articles keep their vectors; new and changed ones are embedded;
        articles no longer given are removed. A different embedding model, chunking
        or index type, or an unreadable index, rebuilds everything.

        Args:
            articles: The whole collection.
            rebuild: Re-embed everything regardless.
            show_progress: Show progress bars.

        Returns:
            What was added, changed, removed and kept.
        """
        ids = [a.id for a in articles]
        if len(set(ids)) != len(ids):
            raise ValueError("article ids must be unique")
        report = IndexReport()
        with build_lock(self.root):
            old, report.rebuilt = self._reusable(rebuild)
            old_hashes = old.manifest.articles if old else {}
            old_passages = old.passages_by_article() if old else {}
            passages: list[Passage] = []
            terms: list[list[str] | None] = []
            vectors: list[np.ndarray] = []
            todo: list[tuple[int, int, str]] = []  # (vector slot, passage slot, title) to embed
            for a in articles:
                kept = old_passages.get(a.id) if old_hashes.get(a.id) == a.hash else None
                if kept:
                    for _, p, t in kept:
                        passages.append(p)
                        terms.append(t)
                    # An article's passages are consecutive rows (written in article order).
                    vectors.append(np.asarray(old.vectors[kept[0][0] : kept[-1][0] + 1]))
                    report.unchanged.append(a.id)
                    continue
                (report.changed if a.id in old_hashes else report.added).append(a.id)
                for p in chunk_article(a, self.chunking):
                    todo.append((len(vectors), len(passages), a.title))
                    passages.append(p)
                    terms.append(None)  # filled in below
                    vectors.append(None)  # filled in below
            report.removed = sorted(set(old_hashes) - set(ids))
            if old:
                old.close()
            if not (report.added or report.changed or report.removed or report.rebuilt) and old:
                report.passages = len(passages)
                report.index_type = old.manifest.index_type
                return report  # nothing to do: keep the live generation as it is
            texts = [search_text(t, passages[i]) for _, i, t in todo]
            new = self.embedder.embed(texts, show_progress=show_progress)
            for (slot, i, _), vec, t in zip(todo, new, bm25_terms(texts)):
                vectors[slot] = vec[None, :]
                terms[i] = t
            dim = self.embedder.dimension
            matrix = np.concatenate(vectors).astype(np.float32) if vectors else np.zeros((0, dim), np.float32)
            manifest = Manifest(
                embedding_model=self.embedder.model_name,
                dimension=dim,
                chunking=asdict(self.chunking),
                index_type=self.index_type,
            )
            write_generation(self.root, manifest, articles, passages, matrix, terms)
            report.passages = len(passages)
            report.embedded = len(todo)
            report.index_type = manifest.index_type
        return report

    def _reusable(self, rebuild: bool) -> tuple[IndexStore | None, str]:
        """The live index if its vectors can be reused, else (None, why everything is rebuilt)."""
        if rebuild:
            return None, "asked to rebuild"
        if not (self.root / "CURRENT").exists():
            return None, ""
        try:
            old = IndexStore.open(self.root)
        except IndexStoreError as e:
            logger.warning("rebuilding: %s", e)
            # With no model given, only the format can mismatch.
            return None, "the old index is in another format" if isinstance(e, IndexMismatch) else "the old index was unreadable"
        m = old.manifest
        reason = ""
        if m.embedding_model != self.embedder.model_name:
            reason = f"embedding model changed ({m.embedding_model} -> {self.embedder.model_name})"
        elif m.chunking != asdict(self.chunking):
            reason = "chunking settings changed"
        elif self.index_type not in ("auto", m.index_type):
            reason = f"index type changed ({m.index_type} -> {self.index_type})"
        if reason:
            old.close()
            return None, reason
        return old, ""
