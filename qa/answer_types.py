"""What kind of answer a question asks for, and whether a candidate answer is of that kind.

Rules over the text, not a tagger model: the packages that ship an English entity tagger
with its weights on PyPI are unofficial re-uploads of spaCy's models, and a rule only has to
catch the clear mismatches ("How many …?" answered "more", "How much did it cost?" answered
"5.2%", "When …?" answered with a name). So the check says *disagrees* only when it is sure;
a span it cannot judge agrees. The answer decision (:mod:`qa.answers`) passes over
candidates that disagree and declines when none is left.

Kinds asked: ``number`` (a count), ``money``, ``percent``, ``time`` (a date or time),
``duration``, ``person`` (who: a person or an organisation), ``name`` (a person's name),
``place``, ``reason``, or ``other`` (nothing checked).
"""

from __future__ import annotations

import re
from functools import lru_cache

KINDS = ("number", "money", "percent", "time", "duration", "person", "name", "place", "reason", "other")

_NUMBER_WORDS = (
    "zero|none|no|nobody|nothing|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|"
    "thousands?|millions?|billions?|trillions?|dozens?|half|quarter|third|several|few|couple|single|double|twice|"
    "triple|once|all|both|score|scores|handful|lakh|crore|first|second|fifth|tenth|bn|m|k")
_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I)
_ORDINAL = re.compile(r"(?:the\s+)?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(?:st|nd|rd|th))", re.I)
_CURRENCY = re.compile(r"[$€£¥₹]|\b(?:dollars?|cents?|pounds?|pence|euros?|yen|yuan|rupees?|francs?|marks?|kronor|krona|"
                       r"crowns?|pesos?|rubles?|roubles?|lira|usd|eur|gbp|free|nothing|salary|wage)\b", re.I)
_PERCENT = re.compile(r"%|\bper ?cent\b|\bpercentage points?\b|\bpoints?\b|\bhalf\b|\bquarter\b|\bthird\b|\bfraction\b", re.I)
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_TIME_WORDS = (
    rf"{_MONTHS}|mondays?|tuesdays?|wednesdays?|thursdays?|fridays?|saturdays?|sundays?|today|tonight|yesterday|tomorrow|"
    "morning|afternoon|evening|night|midnight|noon|dawn|dusk|day|days|week|weeks|weekend|month|months|year|years|"
    "decade|decades|century|centuries|millennium|era|age|ages|period|reign|dynasty|season|spring|summer|autumn|fall|"
    "winter|christmas|easter|ramadan|ago|now|then|recently|currently|soon|later|earlier|once|previously|early|late|"
    "mid|end|beginning|start|middle|during|before|after|until|till|since|following|when|while|upon|by|"
    "bc|bce|ad|ce|am|pm|a\\.m|p\\.m|o'clock|hours?|minutes?|time|times|war|wwi|wwii|independence|revolution|"
    "renaissance|medieval|modern|ancient|prehistoric|victorian|administration|presidency|term|tenure|olympics|wars|"
    "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|\\w+teenth|\\w+tieth|"
    "annually|daily|weekly|monthly|yearly|nightly|always|never|immediately|shortly|eventually|finally|initially|originally")
_TIME = re.compile(rf"\d|\b(?:{_TIME_WORDS})\b", re.I)
_DURATION = re.compile(rf"\d|\b(?:{_NUMBER_WORDS}|a|an|few|several|many|long|short|brief|life|lifetime|indefinite(?:ly)?|"
                       r"permanent(?:ly)?|seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries|century|millennia|until|"
                       r"till|through|since|throughout|temporary|forever|always|never|reign|life|rest)\b", re.I)
_TITLE_WORD = re.compile(r"\b[A-Z][a-z'’\-]+")
_LETTERS = re.compile(r"[A-Za-z]")

