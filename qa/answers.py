"""Deciding the answer from the reader's candidates: choose, merge, decline, a calibrated confidence, and time.

Everything from "reader spans + the passages read" to the :class:`Answer` happens here, in
:func:`decide`, as pure functions over data: which candidate is the answer (by what the
question asks about time, :func:`qa.news.time_ask`), whether to give it, its confidence,
its citations, the answers that differed over time and the date a relative answer means.
The answer shown is the answer judged: its confidence is the calibrated probability of
that very span.

All decisions use one statistic, a span's margin over its window's "no answer" ([CLS])
score. Raw start + end logits of different windows and passages are on different
scales (each window has its own offset), so ranking by them and then declining by
margin picked one span and judged another; the margin compares across windows.

The confidence shown is P(answer is right), right meaning F1 >= 0.5 against a gold
answer: a logistic in the margin and the cosine similarity of the answer's passage to the
question (a question the articles do not answer retrieves passages of other articles, less
similar to it), fitted on validation questions asked the way the engine runs: retrieved
passages from an index, with questions the corpus answers and questions whose article is
not indexed. The engine declines below a probability fitted the same way. See the model
card for the data.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Sequence

import numpy as np

from qa import answer_types, news
from qa.chunking import split_sentences
from qa.reader import Span
from qa.retrieval import Citation, Source
from qa.text import normalize_answer


@dataclass
class Evidence:
    """The sentence that states the answer, in the first citation's article.

    Attributes:
        text: The sentence, as in the article.
        start: Character offset of the sentence in the article.
        end: End offset of the sentence in the article.
        answer_start: Offset of the answer within ``text``.
        answer_end: End offset of the answer within ``text``.
    """

    text: str
    start: int
    end: int
    answer_start: int
    answer_end: int

    def marked(self, before: str = "**", after: str = "**") -> str:
        """The sentence with the answer wrapped in markers."""
        t, s, e = self.text, self.answer_start, self.answer_end
        return t[:s] + before + t[s:e] + after + t[e:]


def evidence(c: Citation) -> Evidence:
    """The sentence of a citation's passage that holds its answer."""
    s, e = c.answer_start - c.passage_start, c.answer_end - c.passage_start
    sentences = split_sentences(c.passage)
    # An answer that crosses a sentence boundary is shown with every sentence it touches.
    touched = [(a, b) for a, b in sentences if a < e and b > s] or [(s, e)]
    a, b = min(touched[0][0], s), max(touched[-1][1], e)
    return Evidence(c.passage[a:b], c.passage_start + a, c.passage_start + b, s - a, e - a)


NO_ANSWER = "I could not find an answer in the articles."


