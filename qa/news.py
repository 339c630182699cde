"""News-aware dates: relative answers made calendar dates, questions that name a time, answers that changed.

News articles speak relative to the day they were published: "Monday", "yesterday",
"last week", "in March". An answer like that means little a month later, so it is
resolved against the publication date of the article it was read from ("Monday — 4 July
2011"). A question that names a period ("in July 2011", "in 2011", "this year") prefers
articles published in it. When articles of different dates give different answers (a
figure that changed over time), the newest answer leads and the others follow, newest first.

Dates are ISO 8601 throughout: a day ``2011-07-04``, a week ``2011-W26``, a month
``2011-03``, a year ``2011``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Sequence

from dateutil.relativedelta import MO, relativedelta, weekday

if TYPE_CHECKING:  # only for type hints: news sits beside the engine and must not import it at run time
    from qa.engine import Answer, Citation
    from qa.reader import Span

_WEEKDAYS = [d.lower() for d in calendar.day_name]  # monday .. sunday
_MONTHS = [m.lower() for m in calendar.month_name[1:]]  # january .. december
_MONTH_ABBR = {m[:3]: i for i, m in enumerate(_MONTHS, 1)} | {"sept": 9}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
_PART_OF_DAY = r"(?:\s+(?:morning|afternoon|evening|night))?"
_MONTH_RE = r"(?P<month>" + "|".join(_MONTHS + sorted(_MONTH_ABBR, key=len, reverse=True)) + r")\.?"


@dataclass(frozen=True)
class Period:
    """A span of calendar days (both ends included) with its ISO 8601 name."""

    start: date
    end: date
    iso: str

    def holds(self, iso_date: str) -> bool:
        """Whether an ISO date (``YYYY-MM-DD``) falls in the period; False for empty or unparseable dates."""
        d = parse_iso(iso_date)
        return d is not None and self.start <= d <= self.end


def parse_iso(text: str) -> date | None:
    """A ``YYYY-MM-DD`` date, or None (articles store dates ISO or empty)."""
    try:
        return date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


def _month(name: str) -> int:
    name = name.lower().rstrip(".")
    return _MONTHS.index(name) + 1 if name in _MONTHS else _MONTH_ABBR[name[:4] if name == "sept" else name[:3]]


def _day(d: date) -> Period:
    return Period(d, d, d.isoformat())


def _week(d: date) -> Period:
    monday = d + relativedelta(weekday=MO(-1))
    y, w, _ = monday.isocalendar()
    return Period(monday, monday + timedelta(days=6), f"{y}-W{w:02d}")


def _month_period(year: int, month: int) -> Period:
    last = calendar.monthrange(year, month)[1]
    return Period(date(year, month, 1), date(year, month, last), f"{year}-{month:02d}")


def _year(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31), str(year))


def _count(word: str) -> int | None:
    return int(word) if word.isdigit() else _NUMBERS.get(word.lower())


def resolve_relative(text: str, published: date) -> Period | None:
    """The calendar day, week or month a relative time expression means, seen from a publication date.

    Args:
        text: An answer such as "Monday", "last week", "yesterday", "in March", "two days ago".
        published: When the article was published.

    Returns:
        The period meant, or None when the text is not (only) a relative time.
    """
    # Hand-written: dateutil parses absolute dates but not relative phrases ("last Monday", "two weeks ago").
    t = " ".join(text.lower().replace(",", " ").split()).strip(" .")
    t = re.sub(r"^(on|in|during|since|by|from|until|early|late|earlier|later)\s+", "", t)
    t = re.sub(r"^(earlier|later)\s+", "", t)
    if re.fullmatch(r"(today|tonight|this (morning|afternoon|evening))", t):
        return _day(published)
    if re.fullmatch(r"yesterday" + _PART_OF_DAY, t) or t == "last night":
        return _day(published - timedelta(days=1))
    if re.fullmatch(r"tomorrow" + _PART_OF_DAY, t):
        return _day(published + timedelta(days=1))
    m = re.fullmatch(r"(?:(?P<which>last|this|next|this past|this coming)\s+)?(?P<day>" + "|".join(_WEEKDAYS) + r")" + _PART_OF_DAY, t)
    if m:
        wd = weekday(_WEEKDAYS.index(m.group("day")))
        which = m.group("which") or ""
        if which in ("next", "this coming"):
            return _day(published + relativedelta(days=1, weekday=wd(+1)))
        if which in ("last", "this past"):
            return _day(published + relativedelta(days=-1, weekday=wd(-1)))
        # A bare weekday in news copy is the most recent one, the publication day included.
        return _day(published + relativedelta(weekday=wd(-1)))
    m = re.fullmatch(r"(?P<which>last|this|next|the past|the previous)\s+(?P<unit>week|month|year)", t)
    if m:
        step = {"last": -1, "the past": -1, "the previous": -1, "this": 0, "next": 1}[m.group("which")]
        unit = m.group("unit")
        if unit == "week":
            return _week(published + timedelta(weeks=step))
        if unit == "month":
            d = published + relativedelta(months=step)
            return _month_period(d.year, d.month)
        return _year(published.year + step)
    m = re.fullmatch(r"(?P<n>\d+|" + "|".join(_NUMBERS) + r")\s+(?P<unit>day|week|month|year)s?\s+ago", t)
    if m and _count(m.group("n")) is not None:
        n, unit = _count(m.group("n")), m.group("unit")
        d = published - relativedelta(**{unit + "s": n})
        if unit == "day":
            return _day(d)
        if unit == "week":
            return _week(d)
        return _month_period(d.year, d.month) if unit == "month" else _year(d.year)
    m = re.fullmatch(_MONTH_RE, t)
    if m:  # a month without a year: the latest such month up to the publication month
        month = _month(m.group("month"))
        year = published.year if month <= published.month else published.year - 1
        return _month_period(year, month)
    return None


def describe(period_iso: str) -> str:
    """A reader-friendly name for an ISO day, week, month or year: '4 July 2011', 'week of 27 June 2011'."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", period_iso):
        d = date.fromisoformat(period_iso)
        return f"{d.day} {calendar.month_name[d.month]} {d.year}"
    m = re.fullmatch(r"(\d{4})-W(\d{2})", period_iso)
    if m:
        d = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        return f"week of {d.day} {calendar.month_name[d.month]} {d.year}"
    m = re.fullmatch(r"(\d{4})-(\d{2})", period_iso)
    if m:
        return f"{calendar.month_name[int(m.group(2))]} {m.group(1)}"
    return period_iso


