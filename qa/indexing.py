"""Building and updating an index: articles -> passages -> vectors -> store.

An update costs what changed: only new and changed articles are chunked, their passages'
vectors are taken from the store by content hash where the same text was embedded
before (a renamed or moved article costs no embedding), and the store applies the
change in one atomic write.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa.articles import Article, load_articles
from qa.chunking import chunk_article, search_text
from qa.config import ChunkingSettings
from qa.embedding import Embedder
from qa.locations import is_lite_location, is_milvus_location
from qa.stores import (
    ArticlePage,
    ArticleRecord,
    IndexMismatch,
    IndexMissing,
    IndexStore,
    IndexStoreError,
    PassageRecord,
    StoreSettings,
    StoreStats,
    content_hash,
    create_store,
    open_store,
    writer_lock,
)
from qa.stores.local import build_lock

logger = logging.getLogger(__name__)


class NoArticles(IndexStoreError):
    """A folder gave no article to index (the index is left as it was).

    Attributes:
        warnings: Why each file of the folder was skipped.
    """

    def __init__(self, message: str, warnings: list[str] | None = None):
        super().__init__(message)
        self.warnings = warnings or []


class TooManyRemoved(IndexStoreError):
    """A build would remove more of the index's articles than allowed; nothing was changed.

    Attributes:
        removed: How many articles it would remove.
        total: How many the index holds.
        folder: The folder it was given (None for a list of articles).
    """

    def __init__(self, removed: int, total: int, folder: str | Path | None = None):
        self.removed, self.total, self.folder = removed, total, folder
        given = f"{folder}/ holds {total - removed} of them" if folder is not None else f"{total - removed} of them were given"
        super().__init__(f"This would remove {removed} of the {total} articles of the index ({given}); nothing was changed.")


SOURCE_FILE = "SOURCE"  # in a local index folder: the articles folder it was last built from (absolute path)


def remembered_folder(location: str | Path) -> str | None:
    """The articles folder an index was last built or refreshed from, or None (unknown, or a Milvus location)."""
    if is_milvus_location(location):
        return None
    try:
        data = json.loads((Path(location) / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    folder = data.get("articles") if isinstance(data, dict) else None
    return folder if isinstance(folder, str) and folder else None


def _remember_folder(location: str | Path, folder: str | Path) -> None:
    """Record the folder an index was built from (written to a temp file, fsynced, renamed; never fails a build)."""
    if is_milvus_location(location):
        return
    root = Path(location)
    tmp = root / (SOURCE_FILE + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"articles": os.path.abspath(folder)}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, root / SOURCE_FILE)
        fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as e:
        logger.warning("could not record the articles folder of %s: %s", root, e)


@dataclass
class IndexReport:
    """What a build did."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    passages: int = 0
    embedded: int = 0  # passages embedded now
    reused: int = 0  # passages of new or changed articles whose vector was already stored (same text)
    rebuilt: str = ""  # why everything was rebuilt, if it was
    warnings: list[str] = field(default_factory=list)
    index_type: str = ""
    reindexed: str = ""  # why the search structure was rebuilt (without embedding), if it was
    seconds: dict[str, float] = field(default_factory=dict)  # time spent embedding and writing

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.rebuilt or self.reindexed)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed, "
            f"{len(self.unchanged)} unchanged articles; {self.passages} passages "
            f"({self.embedded} embedded, {self.reused} reused, index: {self.index_type})"
        )


