"""The engine: question -> retrieval -> reader -> answer with citations."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from qa import answers, file_offsets, news, pages, quotes
from qa.answers import Answer, Calibration
from qa.articles import Article, reader_options
from qa.config import Config
from qa.embedding import Embedder
from qa.conversation import Reading, Turn, choose_reading, readings
from qa.indexing import Indexer, IndexReport
from qa.questions import check_question_length
from qa.reader import Reader
from qa.retrieval import Citation, Hit, Retriever, Source
from qa.stores import ArticlePage, IndexStore, StoreStats, open_store

__all__ = ["Answer", "Citation", "Engine", "Hit", "Source"]

class Engine:
    """Question answering over an indexed article collection.

    Args:
        config: Settings; defaults (and ``QA_*`` environment variables) when None.
        reader: The reader to answer with; one made from ``config`` when None (evaluation passes a
            reader that also records the candidates it found).
    """

    def __init__(self, config: Config | None = None, reader: Reader | None = None):
        self.config = config or Config.from_env()
        self.embedder = Embedder(self.config.embedding_model, precision=self.config.embedding_precision)
        self.reader = reader or Reader(self.config.reader_model, max_answer_tokens=self.config.max_answer_tokens,
                                       precision=self.config.reader_precision)
        self._store: IndexStore | None = None

    @classmethod
    def load(cls, index_dir: str | Path = "index", **settings) -> "Engine":
        """Open an existing index.

        Args:
            index_dir: The index folder.
            **settings: Other :class:`Config` fields.

        Raises:
            qa.IndexStoreError: Missing, damaged or mismatched index (the message says what to do).
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

    def browse(self, query: str = "", limit: int = 200) -> ArticlePage:
        """The newest articles whose title, date, source or URL contain every word of ``query`` (case-insensitive),
        without their text, and how many there are (an archive is never listed whole).

        Args:
            query: Words to look for (empty: every article).
            limit: At most this many articles.
        """
        return self.store.browse(query.split(), limit)

    def stats(self) -> StoreStats:
        """What the index holds (articles, passages, index type, version)."""
        return self.store.stats()

    def search(self, query: str, k: int | None = None) -> list[Hit]:
        """Passages closest to a query: dense (embedding) and keyword (BM25) results fused by rank.

        Args:
            query: Free text.
            k: How many (default: the configured top_k).

        Returns:
            Hits, best first; ``citation.cosine`` is the cosine similarity.
        """
        hits, _ = self._search(query, k or self.config.top_k)
        pages.add_pages([h.source for h in hits], self._texts)
        return hits

    def _texts(self, article_ids) -> dict[str, str]:
        """Article id -> text, for the given ids still in the index."""
        return {a.id: a.text for a in self.store.articles(list(article_ids))}

    def _search(self, query: str, k: int, depth_for: int | None = None) -> tuple[list[Hit], dict[str, float]]:
        timings: dict[str, float] = {}
        hits = Retriever(self.store, self.embedder).run(query, k, timings, depth_for)
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
        best = tried[choose_reading(tried)]
        best.timings["total"] = sum(a.timings.get("total", 0.0) for a in tried)
        return best

    @property
    def rule(self) -> answers.Rule:
        """The decline rule the answer decision applies, span by span (with the reader's story rule, if it ships one)."""
        story = None
        fitted = self.reader.settings.get("story_confidence")
        if fitted and self.config.threshold is None:  # a user's margin override applies everywhere
            story = answers.Rule(Calibration.from_settings(fitted, self.threshold), float(fitted["min_confidence"]), self.threshold,
                                 newer_ceiling=fitted.get("newer_ceiling"))
        return answers.Rule(self.calibration, self.min_confidence, self.threshold, story)

    def _answer(self, question: str, reading: Reading) -> Answer:
        """Answer one reading of a question (``question`` is kept as typed, for display)."""
        t0 = time.perf_counter()
        k = self.config.top_k
        # Questions about time search wider: a named period's articles, or the newest state, may rank low.
        ask = news.time_ask(reading.question, date.today())
        # Searched as deep as for k: the wider look keeps the k passages a plain question reads, in order.
        hits, timings = self._search(reading.query, k if ask.kind == "fixed" else k * 4, depth_for=k)
        pool = [h.source for h in hits]
        asked = reading.question
        if ask.kind == "period":
            ask, asked = self._period(reading.question, pool)
        sources, preferred = news.prefer_period(pool, ask.period, k)
        if ask.kind == "current":
            # The newest article's passage may rank below the shallow search's candidates; searched deeper
            # too (after the pool, so the k passages a plain question reads stay first).
            have = {(c.article_id, c.passage_start) for c in pool}
            deeper = [h.source for h in self._search(reading.query, k * 4)[0] if (h.source.article_id, h.source.passage_start) not in have]
            sources = self._with_newest(pool + deeper, k)
        elif ask.kind == "event":
            ask, sources = self._at_event(ask, pool, k)
        t1 = time.perf_counter()
        # Every window's candidates: the decision merges them knowing what kind of answer is asked.
        spans = self.reader.candidates(asked, [c.passage for c in sources]) if sources else []
        t2 = time.perf_counter()
        timings.update(read=t2 - t1, total=t2 - t0)
        answer = answers.decide(question, reading.question, spans, sources, self.rule, ask, preferred)
        answer.timings = timings
        said = quotes.parse_question(reading.question)
        if said is not None:  # "What did X say about Y?": X's own words, or no answer (qa/quotes.py)
            wide = hits if len(hits) >= 4 * k else self._search(reading.query, 4 * k)[0]
            ids = list(dict.fromkeys(h.source.article_id for h in wide))[: quotes.MAX_ARTICLES]
            answer = quotes.answer(said, answer, self.store.articles(ids), self.embedder, wide, self.store.settings.chunking)
        pages.add_pages([*answer.citations, *answer.sources], self._texts)  # "p. 4" for PDF articles
        if answer.found:
            file_offsets.locate(answer.citations, self.config.articles_dir, lambda i: getattr(self.article(i), "text", None))
        return answer

    @staticmethod
    def _period(question: str, pool: list[Source]) -> tuple[news.TimeAsk, str]:
        """What a question naming a period asks, placed by the articles at hand, and the words to read.

        Returns:
            (the time ask, the question for the reader: without the period's words when articles
            of the period are at hand, since their dates choose them and the words are rarely in the text).
        """
        dates = [d for d in (news.parse_iso(c.date) for c in pool) if d]
        ask = news.time_ask(question, date.today(), dates)  # "in April": the April of the articles at hand
        if ask.period is None:
            return ask, question
        if dates and all(ask.period.holds(d.isoformat()) for d in dates):
            # "Who has led it since 2010?" over articles all after 2010: the period chooses nothing;
            # asked now ("has") it is a current state, asked in the past ("had led ... since") a fact.
            return news.time_ask(news.without_period(question), date.today()), question
        if any(ask.period.holds(d.isoformat()) for d in dates):
            return ask, news.without_period(question)
        return ask, question

    def _at_event(self, ask: news.TimeAsk, pool: list[Source], k: int) -> tuple[news.TimeAsk, list[Source]]:
        """When the event a question is anchored to was first reported, and the passages to read for it.

        The event's words ("the recall was announced") are searched on their own; the earliest
        article among the close matches is its first report. Its best passage is read with the ``k`` best.
        """
        hits, _ = self._search(ask.event_words, k * 4)
        first = news.first_report([h.source for h in hits])
        if first is None:
            return ask, list(pool[:k])
        kept = list(pool[:k])
        if first.article_id not in {c.article_id for c in kept}:
            same = [c for c in pool if c.article_id == first.article_id]
            kept.append(same[0] if same else first)
        return replace(ask, event_date=first.date), kept

    @staticmethod
    def _with_newest(pool: list[Source], k: int) -> list[Source]:
        """The ``k`` best passages, plus the best passage of each of the newest articles in the pool not among them.

        A state that changes is stated last in the newest article, which a question worded
        like the first report may rank below ``k``.
        """
        kept = list(pool[:k])
        seen = {c.article_id for c in kept}
        dated = sorted((c for c in pool[k:] if news.parse_iso(c.date)), key=lambda c: c.date, reverse=True)
        newest_kept = max((c.date for c in kept if news.parse_iso(c.date)), default="")
        for c in dated:
            if len(kept) >= 2 * k or c.date <= newest_kept:
                break
            if c.article_id not in seen:
                seen.add(c.article_id)
                kept.append(c)
        return kept


def _plain_text(question: str) -> str:
    """The words of a question pasted with HTML markup: tags would be read as words and cost the answer.

    The question itself is kept as typed (and shown escaped); only retrieval and reading use this.
    """
    if "<" not in question:
        return question
    from bs4 import BeautifulSoup

    return " ".join(BeautifulSoup(question, "html.parser").get_text(" ").split()) or question
