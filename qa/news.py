"""Date facts for news: relative times made calendar dates, and what a question asks about time.

News articles speak relative to the day they were published: "Monday", "yesterday",
"last week", "in March". An answer like that means little a month later, so it is
resolved against the publication date of the article it was read from ("Monday — 4 July
2011"). A question is classified by what it asks about time (:func:`time_ask`): a current
state, a state in a named period, a state at an event, or a fixed fact. This module only
states those facts; :mod:`qa.answers` decides the answer from them.

Dates are ISO 8601 throughout: a day ``2011-07-04``, a week ``2011-W26``, a month
``2011-03``, a year ``2011``, an interval ``2010/..``, ``../2024-05``, ``2024-03/2024-05``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Sequence

from dateutil.relativedelta import MO, relativedelta, weekday

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
    t = re.sub(r"^(?:(?:on|in|during|since|by|from|until|early|late|earlier|later)\s+)+", "", t)  # "late on Monday"
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
    if m:  # a month without a year: the nearest such month, before or after ("in August" in a July article is coming)
        return _month_period(*nearest_month(_month(m.group("month")), published))
    return None


_DAY_MONTH = re.compile(r"(?:\w+\s+)?(?:(?P<d1>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH_RE + r"|(?P<m2>" + "|".join(_MONTHS) + r")\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?)(?:,?\s+(?P<y>(?:19|20)\d\d))?")


def answer_period(text: str, published: date) -> Period | None:
    """The calendar period a time answer names, seen from its article's date: relative ("Wednesday",
    "last month", "in March") or a written day ("12 February", "February 12, 2025"), else None."""
    relative = resolve_relative(text, published)
    if relative is not None:
        return relative
    t = " ".join(text.lower().replace(",", " , ").split()).replace(" ,", ",").strip(" .")
    m = _DAY_MONTH.fullmatch(re.sub(r"^(?:on|by|from|until|since)\s+", "", t))
    if not m:
        return None
    month = _month(m.group("month") or m.group("m2"))
    day = int(m.group("d1") or m.group("d2"))
    year = int(m.group("y")) if m.group("y") else nearest_month(month, published)[0]
    try:
        return _day(date(year, month, day))
    except ValueError:
        return None


def nearest_month(month: int, around: date) -> tuple[int, int]:
    """(year, month) of the occurrence of ``month`` nearest to ``around``; six months either way goes to the past."""
    ahead = (month - around.month) % 12
    if ahead == 0:
        return around.year, month
    if ahead < 6:
        return around.year + (around.month + ahead > 12), month
    return around.year - (month > around.month), month




def _open_end(iso: str) -> str:
    return "" if iso == ".." else iso


def describe(period_iso: str) -> str:
    """A reader-friendly name for an ISO day, week, month, year or interval: '4 July 2011', 'since 2010'."""
    if "/" in period_iso:
        start, end = (_open_end(p) for p in period_iso.split("/", 1))
        if not start:
            return f"up to {describe(end)}"
        if not end:
            return f"since {describe(start)}"
        return f"{describe(start)} to {describe(end)}"
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


_YEAR = r"(?:19|20)\d\d"
_MONTH_NAME = r"(?:" + "|".join(_MONTHS + sorted(_MONTH_ABBR, key=len, reverse=True)) + r")\.?"
# "July 2011", "July of 2011", "July" (a year to be found), or "2011".
_WHEN = r"(?:(?P<{p}m>" + _MONTH_NAME + r")(?:\s+(?:of\s+)?(?P<{p}y>" + _YEAR + r"))?|(?P<{p}yo>" + _YEAR + r"))\b(?!\s*-)"


def _when(m: re.Match, p: str, dates: Sequence[date], today: date) -> Period | None:
    """The month or year one ``_WHEN`` group names; a month without a year is the latest one the articles hold
    (none of them of that month: the latest up to the newest article, or up to today without articles)."""
    if m.group(p + "yo"):
        return _year(int(m.group(p + "yo")))
    month = _month(m.group(p + "m"))
    if m.group(p + "y"):
        return _month_period(int(m.group(p + "y")), month)
    years = [d.year for d in dates if d.month == month]
    if years:
        return _month_period(max(years), month)
    last = max(dates, default=today)  # none of that month at hand: the latest one up to the newest article
    return _month_period(last.year if month <= last.month else last.year - 1, month)


def _interval(start: date | None, end: date | None) -> Period:
    iso = f"{start.isoformat() if start else '..'}/{end.isoformat() if end else '..'}"
    return Period(start or date.min, end or date.max, iso)


def question_period(question: str, today: date | None = None, dates: Iterable[date] = ()) -> Period | None:
    """The period a question names, if any.

    "in July 2011", "in 2011", "in April" (the latest April the articles hold; without
    articles of it, the latest up to the newest article, or up to today), "since 2010", "before June 2024", "after
    March 2024", "between March and May 2024", "this year", "last year", "last month"
    (counted from ``today``: the day the question is asked, not the articles' dates).

    Args:
        question: The question.
        today: What "this year" is relative to (default: today).
        dates: Publication dates of the articles at hand, to place a month named without a year.

    Returns:
        The period (``Period.iso`` an ISO 8601 month, year or interval), or None when the question names no time.
    """
    found = _named_period(question, today, dates)
    return found[0] if found else None


def without_period(question: str, today: date | None = None) -> str:
    """The question with the time it names taken out ("How many had died in April 2024?" -> "How many had died?").

    Articles of the period are chosen by their dates; the words of the period, rarely
    written in the article, would only lower the reader's and the search's scores.
    """
    found = _named_period(question, today)
    if not found:
        return question
    start, end = found[1]
    out = (question[:start] + " " + question[end:]).strip()
    out = re.sub(r"\s+([,?.!])", r"\1", re.sub(r"^[,\s]+|,\s*(?=\?)", "", " ".join(out.split())))
    return out[:1].upper() + out[1:] if out else question


def _named_period(question: str, today: date | None = None, dates: Iterable[date] = ()) -> tuple[Period, tuple[int, int]] | None:
    """The period a question names and where in the question it is named."""
    today = today or date.today()
    dates = [d for d in dates if d]
    q = question.lower()
    m = re.search(r"\bbetween\s+" + _WHEN.format(p="a") + r"\s+and\s+" + _WHEN.format(p="b"), q)
    if m:
        a, b = _when(m, "a", dates, today), _when(m, "b", dates, today)
        if m.group("bm") and m.group("by") and m.group("am") and not m.group("ay"):  # "between March and May 2024"
            a = _month_period(int(m.group("by")), _month(m.group("am")))
        if a.start <= b.end:
            return Period(a.start, b.end, f"{a.iso}/{b.iso}"), m.span()
    m = re.search(r"\b(?P<rel>since|after|from|before|until|till|up to|prior to)\s+(?:the\s+(?:start|beginning|end)\s+of\s+)?" + _WHEN.format(p=""), q)
    if m:
        p = _when(m, "", dates, today)
        rel = m.group("rel")
        if rel in ("since", "from"):
            return Period(p.start, date.max, f"{p.iso}/.."), m.span()
        if rel == "after":
            return Period(p.end + timedelta(days=1), date.max, f"{(p.end + timedelta(days=1)).isoformat()}/.."), m.span()
        if rel in ("until", "till", "up to"):
            return Period(date.min, p.end, f"../{p.iso}"), m.span()
        return Period(date.min, p.start - timedelta(days=1), f"../{(p.start - timedelta(days=1)).isoformat()}"), m.span()
    m = re.search(r"\b(?:in|during|of|throughout|by|at the (?:start|end|beginning) of)\s+(?:early\s+|late\s+|mid-?\s*)?" + _WHEN.format(p=""), q)
    if m and (m.group("yo") or m.group("m")):
        return _when(m, "", dates, today), m.span()
    m = re.search(r"\b" + _MONTH_NAME + r"\s+(?:of\s+)?(?P<year>" + _YEAR + r")\b", q)
    if m:
        return _month_period(int(m.group("year")), _month(re.match(_MONTH_NAME, m.group(0)).group(0))), m.span()
    m = re.search(r"\b(this|last)\s+(year|month)\b", q)
    if m:
        step = 0 if m.group(1) == "this" else -1
        if m.group(2) == "year":
            return _year(today.year + step), m.span()
        d = today + relativedelta(months=step)
        return _month_period(d.year, d.month), m.span()
    return None


@dataclass(frozen=True)
class TimeAsk:
    """What a question asks about time.

    Attributes:
        kind: ``current`` (a state that can change, asked now: "Who is the mayor?", "How many
            have died so far?"), ``period`` (a state in a named period: "in April 2024", "since
            2010"), ``event`` (a state at an event: "when the ferry sank"), or ``fixed`` (a fact or
            an event that does not change: "Who designed it?", "When did it capsize?").
        period: The named period (kind ``period``), else None.
        event: The words naming the event (kind ``event``): "when the ferry sank", else ''.
        event_date: When the event was first reported (ISO day), once the engine has looked it up; else ''.
        asks_when: The question asks for a time ("When did …?", "On what day …?").
    """

    kind: str
    period: Period | None = None
    event: str = ""
    event_date: str = ""
    asks_when: bool = False

    @property
    def event_words(self) -> str:
        """The event without the word that ties the question to it: "when the ferry sank" -> "the ferry sank" (to search for)."""
        return _EVENT_LEAD.sub("", self.event)


# A state tied to an event of the story: "when the ferry sank", "at the time of the crash",
# "after the first day of searching". A question that opens with "When" asks for the time itself.
_EVENT = re.compile(
    r"\S\s+(?P<e>when\s+\w.*"
    r"|(?:as(?!\s+(?:a\s+(?:result|consequence|whole)|part)\b)|after|before)\s+(?:the|it|they|he|she|his|her|its|their|a|an)\b.*)"
    r"|(?P<f>\b(?:once|by the time|at the (?:time|start|end|outset|beginning) of|in the (?:wake|aftermath) of|after the first"
    r"|(?:at|on|during|in) the (?:first|second|third|last|final|opening) \w+).*)",
    re.IGNORECASE,
)
_EVENT_LEAD = re.compile(r"^(?:when|as|after|before|once|by the time|at the time of|in the (?:wake|aftermath) of)\s+", re.IGNORECASE)
# Words of "now": the state as it stands, which later articles may have changed, whatever else the question says.
_NOW = re.compile(r"\b(?:now|currently|current|latest|so far|to date|still|presently|at present|as it stands|today|newest|most recent)\b",
                  re.IGNORECASE)
# Present tense: a state now, unless the question is about the past on purpose.
_CURRENT = re.compile(r"\b(?:yet|remains?)\b|^who\s+(?!was\b)\w+[^s\W]s\b"  # "Who chairs/leads/runs …?"
                      r"|^(?:who|what|which|how many|how much|where|how)\b[^?]*?\b(?:is|are|has|have|does|do)\b",
                      re.IGNORECASE)
# Asked about what is to come ("When will it reopen?", "When is the inquiry expected to report?"): an
# expectation, which later articles revise (a reopening date that slips), so a state now.
_FUTURE = re.compile(r"\bwill\b|\b(?:is|are)\b[^?]*?\b(?:expected|due|scheduled|set|planned|likely|forecast)\s+to\b", re.IGNORECASE)
# Asked about the past on purpose: a fixed fact, whatever later articles say.
_PAST = re.compile(r"\b(?:was|were|did|had|first|originally|initially|former|previous|earlier)\b", re.IGNORECASE)


def time_ask(question: str, today: date | None = None, dates: Iterable[date] = ()) -> TimeAsk:
    """Classify what a question asks about time (rules; measured in ``benchmarks/stories``).

    Args:
        question: The question.
        today: What "this year" counts from (default: today).
        dates: Publication dates of the articles at hand (to place "in April" without a year).

    Returns:
        The kind, with the period for a ``period`` question.
    """
    period = question_period(question, today, dates)
    if period is not None:
        return TimeAsk("period", period)
    q = question.strip()
    m = _EVENT.search(q)
    # "How many were still in shelters when the governor resigned?": the state then, "still" or not.
    if _NOW.search(q) and not (m and _PAST.search(q[: m.start()])):
        return TimeAsk("current")
    if m:
        return TimeAsk("event", event=(m.group("e") or m.group("f")).strip(" ?"))
    if _FUTURE.search(q) and not _PAST.search(q):
        return TimeAsk("current")
    asks_when = bool(re.match(r"(?i)(?:when\b|(?:on|by)?\s*what (?:day|date)\b|which day\b)", q))
    if asks_when:
        return TimeAsk("fixed", asks_when=True)
    if re.match(r"(?i)(why|how did|how was|how were)\b", q):
        return TimeAsk("fixed")
    head = re.split(r"(?i)\b(?:who|that|which)\b", q, maxsplit=1)[0] if re.match(r"(?i)(what|which|how)\b", q) else q
    if _CURRENT.search(q) and not _PAST.search(head if len(head) > 4 else q):
        return TimeAsk("current")
    return TimeAsk("fixed")


# An event's first report: the earliest article whose passage is this close (cosine) to the best match of the
# event's words. Chosen on the development stories (questions read as at an event, right: 33 of 60 at 0.1, 35 at
# 0.05-0.07; the report's article found for 25 of 39 at 0.1, 30 at 0.05): a wider margin reaches back to articles
# that only lead up to the event ("the council voted to suspend the mayor" for "when the mayor resigned").
EVENT_MATCH = 0.05


def first_report(matches: Sequence, within: float = EVENT_MATCH):
    """The passage that first reported an event, among passages found for the event's words.

    Args:
        matches: Passages with ``date`` and ``cosine`` (to the event's words).
        within: How far below the closest match a passage may be and still tell of the event.

    Returns:
        The earliest dated passage at most ``within`` below the closest dated one; None without a dated passage.
    """
    dated = [c for c in matches if parse_iso(c.date)]
    if not dated:
        return None
    top = max(c.cosine for c in dated)
    return min((c for c in dated if c.cosine >= top - within), key=lambda c: c.date)


def prefer_period(citations: Sequence, period: Period | None, k: int) -> tuple[list, bool]:
    """Citations of the period first, then the others (retrieval order kept within each group), cut to ``k``.

    Args:
        citations: Retrieved passages (with a ``date``), best first: a pool larger than ``k``.
        period: The period the question names, or None.
        k: How many to keep.

    Returns:
        (the kept citations, whether any of the period was found and put first).
    """
    if period is None:
        return list(citations[:k]), False
    inside = [c for c in citations if period.holds(c.date)]
    outside = [c for c in citations if not period.holds(c.date)]
    return (inside + outside)[:k], bool(inside)


# Words that put a name or a figure in the past, just before it: "former chief executive X", "the then-mayor",
# "replacing X", "first due to open on 4 December".
_FORMER = re.compile(r"\b(?:former|ex-|then-?|previous|predecessor|outgoing|ousted|erstwhile|had been|replac(?:ing|ed|es)"
                     r"|succeed(?:ing|ed|s)|in place of|took over from|taking over from|first due|originally|initially)"
                     r"\W*(?:\w+\W+){0,4}$", re.IGNORECASE)
# A figure of before: "the toll stood at 27" -- unless it is what someone said it is now ("officials said it had risen to 520,000").
_FORMER_FIGURE = re.compile(r"\b(?:stood at|had risen to|had reached)\W*(?:\w+\W+){0,4}$", re.IGNORECASE)
_SAID = re.compile(r"\b(?:said|says|told|according to)\b", re.IGNORECASE)
# Just after a name: it is no longer held ("X, who was dismissed in November", "X resigned as director").
_LEFT = re.compile(r"^(?:,\s*who)?\s+(?:(?:was|had been)\s+(?:dismissed|sacked|fired|ousted|removed)"
                   r"|(?:has\s+|had\s+)?(?:resigned|stepped down|quit|retired))\b", re.IGNORECASE)


def said_as_past(before: str, after: str = "") -> bool:
    """Whether the words around an answer mark it as a past state.

    Args:
        before: The passage text before the answer ("former chief executive", "stood at", "replacing").
        after: The text after it (", who was dismissed in November", " resigned as director").
    """
    window = before[-60:]
    if _FORMER.search(window) or _LEFT.match(after[:60]):
        return True
    return bool(_FORMER_FIGURE.search(window)) and not _SAID.search(window)
