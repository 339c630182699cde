"""The engine: question -> retrieval -> reader -> answer with citations."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from qa import news
from qa.articles import Article
from qa.config import Config
from qa.embedding import Embedder
from qa.followup import Turn, resolve
from qa.indexing import Indexer, IndexReport
from qa.reader import Reader
from qa.squad import normalize_answer
from qa.store import IndexMissing, IndexStore

RRF_K = 60  # reciprocal-rank fusion constant (Cormack et al. 2009)


@dataclass
class Citation:
    """Where an answer (or a retrieved passage) comes from.

    Attributes:
        article_id: Id of the article.
        title: Article title.
        date: Publication date.
        source: File the article was read from.
        url: Article URL, if known.
        passage_number: Which passage of the article, counted from 1 (as shown in the chat and the CLI).
        passage_start: Character offset of the passage in the article.
        passage_end: End offset of the passage.
        passage: The passage text.
        answer_start: Character offset of the answer in the article (None for plain sources).
        answer_end: End offset of the answer in the article.
        retrieval_score: Cosine similarity of the passage to the question.
    """

    article_id: str
    title: str
    date: str
    source: str
    url: str
    passage_number: int
    passage_start: int
    passage_end: int
    passage: str
    answer_start: int | None = None
    answer_end: int | None = None
    retrieval_score: float = 0.0

    def marked(self, before: str = "**", after: str = "**") -> str:
        """The passage with the answer wrapped in markers (no markers for plain sources)."""
        if self.answer_start is None or self.answer_end is None:
            return self.passage
        s = self.answer_start - self.passage_start
        e = self.answer_end - self.passage_start
        return self.passage[:s] + before + self.passage[s:e] + after + self.passage[e:]


@dataclass
class Answer:
    """The result of :meth:`Engine.ask`.

    Attributes:
        question: The question as asked.
        answer: The answer text, or None when nothing in the articles answers it.
        score: Reader margin of the answer over "no answer" (higher is surer).
        confidence: 0..1, 0.5 at the "no answer" threshold.
        citations: Where the answer is found, best first.
        sources: The closest passages retrieved (shown when there is no answer).
        resolved_question: The question after follow-up resolution.
        timings: Seconds spent per stage.
        answer_date: When the answer is a relative time ("Monday", "last week"), the day, week or
            month it means (ISO 8601: ``2011-07-04``, ``2011-W26``, ``2011-03``), from the cited article's date.
        period: The period the question named (ISO 8601, e.g. ``2011-07``) when articles of it were preferred.
        over_time: When articles of different dates answer differently: each answer with its date, newest first.
    """

    question: str
    answer: str | None
    score: float
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    sources: list[Citation] = field(default_factory=list)
    resolved_question: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    answer_date: str | None = None
    period: str | None = None
    over_time: list[dict] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.answer is not None

    def to_dict(self) -> dict:
        """Plain JSON-safe data (a missing score is None, not -inf)."""
        d = asdict(self)
        if not math.isfinite(d["score"]):
            d["score"] = None
        return d


@dataclass
class Hit:
    """A retrieved passage."""

    citation: Citation
    score: float


class Engine:
    """Question answering over an indexed article collection.

    Args:
        config: Settings; defaults (and ``QA_*`` environment variables) when None.
    """

    def __init__(self, config: Config | None = None):
        self.config = config or Config.from_env()
        self.embedder = Embedder(self.config.embedding_model)
        self.reader = Reader(self.config.reader_model, max_answer_tokens=self.config.max_answer_tokens)
        self._store: IndexStore | None = None

    @classmethod
    def load(cls, index_dir: str | Path = "index", **settings) -> "Engine":
        """Open an existing index.

        Args:
            index_dir: The index folder.
            **settings: Other :class:`Config` fields.

        Raises:
            qa.store.IndexStoreError: Missing, damaged or mismatched index (the message says what to do).
        """
        engine = cls(Config.from_env(index_dir=str(index_dir), **settings))
        engine.open()
        return engine

    def open(self) -> None:
        """(Re)open the index from disk."""
        store = IndexStore.open(self.config.index_dir, self.config.embedding_model)
        if self._store:
            self._store.close()
        self._store = store

    @property
    def store(self) -> IndexStore:
        if self._store is None:
            self.open()
        return self._store

    def warm_up(self) -> None:
        """Load both models now rather than on the first question."""
        self.embedder.warm_up()
        self.reader.warm_up()

    def indexer(self) -> Indexer:
        return Indexer(self.config.index_dir, self.embedder, self.config.chunking, self.config.index_type)

    def index(self, articles_dir: str | Path | None = None, rebuild: bool = False, show_progress: bool = False) -> IndexReport:
        """Build or refresh the index from a folder of articles, then reopen it.

        Args:
            articles_dir: The folder (default: the configured one).
            rebuild: Re-embed everything.
            show_progress: Progress bars.

        Returns:
            What changed.
        """
        report = self.indexer().index_folder(articles_dir or self.config.articles_dir, rebuild, show_progress)
        self.open()
        return report

    def upsert(self, articles: list[Article]) -> IndexReport:
        """Add or replace articles given as objects (others stay as they are)."""
        current = {a.id: a for a in self._all_articles()}
        current.update({a.id: a for a in articles})
        return self._reindex(list(current.values()))

    def delete(self, article_ids: list[str]) -> IndexReport:
        """Remove articles by id."""
        drop = set(article_ids)
        return self._reindex([a for a in self._all_articles() if a.id not in drop])

    def _all_articles(self) -> list[Article]:
        try:
            return [self.store.article(a.id) for a in self.store.articles()]
        except IndexMissing:  # no index yet: start empty
            return []

    def _reindex(self, articles: list[Article]) -> IndexReport:
        report = self.indexer().index(sorted(articles, key=lambda a: a.id))
        self.open()
        return report

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        """Passages closest to a query: dense (embedding) and keyword (BM25) results fused by rank.

        Dense retrieval finds paraphrases; BM25 finds rare names and exact phrases that a
        small embedding model blurs. Reciprocal-rank fusion needs no score calibration.

        Args:
            query: Free text.
            k: How many (default: the configured top_k).

        Returns:
            Hits, best first; ``citation.retrieval_score`` is the cosine similarity.
        """
        hits, _ = self._search(query, k or self.config.top_k)
        return hits

    def _search(self, query: str, k: int) -> tuple[list[Hit], dict[str, float]]:
        t0 = time.perf_counter()
        pool = max(4 * k, 20)
        vec = self.embedder.embed([query])
        t1 = time.perf_counter()
        _, dense_rows = self.store.search(vec, pool)
        fused: dict[int, float] = {}
        for rank, row in enumerate(int(r) for r in dense_rows[0] if r >= 0):
            fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank)
        for rank, (row, _) in enumerate(self.store.keyword_search(query, pool)):
            fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank)
        rows = sorted(fused, key=lambda r: -fused[r])[:k]
        cosines = np.asarray(self.store.vectors[rows]) @ vec[0] if rows else []
        hits = []
        for sp, cos in zip(self.store.passages(rows), cosines):
            a, p = sp.article, sp.passage
            c = Citation(a.id, a.title, a.date, a.source, a.url, p.number + 1, p.start, p.end, p.text, retrieval_score=float(cos))
            hits.append(Hit(c, fused[rows[len(hits)]]))
        return hits, {"embed": t1 - t0, "search": time.perf_counter() - t1}

    @property
    def threshold(self) -> float:
        t = self.config.threshold
        return self.reader.open_threshold if t is None else t

    def ask(self, question: str, history: list[Turn] | None = None) -> Answer:
        """Answer a question from the articles.

        Args:
            question: The question.
            history: Earlier turns of a conversation, for follow-up questions.

        Returns:
            The answer with citations; ``answer`` is None when the articles do not answer it.
        """
        question = " ".join(question.split())
        if not question:
            raise ValueError("The question is empty.")
        t0 = time.perf_counter()
        resolved = resolve(_plain_text(question), history or [])
        # A question naming a time ("in July 2011") searches wider and keeps that period's articles first.
        period = news.question_period(resolved.question)
        hits, timings = self._search(resolved.query, self.config.top_k * (4 if period else 1))
        sources, preferred = news.prefer_period([h.citation for h in hits], period, self.config.top_k)
        t1 = time.perf_counter()
        spans = self.reader.read(resolved.question, [c.passage for c in sources])
        t2 = time.perf_counter()
        threshold = self.threshold
        timings.update(read=t2 - t1, total=t2 - t0)
        if not spans or spans[0].margin < threshold:
            margin = spans[0].margin if spans else -math.inf
            return Answer(question, None, margin, _confidence(margin, threshold), [], sources, resolved.question, timings,
                          period=period.iso if preferred else None)
        best = spans[0]
        # The same answer found in several passages is cited from each of them.
        same = [s for s in spans if normalize_answer(s.text) == normalize_answer(best.text)]
        citations, seen = [], set()
        for s in same:
            c = sources[s.passage]
            where = (c.article_id, c.passage_start + s.start)
            if where in seen:  # overlapping passages of one article hold the same sentence
                continue
            seen.add(where)
            citations.append(
                Citation(**{**asdict(c), "answer_start": c.passage_start + s.start, "answer_end": c.passage_start + s.end})
            )
        answer = Answer(question, best.text, best.margin, _confidence(best.margin, threshold), citations, sources,
                        resolved.question, timings, period=period.iso if preferred else None)
        return news.annotate(answer, spans, sources, threshold)


def _plain_text(question: str) -> str:
    """The words of a question pasted with HTML markup: tags would be read as words and cost the answer.

    The question itself is kept as typed (and shown escaped); only retrieval and reading use this.
    """
    if "<" not in question:
        return question
    from bs4 import BeautifulSoup

    return " ".join(BeautifulSoup(question, "html.parser").get_text(" ").split()) or question


def _confidence(margin: float, threshold: float) -> float:
    """Logistic in the margin over the threshold, kept within [0.01, 0.99]: never shown as certain."""
    if margin == -math.inf:
        return 0.0
    return min(0.99, max(0.01, 1.0 / (1.0 + math.exp(-(margin - threshold)))))