@dataclass
class Answer:
    """The result of :meth:`qa.Engine.ask`.

    Attributes:
        question: The question as asked.
        answer: The answer text, or None when nothing in the articles answers it.
        score: Reader margin of the answer over "no answer" (higher is surer).
        confidence: P(the answer is right), calibrated on validation questions (see the
            reader's model card): of answers shown at 80%, about 8 in 10 are right. It is
            always the probability of the span shown. When the engine declines, the
            probability that the best span it found (not shown) would have been right; 0.0
            when the reader found no span at all.
        citations: Where the answer is found, best first.
        sources: The closest passages retrieved (shown when there is no answer).
        resolved_question: The reading of the question that was answered: the question as asked, or
            (for a follow-up) rewritten with what the conversation is about, whichever the reader was surer of.
        timings: Seconds spent per stage.
        answer_date: When the answer is a relative time ("Monday", "last week"), the day, week or
            month it means (ISO 8601: ``2011-07-04``, ``2011-W26``, ``2011-03``), from the cited article's date.
        period: The period the question named (ISO 8601, e.g. ``2011-07``, ``2010/..``) when articles of it were preferred.
        over_time: For a question about a state that changes ("How many have died?"), when dated
            articles answer differently: each answer with its date, its article and its own
            confidence, newest first (the first is the answer given).
        time_kind: What the question asks about time: ``current``, ``period``, ``event`` or ``fixed``
            (see :func:`qa.news.time_ask`).
        evidence: The sentence that states the answer, from the first citation (None when declined).
        answer_type: What kind of answer the question asks for (:func:`qa.answer_types.asked`):
            ``number``, ``money``, ``percent``, ``time``, ``duration``, ``person``, ``name``,
            ``place``, ``reason`` or ``other``. Only answers of that kind are given.
        declined: Why there is no answer: ``no candidate`` (the reader found no span), ``low
            confidence`` (the best span is below the decline rule), ``wrong kind`` (no span of
            the kind asked: "How many …?" and the reader's best was "more") or ``changed later``
            (a current state whose newest article gives another answer the reader is unsure of:
            its passage and the older answer's come first in ``sources``); None when answered.
        newer_read: For a current state answered from an article older than one read for it (that
            newer article does not give it with enough confidence): the newer article's date. The
            state may have changed since; the confidence is held below the story rule's ceiling.
    """

    question: str
    answer: str | None
    margin: float
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    resolved_question: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    answer_date: str | None = None
    period: str | None = None
    over_time: list[dict] = field(default_factory=list)
    time_kind: str = "fixed"
    evidence: Evidence | None = None
    answer_type: str = "other"
    declined: str | None = None
    newer_read: str | None = None

    @property
    def found(self) -> bool:
        return self.answer is not None

    def line(self) -> str:
        """The answer as one line of text, with the calendar date a relative answer means
        ("Monday — 4 July 2011"); :data:`NO_ANSWER` when there is none."""
        if not self.found:
            return NO_ANSWER
        return f"{self.answer} — {news.describe(self.answer_date)}" if self.answer_date else self.answer

    def to_dict(self) -> dict:
        """Plain JSON-safe data (a missing score is None, not -inf)."""
        d = asdict(self)
        if not math.isfinite(d["margin"]):
            d["margin"] = None
        return d


@dataclass
class Choice:
    """The best answer among the candidates and every span that says the same.

    Attributes:
        best: The span with the highest margin.
        same: All candidate spans whose normalised text equals ``best``'s, best margin first
            (the same answer found in several passages: each is cited).
    """

    best: Span
    same: list[Span] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.best.text

    @property
    def margin(self) -> float:
        """The answer's margin: the best of its spans (merged answers are judged on the same scale)."""
        return self.best.margin


def choose(spans: Sequence[Span]) -> Choice | None:
    """The answer to give: the candidate with the highest margin over "no answer", across all windows and passages.

    Args:
        spans: Candidate spans from :meth:`qa.reader.Reader.read` (any order).

    Returns:
        The choice, or None when there are no candidates.
    """
    if not spans:
        return None
    ranked = sorted(spans, key=lambda s: -s.margin)
    key = normalize_answer(ranked[0].text)
    return Choice(ranked[0], [s for s in ranked if normalize_answer(s.text) == key])


def accept(choice: Choice | None, confidence: float, min_confidence: float | None, threshold: float) -> bool:
    """Answer (True) or decline (False).

    Args:
        choice: The chosen answer (None: no candidate, always declined).
        confidence: Its P(right) (:meth:`Calibration.probability`).
        min_confidence: Decline below this probability; None: decide on the margin instead.
        threshold: The margin to reach when ``min_confidence`` is None (a user's margin
            override, or a reader that ships no 2-feature calibration).

    Returns:
        Whether to give the answer.
    """
    if choice is None:
        return False
    if min_confidence is not None:
        return confidence >= min_confidence
    return choice.margin >= threshold