def question_period(question: str, today: date | None = None) -> Period | None:
    """The period a question names, if any: "in July 2011", "in 2011", "this year", "last month".

    Args:
        question: The question.
        today: What "this year" is relative to (default: today).

    Returns:
        The period, or None when the question names no time.
    """
    today = today or date.today()
    q = question.lower()
    m = re.search(r"\b" + _MONTH_RE + r"\s+(?:of\s+)?(?P<year>(?:19|20)\d\d)\b", q)
    if m:
        return _month_period(int(m.group("year")), _month(m.group("month")))
    m = re.search(r"\b(?:in|during|of|since|from|throughout)\s+(?P<year>(?:19|20)\d\d)\b(?!\s*-)", q)
    if m:
        return _year(int(m.group("year")))
    m = re.search(r"\b(this|last)\s+(year|month)\b", q)
    if m:
        step = 0 if m.group(1) == "this" else -1
        if m.group(2) == "year":
            return _year(today.year + step)
        d = today + relativedelta(months=step)
        return _month_period(d.year, d.month)
    return None


def prefer_period(citations: Sequence["Citation"], period: Period | None, k: int) -> tuple[list["Citation"], bool]:
    """Citations of the period first (retrieval order kept within each group), cut to ``k``.

    Args:
        citations: Retrieved passages, best first (a pool larger than ``k``).
        period: The period the question names, or None.
        k: How many to keep.

    Returns:
        (the kept citations, whether any of the period was found and preferred).
    """
    if period is None:
        return list(citations[:k]), False
    inside = [c for c in citations if period.holds(c.date)]
    if not inside:
        return list(citations[:k]), False
    return inside[:k], True


def _span_citation(c: "Citation", s: "Span") -> "Citation":
    return replace(c, answer_start=c.passage_start + s.start, answer_end=c.passage_start + s.end)


def annotate(answer: "Answer", spans: Sequence["Span"], sources: Sequence["Citation"], threshold: float) -> "Answer":
    """Add the news-aware parts to an answer: differing answers over time, and the date a relative answer means.

    Args:
        answer: The engine's answer (changed in place and returned).
        spans: The reader's candidates over ``sources``, best first.
        sources: The passages that were read.
        threshold: The "no answer" margin; only candidates above it count as answers.

    Returns:
        The same answer, with ``over_time`` and ``answer_date`` set where they apply.
    """
    if not answer.found:
        return answer
    from qa.squad import normalize_answer

    # The best candidate of each dated article, if it is an answer in its own right.
    best_by_article: dict[str, tuple["Span", "Citation"]] = {}
    for s in sorted(spans, key=lambda s: -s.margin):
        c = sources[s.passage]
        if s.margin >= threshold and parse_iso(c.date) and c.article_id not in best_by_article:
            best_by_article[c.article_id] = (s, c)
    distinct: dict[str, tuple["Span", "Citation"]] = {}
    for s, c in sorted(best_by_article.values(), key=lambda sc: sc[1].date, reverse=True):
        key = normalize_answer(s.text)
        if key and not any(key in k or k in key for k in distinct):
            distinct[key] = (s, c)
    if len(distinct) > 1 and len({c.date for _, c in distinct.values()}) > 1:
        ordered = list(distinct.values())  # newest first
        answer.answer = ordered[0][0].text
        answer.citations = [_span_citation(c, s) for s, c in ordered]
        answer.over_time = [{"answer": s.text, "date": c.date, "title": c.title, "article_id": c.article_id} for s, c in ordered]
    published = parse_iso(answer.citations[0].date) if answer.citations else None
    if published and answer.answer:
        period = resolve_relative(answer.answer, published)
        answer.answer_date = period.iso if period else None
    return answer