# The question's words that say what it asks for; first match wins (more specific first).
_ASKS: list[tuple[str, re.Pattern]] = [
    ("other", re.compile(r"\bwhere (?:did|does|do|was|is|were|are|will|would) .*\b(?:rank|ranked|place|placed|finish|finished|stand)\b", re.I)),
    ("time", re.compile(r"^\s*(?:since when|until when|how long ago)\b", re.I)),
    ("duration", re.compile(r"\bhow long (?:did|does|do|was|is|were|are|will|would|had|has|have|could|can)\b(?! (?:the |a |an )?\w+ (?:bridge|road|river|"
                            r"tunnel|runway|line|wall|course|route|border|coast|rope)\b)", re.I)),
    ("percent", re.compile(r"\b(?:what|which) (?:[\w'’-]+ ){0,3}?(?:percentage|per ?cent|proportion|rate of inflation|inflation rate|"
                           r"interest rate|unemployment rate|turnout|growth rate|tax rate|approval rating)\b|\bby what percentage\b|"
                           r"\bhow many percent\b", re.I)),
    # Money is asked for only where the question names a price or a payment: "how much" alone may be anything.
    ("money", re.compile(r"\bhow much (?!more|less|of\b|higher|lower|longer|shorter|older|bigger|larger|greater|smaller)(?:[\w'’-]+ ){0,6}?"
                         r"(?:cost|costs|pay|paid|paying|charge|charged|earn|earned|earns|owe|owed|fined|spend|spent|ransom|bail|salary|fare|fee|"
                         r"price|compensation|damages|worth)\b|\b(?:what|which) (?:was|is|were|are|will be|would be|had been|has been) (?:the |a |an )?"
                         r"(?:[\w'’-]+ ){0,2}?(?:price|fare|fee|salary|wage|ransom|bail)\b(?! (?:rise|increase|cut|fall|rate|index|growth|war))", re.I)),
    ("number", re.compile(r"\bhow many\b|\bhow (?:old|tall|high|far|deep|wide|heavy)\b|"
                          r"\b(?:what|which) (?:was|is|were|are|will be|has been|had been) (?:the )?(?:[\w'’-]+ )?(?:number of|population|death toll|"
                          r"toll|total number|tally|age)\b(?! (?:of (?:the )?(?:[\w'’-]+ )?(?:city|area|region|country|county|state|province|"
                          r"group|family|people|species)\b))", re.I)),
    ("time", re.compile(r"\bwhen (?:did|does|do|was|is|were|are|will|would|had|has|have|could|can)\b|"
                        r"\b(?:what|which) (?:year|years|date|day|month|time|century|decade|hour)\b|"
                        r"\bon what (?:day|date)\b|\bhow soon\b", re.I)),
    ("name", re.compile(r"\bwhat (?:is|was|were|are) (?:the )?(?:[\w'’-]+ ){0,3}?(?:captain|pilot|driver|"
                        r"victim|suspect|man|woman|boy|girl|officer|doctor|judge|lawyer|spokesman|spokeswoman|spokesperson|"
                        r"chief|director|minister|leader|president|mayor|manager|coach|engineer|witness|survivor)(?:'s|’s) names?\b|"
                        r"\bwhat (?:is|was) (?:his|her) name\b|\bname of the (?:captain|pilot|driver|victim|suspect|man|woman|judge|"
                        r"lawyer|spokesman|spokeswoman|engineer|witness)\b", re.I)),
    ("person", re.compile(r"^\s*(?:[\w'’-]+ )?(?:who|whom|whose)\b|\b(?:by|to|from|with|for) whom\b|\bwho (?:was|is|did|has|had|will|"
                          r"were|are|led|leads|won|said|told|replaced|succeeded)\b", re.I)),
    ("place", re.compile(r"\bwhere (?:did|does|do|was|is|were|are|will|would|had|has|have)\b|"
                         r"\b(?:in|at|from|to) (?:what|which) (?:country|city|town|village|state|province|region|county|"
                         r"continent|port|island)\b|\b(?:what|which) (?:country|city|town|village|province|county|continent|port|island)\b", re.I)),
    ("reason", re.compile(r"\bwhy (?:did|does|do|was|is|were|are|will|would|had|has|have)\b|\bfor what reason\b", re.I)),
]