@dataclass
class Calibration:
    """Maps a margin and a passage cosine to P(answer is right): ``sigmoid(coef * margin + cosine_coef * cosine + intercept)``.

    Attributes:
        coef: Slope on the margin (positive: a larger margin is more often right).
        intercept: Offset.
        cosine_coef: Slope on the cosine similarity of the answer's passage to the question
            (0 for a margin-only fit).
        method: How it was fitted: 'logistic' (margin and cosine), 'platt' (margin only, as
            older ``qa_reader.json`` files hold), or 'uncalibrated' (a logistic around the
            threshold, for readers that ship no fitted calibration).
    """

    coef: float
    intercept: float
    cosine_coef: float = 0.0
    method: str = "logistic"

    def probability(self, margin: float, cosine: float) -> float:
        """P(right) of an answer with this margin, found in a passage with this cosine similarity to the question.

        Args:
            margin: The answer's margin over "no answer" (-inf: no candidate, probability 0).
            cosine: ``Citation.cosine`` of the answer's passage.

        Returns:
            A probability within [0, 1].
        """
        if margin == -math.inf:
            return 0.0
        z = self.coef * margin + self.cosine_coef * cosine + self.intercept
        # Written to stay finite for very large |z|.
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    @classmethod
    def from_settings(cls, settings: dict | None, threshold: float) -> "Calibration":
        """The reader's fitted calibration (``qa_reader.json`` key ``confidence``), or a logistic around the threshold."""
        if settings and settings.get("method") == "logistic":
            return cls(float(settings["coef"]), float(settings["intercept"]), float(settings["cosine_coef"]), "logistic")
        if settings and settings.get("method") == "platt":
            return cls(float(settings["coef"]), float(settings["intercept"]), 0.0, "platt")
        return cls(1.0, -threshold, 0.0, "uncalibrated")

    def to_settings(self) -> dict:
        out = {"method": self.method, "coef": round(self.coef, 6), "intercept": round(self.intercept, 6)}
        if self.method == "logistic":
            out["cosine_coef"] = round(self.cosine_coef, 6)
        return out


