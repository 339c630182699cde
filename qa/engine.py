"""The engine: question -> retrieval -> reader -> answer with citations."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa import answers, file_offsets, news
from qa.answers import Calibration
from qa.articles import Article, reader_options
from qa.config import Config
from qa.embedding import Embedder
from qa.conversation import Reading, Turn, choose, readings
from qa.indexing import Indexer, IndexReport
from qa.questions import check_question_length
from qa.reader import Reader, Span
from qa.retrieval import Citation, Hit, Retriever
from qa.stores import IndexStore, StoreStats, open_store

__all__ = ["Answer", "Citation", "Engine", "Hit"]


@dataclass
class Answer:
    """The result of :meth:`Engine.ask`.

    Attributes:
        question: The question as asked.
        answer: The answer text, or None when nothing in the articles answers it.
        score: Reader margin of the answer over "no answer" (higher is surer).
        confidence: P(the answer is right), calibrated on validation questions (see the
            reader's model card): of answers shown at 80%, about 8 in 10 are right. When
            the engine declines, the probability that the best span it found (not shown)
            would have been right; 0.0 when the reader found no span at all.
        citations: Where the answer is found, best first.
        sources: The closest passages retrieved (shown when there is no answer).
        resolved_question: The reading of the question that was answered: the question as asked, or
            (for a follow-up) rewritten with what the conversation is about, whichever the reader was surer of.
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


class Engine:
    """Question answering over an indexed article collection.

    Args:
        config: Settings; defaults (and ``QA_*`` environment variables) when None.
    """

    def __init__(self, config: Config | None = None):
        self.config = config or Config.from_env()
        self.embedder = Embedder(self.config.embedding_model, precision=self.config.embedding_precision)
        self.reader = Reader(self.config.reader_model, max_answer_tokens=self.config.max_answer_tokens,
                             precision=self.config.reader_precision)
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
        """(Re)open the index from disk and load its search structures."""
        store = open_store(self.config.location, self.config.embedding_model)
        try:
            store.warm_up()
        except BaseException:
            store.close()
            raise
        if self._store:
            self._store.close()
        self._store = store

    def refresh(self) -> bool:
        """Pick up a rebuild or update written since the index was opened (by this or another process).

        Cheap when nothing changed (one small read); the chat calls it before each question.

        Returns:
            True when the index changed.
        """
        if self._store is None:
            self.open()
            return True
        changed = self._store.refresh()
        if changed:
            self._store.warm_up()
        return changed

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
        embedder = self.embedder
        if self.config.ray != "off":  # builds embed on a Ray cluster; questions stay local
            from qa.embedding_ray import RayEmbedder

            embedder = RayEmbedder(self.embedder, self.config.ray)
        return Indexer(self.config.location, embedder, self.config.chunking, self.config.index_type)

    def index(self, articles_dir: str | Path | None = None, rebuild: bool = False, show_progress: bool = False) -> IndexReport:
        """Build or refresh the index from a folder of articles, then reopen it.

        Args:
            articles_dir: The folder (default: the configured one).
            rebuild: Re-embed everything.
            show_progress: Progress bars.

        Returns:
            What changed.

        Raises:
            qa.indexing.NoArticles: No article could be read from the folder (the index is left as it was).
        """
        folder = articles_dir or self.config.articles_dir
        report = self.indexer().index_folder(folder, rebuild, show_progress, **reader_options(self.config))
        self._reopen()
        return report

    def upsert(self, articles: list[Article]) -> IndexReport:
        """Add or replace articles given as objects (others stay as they are); costs what is given."""
        report = self.indexer().apply(upsert=articles)
        self._reopen()
        return report

    def delete(self, article_ids: list[str]) -> IndexReport:
        """Remove articles by id."""
        report = self.indexer().apply(delete=article_ids)
        self._reopen()
        return report

    def _reopen(self) -> None:
        if self._store is None:
            self.open()
        else:
            self.refresh()

    def article(self, article_id: str) -> Article | None:
        """One indexed article, text included, or None."""
        found = self.store.articles([article_id])
        return found[0] if found else None

    def articles(self) -> list[Article]:
        """The indexed articles (without their text), by id."""
        return self.store.list_articles()

    def stats(self) -> StoreStats:
        """What the index holds (articles, passages, index type, version)."""
        return self.store.stats()

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        """Passages closest to a query: dense (embedding) and keyword (BM25) results fused by rank.

        Args:
            query: Free text.
            k: How many (default: the configured top_k).

        Returns:
            Hits, best first; ``citation.retrieval_score`` is the cosine similarity.
        """
        hits, _ = self._search(query, k or self.config.top_k)
        return hits

    def _search(self, query: str, k: int) -> tuple[list[Hit], dict[str, float]]:
        timings: dict[str, float] = {}
        hits = Retriever(self.store, self.embedder).run(query, k, timings)
        return hits, timings

    @property
    def threshold(self) -> float:
        """The "no answer" margin: ``Config.threshold`` if set, else the reader's margin-only threshold (see :attr:`min_confidence`)."""
        t = self.config.threshold
        return self.reader.open_threshold if t is None else t

    @property
    def min_confidence(self) -> float | None:
        """The engine declines below this P(right); None when it decides on the margin :attr:`threshold`:
        a ``Config.threshold`` is set (a margin override), or the reader ships no fitted probability threshold."""
        if self.config.threshold is not None:
            return None
        return self.reader.open_min_confidence

    @property
    def calibration(self) -> Calibration:
        """(Margin, passage cosine) -> P(right), as fitted for the reader (a plain logistic around the threshold if it ships none)."""
        self.reader.warm_up()
        return Calibration.from_settings(self.reader.settings.get("confidence"), self.threshold)

    def _is_answer(self, span: Span, sources: list[Citation], calibration: Calibration, min_confidence: float | None) -> bool:
        """Whether one candidate span would be given as an answer (the engine's decline rule, span by span)."""
        p = calibration.probability(span.margin, sources[span.passage].retrieval_score)
        return answers.accept(answers.Choice(span, [span]), p, min_confidence, self.threshold)

    def ask(self, question: str, history: list[Answer | Turn | dict] | None = None) -> Answer:
        """Answer a question from the articles.

        Args:
            question: The question.
            history: Earlier turns of the conversation, oldest first, for follow-up questions: the
                :class:`Answer` objects ``ask`` returned (or :class:`qa.Turn` objects, or dicts with
                ``question``/``resolved_question`` and ``answer``). They are not answered again.

        Returns:
            The answer with citations; ``answer`` is None when the articles do not answer it.

        Raises:
            ValueError: The question is empty, or longer than ``Config.max_question_chars`` (:class:`QuestionTooLong`).
        """
        check_question_length(question, self.config.max_question_chars)
        question = " ".join(question.split())
        if not question:
            raise ValueError("The question is empty.")
        # A follow-up is read as asked and as rewritten from the conversation; the reading the reader
        # is surer of (higher margin) is kept, so a wrong rewrite cannot spoil a question that stands alone.
        tried = [self._answer(question, r) for r in readings(_plain_text(question), history)]
        best = tried[choose(tried)]
        best.timings["total"] = sum(a.timings.get("total", 0.0) for a in tried)
        return best

    def _answer(self, question: str, reading: Reading) -> Answer:
        """Answer one reading of a question (``question`` is kept as typed, for display)."""
        t0 = time.perf_counter()
        # A question naming a time ("in July 2011") searches wider and keeps that period's articles first.
        period = news.question_period(reading.question)
        hits, timings = self._search(reading.query, self.config.top_k * (4 if period else 1))
        sources, preferred = news.prefer_period([h.citation for h in hits], period, self.config.top_k)
        t1 = time.perf_counter()
        spans = self.reader.read(reading.question, [c.passage for c in sources])
        t2 = time.perf_counter()
        timings.update(read=t2 - t1, total=t2 - t0)
        choice = answers.choose(spans)  # by margin: choosing by probability measured no better (model card)
        margin = choice.margin if choice else -math.inf
        calibration, min_confidence = self.calibration, self.min_confidence
        # The confidence also weighs how close the answer's passage is to the question (its cosine).
        cosine = sources[choice.best.passage].retrieval_score if choice else 0.0
        confidence = calibration.probability(margin, cosine)
        if not answers.accept(choice, confidence, min_confidence, self.threshold):
            return Answer(question, None, margin, confidence, [], sources, reading.question, timings,
                          period=period.iso if preferred else None)
        # The same answer found in several passages is cited from each of them.
        citations, seen = [], set()
        for s in choice.same:
            c = sources[s.passage]
            where = (c.article_id, c.passage_start + s.start)
            if where in seen:  # overlapping passages of one article hold the same sentence
                continue
            seen.add(where)
            citations.append(
                Citation(**{**asdict(c), "answer_start": c.passage_start + s.start, "answer_end": c.passage_start + s.end})
            )
        answer = Answer(question, choice.text, margin, confidence, citations, sources, reading.question, timings,
                        period=period.iso if preferred else None)
        # Only candidates that would be answers in their own right count; annotate's margin filter is then open.
        counted = [s for s in spans if self._is_answer(s, sources, calibration, min_confidence)]
        answer = news.annotate(answer, counted, sources, -math.inf)
        file_offsets.locate(answer.citations, self.config.articles_dir, lambda i: getattr(self.article(i), "text", None))
        return answer


def _plain_text(question: str) -> str:
    """The words of a question pasted with HTML markup: tags would be read as words and cost the answer.

    The question itself is kept as typed (and shown escaped); only retrieval and reading use this.
    """
    if "<" not in question:
        return question
    from bs4 import BeautifulSoup

    return " ".join(BeautifulSoup(question, "html.parser").get_text(" ").split()) or question