@lru_cache(maxsize=4096)
def asked(question: str) -> str:
    """What kind of answer a question asks for.

    Args:
        question: The question.

    Returns:
        One of :data:`KINDS` (``other`` when the wording does not say).
    """
    for kind, pattern in _ASKS:
        if pattern.search(question):
            return kind
    return "other"


def _only_time(text: str) -> bool:
    """A span that is nothing but a date or time ("Sunday", "March 2024", "1998", "last week")."""
    words = re.findall(r"[A-Za-z]+|\d[\d,./:-]*", text)
    return bool(words) and all(w[0].isdigit() or re.fullmatch(rf"(?:{_TIME_WORDS}|last|next|this|on|in|at|of|the|early|late|st|nd|rd|th)", w, re.I)
                               for w in words) and bool(_TIME.search(text))


def _only_number(text: str) -> bool:
    """A span that is nothing but a figure ("42", "1,450", "3.8%", "$5.10")."""
    return bool(re.fullmatch(r"[\s$€£¥₹~≈+\-]*\d[\d,.\s]*(?:%|per ?cent|[kmb]n?|million|billion)?\s*", text, re.I))


_STOP = frozenset(
    "a an the of in on at to for by with from and or but is was were are be been being did does do has had have will "
    "would could can what which who whom whose when where why how many much that this these those it its as into than "
    "then there their his her he she they them after before during about over under up out new first one two".split())
# A span that repeats this many of the question's own words restates the question ("X resigned on Tuesday"
# for "When did X resign?"); the answer is inside it. Gold answers of these kinds do so in < 1% (SQuAD train).
_RESTATES = {"number": 2, "money": 2, "percent": 2, "time": 2, "duration": 2, "person": 3, "name": 3, "place": 3}


def _content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9']+", text.lower()) if len(w) > 2 and w not in _STOP}


def fits(kind: str, text: str, question: str = "") -> bool:
    """Whether an answer text can be an answer of this kind (True when it cannot tell).

    Args:
        kind: From :func:`asked`.
        text: The candidate answer.
        question: The question, if given: a span that restates it (repeats its words) is a
            clause holding the answer, not the answer.

    Returns:
        False only for a clear mismatch.
    """
    t = text.strip()
    if not t or kind == "other":
        return True
    if question and kind in _RESTATES and len(_content_words(t) & _content_words(question)) >= _RESTATES[kind]:
        return False
    if kind == "number":
        # "How many have died?" -> "third" ("the third death"): an ordinal alone ranks, it does not count.
        if _ORDINAL.fullmatch(t) and re.match(r"(?i)\s*how many\b", question):
            return False
        return bool(_NUMBER.search(t))
    if kind == "money":
        # A figure with a currency, or a bare figure (the unit said nearby); never a percentage.
        if re.search(r"%|\bper ?cent\b", t, re.I) and not _CURRENCY.search(t):
            return False
        return bool(_NUMBER.search(t) or _CURRENCY.search(t))
    if kind == "percent":
        return bool(_PERCENT.search(t) or _NUMBER.search(t)) and not re.search(r"[$€£¥₹]", t)
    if kind == "time":
        return bool(_TIME.search(t))
    if kind == "duration":
        return bool(_DURATION.search(t))
    if kind in ("person", "place", "reason"):
        # Who/where/why is never only a date or a figure.
        return not (_only_time(t) or _only_number(t)) and bool(_LETTERS.search(t))
    if kind == "name":
        # A person's name: a capitalised word ("Joren Havik"), not an abbreviation ("MV") or a figure.
        return bool(_TITLE_WORD.search(t)) and not _only_time(t)
    return True


_KIND_WORDS = {"number": "a number", "money": "a sum of money", "percent": "a percentage", "time": "a date or time",
               "duration": "a length of time", "person": "a person or organisation", "name": "a name", "place": "a place",
               "reason": "a reason"}


def declined_note(declined: str | None, kind: str) -> str | None:
    """Why a question got no answer, said to the user, when it was the kind: ``Answer.declined`` == 'wrong kind'."""
    if declined != "wrong kind" or kind not in _KIND_WORDS:
        return None
    return f"The question asks for {_KIND_WORDS[kind]}; nothing the articles say about it here is one."