class Indexer:
    """Builds and updates an index, embedding only text it has not embedded before.

    Args:
        location: Where the index lives: a folder, or a Milvus location (see :mod:`qa.locations`).
        embedder: The embedding model (shared with the engine so it loads once).
        chunking: Passage sizes.
        index_type: 'auto', 'flat' or 'hnsw' ('auto' keeps what the index uses).
    """

    def __init__(
        self,
        location: str | Path,
        embedder: Embedder,
        chunking: ChunkingSettings | None = None,
        index_type: str = "auto",
    ):
        self.location = location if is_milvus_location(location) else Path(location)  # a folder or a Milvus URL
        self.embedder = embedder
        self.chunking = chunking or ChunkingSettings()
        self.index_type = index_type
        self.lock_wait = 0.0  # seconds a build waits for another build of the same index folder

    def stale(self, articles: list[Article]) -> bool:
        """True when the index is missing, unusable, or does not match these articles and settings."""
        try:
            store = open_store(self.location, self.embedder.model_name)
        except IndexStoreError:
            return True
        try:
            return store.article_hashes() != {a.id: a.hash for a in articles} or store.settings.chunking != asdict(self.chunking)
        finally:
            store.close()

    def index_folder(self, folder: str | Path, rebuild: bool = False, show_progress: bool = False,
                     max_removed_share: float | None = None, **read_options) -> IndexReport:
        """Make the index hold exactly the articles of a folder (see :func:`qa.articles.load_articles`; ``read_options`` go to it).

        The index remembers the folder (:func:`remembered_folder`).

        Raises:
            NoArticles: No article could be read from the folder; the index is left as it was.
            TooManyRemoved: See :meth:`index`.
        """
        articles, warnings = load_articles(folder, **read_options)
        if not articles:
            skipped = f" ({len(warnings)} file{'s' if len(warnings) != 1 else ''} skipped, see the warnings)" if warnings else ""
            raise NoArticles(f"No articles could be read from {folder}/{skipped}; the index was left as it was.", warnings)
        try:
            report = self.index(articles, rebuild=rebuild, show_progress=show_progress, max_removed_share=max_removed_share,
                                _folder=folder)
        except TooManyRemoved as e:
            e.folder = folder
            raise
        report.warnings = warnings + report.warnings
        return report

    def index(self, articles: list[Article], rebuild: bool = False, show_progress: bool = False,
              max_removed_share: float | None = None, _folder: str | Path | None = None) -> IndexReport:
        """Make the index hold exactly these articles.

        New and changed articles are embedded (text embedded before is reused); articles no
        longer given are removed; the rest is not touched. A different embedding model or
        chunking, or an unreadable index, rebuilds everything; another index type rebuilds
        only the search structure.

        Args:
            articles: The whole collection.
            rebuild: Re-embed everything regardless.
            show_progress: Show progress bars.
            max_removed_share: Refuse (:class:`TooManyRemoved`, nothing changed) a build that would remove
                more than this share of the index's articles (``qa index`` sets 0.5 unless told --yes).

        Returns:
            What was added, changed, removed and kept.
        """
        _unique(articles)
        with self._lock():
            self._check_removals(articles, max_removed_share)
            self._keep_first_dates(articles)
            store, report = self._open(rebuild)
            if store is None:
                report = self._rebuild(articles, report, show_progress)
                if _folder is not None:
                    _remember_folder(self.location, _folder)
                return report
            try:
                old = store.article_hashes()
                ids = {a.id for a in articles}
                upsert = [a for a in articles if old.get(a.id) != a.hash]
                report.added = [a.id for a in upsert if a.id not in old]
                report.changed = [a.id for a in upsert if a.id in old]
                report.unchanged = [a.id for a in articles if old.get(a.id) == a.hash]
                report.removed = sorted(set(old) - ids)
                self._write(store, upsert, report.removed, report, show_progress)
                if _folder is not None:
                    _remember_folder(self.location, _folder)
                return report
            finally:
                store.close()

    def apply(self, upsert: Sequence[Article] = (), delete: Sequence[str] = (), show_progress: bool = False) -> IndexReport:
        """Add or replace some articles and delete others by id; the rest of the index stays as it is.

        Costs what is given, not the collection. When the index must be rebuilt (another
        model or chunking), its articles are read back from it and rebuilt with these changes.

        Returns:
            What was added, changed and removed (``unchanged`` lists given articles that were already indexed as they are).
        """
        _unique(list(upsert))
        with self._lock():
            store, report = self._open(False)
            if store is None:
                articles = {a.id: a for a in self._readable_articles()}
                articles.update({a.id: a for a in upsert})
                for aid in delete:
                    articles.pop(aid, None)
                return self._rebuild(sorted(articles.values(), key=lambda a: a.id), report, show_progress)
            try:
                old = store.article_hashes([*(a.id for a in upsert), *delete])  # only these: costs what is given
                todo = [a for a in upsert if old.get(a.id) != a.hash]
                report.added = [a.id for a in todo if a.id not in old]
                report.changed = [a.id for a in todo if a.id in old]
                report.unchanged = [a.id for a in upsert if old.get(a.id) == a.hash]
                report.removed = sorted({aid for aid in delete if aid in old} - {a.id for a in upsert})
                self._write(store, todo, report.removed, report, show_progress)
                return report
            finally:
                store.close()

    def _lock(self):
        """One build at a time (the local store's lock file waits up to ``lock_wait`` seconds for another build)."""
        if is_milvus_location(self.location):
            return writer_lock(self.location)
        return build_lock(Path(self.location), wait=self.lock_wait)

    def _check_removals(self, articles: list[Article], max_removed_share: float | None) -> None:
        """Raise :class:`TooManyRemoved` when these articles would remove more than that share of the index's."""
        if max_removed_share is None:
            return
        try:
            store = open_store(self.location)
        except IndexStoreError:
            return  # no usable index: nothing to lose
        try:
            old = set(store.article_hashes())
        finally:
            store.close()
        removed = len(old - {a.id for a in articles})
        if old and removed > max_removed_share * len(old):
            raise TooManyRemoved(removed, len(old))

    def _open(self, rebuild: bool) -> tuple[IndexStore | None, IndexReport]:
        """The live store if it can be updated in place, else None and the reason in the report."""
        report = IndexReport()
        if rebuild:
            report.rebuilt = "asked to rebuild"
            return None, report
        try:
            store = open_store(self.location)
        except IndexMissing:
            return None, report
        except IndexStoreError as e:
            logger.warning("rebuilding: %s", e)
            # With no model given, only the format can mismatch.
            report.rebuilt = "the old index is in another format" if isinstance(e, IndexMismatch) else "the old index was unreadable"
            return None, report
        s = store.settings
        if s.embedding_model != self.embedder.model_name:
            report.rebuilt = f"embedding model changed ({s.embedding_model} -> {self.embedder.model_name})"
        elif s.chunking != asdict(self.chunking):
            report.rebuilt = "chunking settings changed"
        elif s.dimension != self.embedder.dimension:
            report.rebuilt = f"vector dimension changed ({s.dimension} -> {self.embedder.dimension})"
        if report.rebuilt:
            store.close()
            return None, report
        if hasattr(store, "tidy"):
            store.tidy()  # a killed run's orphan segment or partial generation, also when nothing changes (the local store)
        if self.index_type not in ("auto", s.index_type):
            report.reindexed = f"index type changed ({s.index_type} -> {self.index_type})"
            store.set_index_type(self.index_type)
        return store, report

    def _keep_first_dates(self, articles: list[Article]) -> None:
        """Articles dated relatively ("Posted 3 hours ago") keep the date the index first gave them, while unchanged."""
        relative = {a.id: a for a in articles if a.date_relative}
        if not relative:
            return
        try:
            store = open_store(self.location)
        except IndexStoreError:
            return
        try:
            hashes = store.article_hashes(list(relative))
            for kept in store.list_articles():
                a = relative.get(kept.id)
                if a is not None and hashes.get(a.id) == a.hash and kept.date:
                    a.date = kept.date
        finally:
            store.close()

    def _readable_articles(self) -> list[Article]:
        """The articles of the live index, whatever it was built with (for a rebuild from it), or none."""
        try:
            store = open_store(self.location)
        except IndexStoreError:
            return []
        try:
            return store.articles([a.id for a in store.list_articles()])
        finally:
            store.close()

    def _rebuild(self, articles: list[Article], report: IndexReport, show_progress: bool) -> IndexReport:
        settings = StoreSettings(self.embedder.model_name, self.embedder.dimension, asdict(self.chunking), self.index_type)
        store = create_store(self.location, settings)
        try:
            report.added = [a.id for a in articles]
            self._write(store, articles, [], report, show_progress)
            store.publish()
        except BaseException:
            store.discard()
            raise
        store.close()
        return report

    def _write(self, store: IndexStore, upsert: list[Article], delete: list[str], report: IndexReport, show_progress: bool) -> None:
        """Chunk, take known vectors from the store, embed the rest, write (one atomic change)."""
        model = self.embedder.model_name
        planned = []
        for a in upsert:
            passages = chunk_article(a, self.chunking)
            texts = [search_text(a.title, p) for p in passages]
            planned.append((a, passages, texts, [content_hash(t, model) for t in texts]))
        hashes = [h for *_, hs in planned for h in hs]
        known = store.vectors_by_content(hashes) if hashes else {}
        todo = {h: t for *_, texts, hs in planned for t, h in zip(texts, hs) if h not in known}
        t0 = time.perf_counter()
        if todo:
            known.update(zip(todo, self.embedder.embed(list(todo.values()), show_progress=show_progress)))
        t1 = time.perf_counter()
        records = [
            ArticleRecord(a, [PassageRecord(p, t, h, known[h]) for p, t, h in zip(passages, texts, hs)])
            for a, passages, texts, hs in planned
        ]
        if records or delete:
            store.write(records, delete)
        report.seconds = {"embed": round(t1 - t0, 3), "write": round(time.perf_counter() - t1, 3)}
        report.embedded = len(todo)
        report.reused = len(hashes) - len(todo)
        stats = store.stats()
        report.passages = stats.passages
        report.index_type = stats.index_type


def _unique(articles: list[Article]) -> None:
    ids = [a.id for a in articles]
    if len(set(ids)) != len(ids):
        raise ValueError("article ids must be unique")


def _read_index(location: str | Path, what):
    """``what(store)`` for the live index at ``location``, read without models or search
    structures; None when it cannot be read here (the engine's own check reports why)."""
    if is_lite_location(location):
        return None  # Milvus Lite opens a file in one process at a time: the engine holds it
    try:
        store = open_store(location)
    except IndexStoreError:
        return None
    try:
        return what(store)
    finally:
        store.close()


def index_stats(location: str | Path) -> StoreStats | None:
    """What the index at ``location`` holds now (articles, passages, version), or None when it
    cannot be read from this process. The chat's web process asks this so that its page can show
    the count without waiting behind questions in the engine process.
    """
    return _read_index(location, lambda store: store.stats())


def browse_index(location: str | Path, query: str = "", limit: int = 200) -> ArticlePage | None:
    """The newest articles of the index at ``location`` matching ``query`` (see :meth:`qa.engine.Engine.browse`),
    or None when it cannot be read from this process."""
    return _read_index(location, lambda store: store.browse(query.split(), limit))