def fit_platt(margins: Sequence[float], right: Sequence[bool]) -> Calibration:
    """Fit P(right | margin) by logistic regression (Platt scaling).

    Args:
        margins: The chosen answer's margin per question.
        right: Whether that answer was right (F1 >= 0.5).

    Returns:
        The fitted calibration.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(margins, dtype=float).reshape(-1, 1)
    y = np.asarray(right, dtype=int)
    # A weak penalty: with thousands of points this is plain maximum likelihood.
    model = LogisticRegression(C=1e4).fit(x, y)
    return Calibration(float(model.coef_[0, 0]), float(model.intercept_[0]), 0.0, "platt")


def fit_logistic(margins: Sequence[float], cosines: Sequence[float], right: Sequence[bool]) -> Calibration:
    """Fit P(right | margin, cosine of the answer's passage) by logistic regression.

    Args:
        margins: The chosen answer's margin per question.
        cosines: The cosine similarity of that answer's passage to the question.
        right: Whether that answer was right (F1 >= 0.5).

    Returns:
        The fitted calibration.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.column_stack([np.asarray(margins, dtype=float), np.asarray(cosines, dtype=float)])
    y = np.asarray(right, dtype=int)
    model = LogisticRegression(C=1e4).fit(x, y)  # weak penalty, as in fit_platt
    return Calibration(float(model.coef_[0, 0]), float(model.intercept_[0]), float(model.coef_[0, 1]), "logistic")


def reliability(probs: Sequence[float], right: Sequence[bool], bins: int = 10) -> list[dict]:
    """Equal-width confidence bins: count, mean confidence and accuracy of each non-empty bin.

    Hand-written: scikit-learn's ``calibration_curve`` drops the bin counts that ECE weighs by.

    Args:
        probs: Predicted P(right), each in [0, 1].
        right: Outcomes.
        bins: Number of equal-width bins over [0, 1] (the last includes 1.0).

    Returns:
        One dict per non-empty bin: ``lo``, ``hi``, ``count``, ``confidence``, ``accuracy``.
    """
    p = np.asarray(probs, dtype=float)
    y = np.asarray(right, dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        sel = idx == b
        if sel.any():
            out.append({"lo": b / bins, "hi": (b + 1) / bins, "count": int(sel.sum()),
                        "confidence": float(p[sel].mean()), "accuracy": float(y[sel].mean())})
    return out


def expected_calibration_error(probs: Sequence[float], right: Sequence[bool], bins: int = 10) -> float:
    """ECE: the count-weighted mean gap between confidence and accuracy over equal-width bins (Guo et al. 2017)."""
    rows = reliability(probs, right, bins)
    n = sum(r["count"] for r in rows)
    return sum(r["count"] * abs(r["confidence"] - r["accuracy"]) for r in rows) / max(n, 1)


@dataclass(frozen=True)
class Rule:
    """The engine's decline rule, span by span.

    Attributes:
        calibration: (margin, passage cosine) -> P(right).
        min_confidence: Decline below this probability; None: decide on the margin ``threshold``.
        threshold: The margin to reach when ``min_confidence`` is None.
        story: The rule for passages of one evolving story (read from dated articles of two or
            more dates), where every passage is close to the question and a same-kind distractor
            (another day's figure, another official) is always at hand: fitted on the
            development stories of ``benchmarks/stories``. None: the same rule everywhere.
        newer_ceiling: The most a current state may be shown as sure when a newer article was read that
            does not give it (the state may have changed since): the share right of such answers on the
            development stories. None: no ceiling.
    """

    calibration: Calibration
    min_confidence: float | None
    threshold: float
    story: "Rule | None" = None
    newer_ceiling: float | None = None

    def probability(self, span: Span, sources: Sequence[Source]) -> float:
        return self.calibration.probability(span.margin, sources[span.passage].cosine)

    def accepts(self, span: Span, probability: float) -> bool:
        return accept(Choice(span, [span]), probability, self.min_confidence, self.threshold)

    def for_sources(self, sources: Sequence[Source]) -> "Rule":
        """The rule that applies to these passages: the story rule when they are dated articles of two or more dates."""
        if self.story is not None and is_story(sources):
            return self.story
        return self


def is_story(sources: Sequence[Source]) -> bool:
    """Whether the passages read are from dated articles of at least two dates (an evolving story)."""
    return len({c.date for c in sources if news.parse_iso(c.date)}) >= 2


@dataclass
class Candidate:
    """One reader span with what the decision needs of it: its passage and its own probability."""

    span: Span
    source: Source
    probability: float
    accepted: bool
    fits: bool = True

    @functools.cached_property
    def key(self) -> str:
        """The normalised answer text (same answer, same key): compared many times while merging and listing."""
        return normalize_answer(self.span.text)

    @property
    def date(self) -> str:
        return self.source.date if news.parse_iso(self.source.date) else ""

    @property
    def past(self) -> bool:
        """Said as a past state in its passage ("former chief executive X", "the toll stood at 27", "X, who was dismissed")."""
        return news.said_as_past(self.source.passage[: self.span.start], self.source.passage[self.span.end:])


def shortlist(spans: Sequence[Span], kind: str = "other", question: str = "", n: int = 5) -> list[Span]:
    """The reader's candidates to decide among: overlapping spans merged, the ``n`` best by margin.

    Where spans overlap, one of the kind asked is kept before a surer one that is not
    ("Sunday" inside "the club sacked its manager on Sunday" for "When was he sacked?"); if none
    of the ``n`` is of that kind, the best one that is joins them.

    Args:
        spans: Every window's candidates (:meth:`qa.reader.Reader.candidates`).
        kind: What the question asks for (:func:`qa.answer_types.asked`).
        question: The question read.
        n: How many to keep (the reader's ``top_k``).

    Returns:
        Spans, highest margin first.
    """
    fit = [answer_types.fits(kind, s.text, question) for s in spans]
    kept: list[tuple[Span, bool]] = []
    for s, f in sorted(zip(spans, fit), key=lambda x: (not x[1], -x[0].margin)):
        if not any(k.passage == s.passage and k.start < s.end and s.start < k.end for k, _ in kept):
            kept.append((s, f))
    kept.sort(key=lambda x: -x[0].margin)
    top = kept[:n]
    if not any(f for _, f in top):
        top += [x for x in kept[n:] if x[1]][:1]
    return [s for s, _ in top]


# "8,100 from 6,400", "$20 million from $12 million": a change, of which the first figure is the state.
_CHANGE = re.compile(r"(.*?\d.*?)\s+(?:up |down )?from\s+(?:about |around |some |roughly )?[$€£¥]?\d.*", re.DOTALL)


def _new_value(s: Span) -> Span:
    """A span that gives a figure and the one it changed from, cut to the new figure."""
    m = _CHANGE.fullmatch(s.text)
    return replace(s, end=s.start + len(m.group(1)), text=m.group(1)) if m else s


def candidates(spans: Sequence[Span], sources: Sequence[Source], rule: Rule, kind: str = "other",
               question: str = "") -> list[Candidate]:
    """Each span with its passage, probability and verdict, highest margin first.

    Args:
        spans: The reader's candidates.
        sources: The passages read.
        rule: The decline rule.
        kind: What the question asks for (:func:`qa.answer_types.asked`): a span of another
            kind ("more" for "How many …?") is never accepted, however sure the reader is.
        question: The question read (a span that restates it is not of the kind asked).
    """
    out = []
    for s in sorted((_new_value(s) for s in spans), key=lambda s: -s.margin):
        p = rule.probability(s, sources)
        fits = answer_types.fits(kind, s.text, question)
        out.append(Candidate(s, sources[s.passage], p, fits and rule.accepts(s, p), fits))
    return out


# A later article's other value at least this probable puts a current state in doubt (see :func:`pick`).
LATER_DOUBT = 0.3


def pick(cands: Sequence[Candidate], ask: news.TimeAsk) -> Candidate | None:
    """The candidate to judge, by what the question asks about time.

    - ``fixed``: the best-supported answer (highest margin), whatever its date; asked "When …?",
      a day inside that answer's month or week, where another candidate that is an answer gives one.
    - ``event``: of the candidates that are answers in their own right, the one from the
      first article dated on or after the event's first report (the state then); without
      an event date, as ``fixed``. (Judging that report's best candidate even below the bar
      declined twice as many event questions on the development stories.)
    - ``current``: of the candidates that are answers in their own right, the one from the
      newest dated article, unless its passage says it as past ("former", "stood at");
      highest margin within a date. When every answer is said as past, the best candidate
      not said so (judged on its own: the past one is stale, not an answer). None accepted:
      the highest margin (then declined).
    - ``period``: the same, among the articles of the named period (the state at the end of
      it), never one said as past there; none of them accepted: the state last reported
      before the period ended; none: the best of the period's own candidates (then declined),
      or without any, the highest margin overall.
    - ``event`` and ``period`` never take an answer said as past in its passage ("first
      expected by mid-June", "replacing X"): it held before that article.

    Args:
        cands: From :func:`candidates`, highest margin first.
        ask: What the question asks about time.

    Returns:
        The candidate, or None when there is none.
    """
    if not cands:
        return None
    # The best-supported answer of the kind asked; none of that kind: the best (then declined).
    best = next((c for c in cands if c.fits), cands[0])
    if ask.kind == "current":
        pool = [c for c in cands if c.accepted and c.date and not c.past]
        if not pool and any(c.accepted and c.date and c.past for c in cands):
            return next((c for c in cands if c.fits and c.date and not c.past), best)
    elif ask.kind == "period" and ask.period is not None:
        pool = [c for c in cands if c.accepted and ask.period.holds(c.date) and not c.past]
        if not pool:
            # The state then is the last one reported before the period's end; with none, the period's
            # own best (then declined), never another time's state.
            before = [c for c in cands if c.accepted and c.date and not c.past and news.parse_iso(c.date) <= ask.period.end]
            if before:
                return max(before, key=lambda c: c.date)  # the first of a date is its best: cands are by margin
            return next((c for c in cands if c.fits and ask.period.holds(c.date) and not c.past), best)
    elif ask.kind == "event" and ask.event_date:
        pool = [c for c in cands if c.accepted and c.date >= ask.event_date and not c.past]
        if pool:
            first = min(c.date for c in pool)
            return next(c for c in pool if c.date == first)
        return best
    elif ask.asks_when:
        return _most_precise(cands, best)
    else:
        return best
    if not pool:
        return best
    chosen = _newest(pool)
    return (_doubt(cands, chosen) or chosen) if ask.kind == "current" else chosen


def _newest(pool: Sequence[Candidate]) -> Candidate | None:
    """The candidate of the newest date; cands are by margin, so the first of that date is its best."""
    if not pool:
        return None
    newest = max(c.date for c in pool)
    return next(c for c in pool if c.date == newest)


def _doubt(cands: Sequence[Candidate], shown: Candidate) -> Candidate | None:
    """A later article's other value the reader is unsure of, which puts a current state in doubt: the older
    value would be shown as current. That later candidate is judged (declined) instead."""
    return next((c for c in cands if c.fits and not c.accepted and c.date > shown.date and not c.past
                 and c.key != shown.key and c.probability >= LATER_DOUBT), None)


def _answer_period(c: Candidate) -> news.Period | None:
    published = news.parse_iso(c.source.date)
    return news.answer_period(c.span.text, published) if published else None


def _most_precise(cands: Sequence[Candidate], best: Candidate) -> Candidate:
    """For "When did …?": a day within the best answer's month or week, if another candidate gives one.

    A follow-up recalls an event by its month ("resigned in February"); the first report gives
    the day ("on Wednesday"), which says more and is resolved to its date.
    """
    period = _answer_period(best) if best.accepted else None
    if period is None or period.start == period.end:
        return best
    for c in cands:
        day = _answer_period(c) if c.accepted and c is not best else None
        if day is not None and day.start == day.end and period.start <= day.start <= period.end:
            return c
    return best


def history(cands: Sequence[Candidate], chosen: Candidate) -> list[dict]:
    """The differing answers over time, newest first (the chosen one first), from candidates that each answer.

    Returns:
        [] unless at least two distinct answers of two different dates are answers in their own right.
    """
    if not chosen.date:
        return []
    per_value: dict[str, Candidate] = {chosen.key: chosen}
    for c in sorted((c for c in cands if c.accepted and c.date), key=lambda c: (c.date, c.span.margin), reverse=True):
        if c.key and not any(c.key in k or k in c.key for k in per_value):
            per_value[c.key] = c
    rows = [chosen] + sorted((c for c in per_value.values() if c is not chosen), key=lambda c: c.date, reverse=True)
    if len(rows) < 2 or len({c.date for c in rows}) < 2:
        return []
    return [{"answer": c.span.text, "date": c.date, "title": c.source.title, "article_id": c.source.article_id,
             "confidence": round(c.probability, 4)} for c in rows]


def declined_note(answer: Answer) -> str | None:
    """Why a question got no answer, said to the user, where there is more to say than "not found"."""
    if answer.declined == "changed later":
        return ("The articles differ over time: a later article may give another answer, and the reader is not "
                "sure of it. The passages below hold both.")
    return answer_types.declined_note(answer.declined, answer.answer_type)


def newer_note(answer: Answer) -> str | None:
    """What to tell the user of a current state that a newer article read does not give (``Answer.newer_read``)."""
    if not answer.found or not answer.newer_read or not answer.citations:
        return None
    said = answer.citations[0].date
    return (f"Said on {news.describe(said)}; a newer article ({news.describe(answer.newer_read)}) does not confirm it, "
            "so it may have changed since.")


def _cite(c: Source, s: Span) -> Citation:
    return Citation.of(c, c.passage_start + s.start, c.passage_start + s.end)


def decide(question: str, resolved_question: str, spans: Sequence[Span], sources: Sequence[Source], rule: Rule,
           ask: news.TimeAsk, period_preferred: bool = False) -> Answer:
    """The answer, from the reader's candidates over the passages read.

    Args:
        question: The question as typed (for display).
        resolved_question: The reading that was answered (a follow-up rewritten).
        spans: The reader's candidates, every window's (:meth:`qa.reader.Reader.candidates`; merged
            here, by :func:`shortlist`); ``Span.passage`` indexes ``sources``.
        sources: The passages read.
        rule: The decline rule and calibration.
        ask: What the question asks about time.
        period_preferred: Whether passages of the named period were found and read first.

    Returns:
        The answer (declined: ``answer`` None, ``confidence`` that of the best candidate).
    """
    kind = answer_types.asked(resolved_question)
    rule = rule.for_sources(sources)
    cands = candidates(shortlist(spans, kind, resolved_question), sources, rule, kind, resolved_question)
    chosen = pick(cands, ask)
    period = ask.period.iso if ask.period is not None and period_preferred else None
    if chosen is None:
        return Answer(question, None, -math.inf, 0.0, [], list(sources), resolved_question, period=period, time_kind=ask.kind,
                      answer_type=kind, declined="no candidate")
    if not chosen.accepted:
        reason, shown = ("low confidence" if chosen.fits else "wrong kind"), list(sources)
        # The answer pick() put in doubt: the one it would otherwise have shown.
        older = _newest([c for c in cands if c.accepted and c.date and not c.past]) if ask.kind == "current" else None
        if older is not None and _doubt(cands, older) is chosen:
            # A later article's other value, unsure: both passages first, for the user to read.
            reason = "changed later"
            shown = [chosen.source, older.source] + [c for c in sources if c is not chosen.source and c is not older.source]
        # A span of another kind is never right for the question: its probability would say otherwise.
        return Answer(question, None, chosen.span.margin, chosen.probability if chosen.fits else 0.0, [], shown,
                      resolved_question, period=period, time_kind=ask.kind, answer_type=kind, declined=reason)
    newer = None
    if ask.kind == "current" and chosen.date:
        newer = max((c.date for c in sources if news.parse_iso(c.date) and c.date > chosen.date), default=None)
    if newer and rule.newer_ceiling is not None:
        # A newer article was read and does not give it: however sure the reader is of the span, the state
        # may have changed since (on the development stories such answers were right 73% of the time).
        chosen.probability = min(chosen.probability, rule.newer_ceiling)
    # The same answer found in several passages is cited from each passage that gives it for this
    # question on its own (the reader's candidate there passes the rule): the same words about
    # another event ("Monday" in a passage about another Monday) are no support.
    citations, seen = [], set()
    for c in [chosen] + [c for c in cands if c is not chosen and c.key == chosen.key and c.accepted]:
        where = (c.source.article_id, c.source.passage_start + c.span.start)
        if where not in seen:  # overlapping passages of one article hold the same sentence
            seen.add(where)
            citations.append(_cite(c.source, c.span))
    over_time = history(cands, chosen) if ask.kind in ("current", "period") else []
    answer_date = None
    published = news.parse_iso(chosen.source.date)
    if published:
        relative = news.resolve_relative(chosen.span.text, published)
        answer_date = relative.iso if relative else None
    return Answer(question, chosen.span.text, chosen.span.margin, chosen.probability, citations, list(sources),
                  resolved_question, answer_date=answer_date, period=period, over_time=over_time, time_kind=ask.kind,
                  evidence=evidence(citations[0]), answer_type=kind, newer_read=newer)
