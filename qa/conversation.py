"""Conversation: read a new question in the light of the earlier turns.

A question can be read two ways: as asked, and rewritten with the entity the
conversation is about in place of a pronoun ("When did he resign?" after "Who
heads the TNC?" -> "When did Mustafa Abdel Jalil resign?"). :func:`readings`
gives both (the rewrite only when the question leans on the conversation); the
engine reads each and keeps the one the reader is surer of, so a rewrite that
goes wrong cannot make a good question worse than asking it alone.

Rules, not a coreference model: no such model installs from PyPI with its
weights, and chat follow-ups need only two judgements, made here by hand:

* Does a pronoun already have its referent in the question itself ("What did
  NATO say about its mission?")? Then the question stands alone.
* Which earlier entity fits the pronoun? Each entity gets a kind (person, place,
  date, number, thing) from the question that produced it ("When ..." -> a date,
  "Which TV channel ..." -> a thing, "Who ..." -> a person) and from its shape;
  "he"/"she" take only a person, "it"/"its" anything but a person, date or number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Sequence

PERSON, PLACE, DATE, NUMBER, THING = "person", "place", "date", "number", "thing"

# Which kinds of entity each pronoun may stand for.
_PRONOUN_KINDS: dict[str, set[str]] = {
    **dict.fromkeys(("he", "him", "his", "she", "her", "hers"), {PERSON}),
    **dict.fromkeys(("it", "its"), {THING, PLACE}),
    # "they": a team, a band, a country's government, or people
    **dict.fromkeys(("they", "them", "their", "theirs"), {THING, PLACE, PERSON}),
}
_PRONOUN = re.compile(r"\b(" + "|".join(_PRONOUN_KINDS) + r")\b", re.IGNORECASE)
_POSSESSIVE = {"his", "its", "their"}
# Words after "her" that show it is an object ("ask her for help"), not a possessive ("her husband").
_AFTER_OBJECT_HER = {
    "about", "after", "and", "as", "at", "before", "by", "for", "from", "if", "in", "into", "of", "on", "or",
    "out", "over", "that", "the", "a", "an", "to", "up", "when", "while", "with", "without", "again", "back",
    "down", "off", "so", "than", "this", "these", "those", "then", "yet", "any", "anything", "something",
}
# "it" with nothing to refer to: "Is it true that ...", "How long did it take ...".
_DUMMY_IT = re.compile(r"\bit\s+(?:is|was|'s|will be|would be)\s+\w+\s+(?:that|to|for)\b|\b(?:did|does|will|would)\s+it\s+take\b",
                       re.IGNORECASE)

# Runs of capitalised words with short joiners: "Anders Fogh Rasmussen", "Saif al-Islam Gadhafi", "TF1".
_NAME = re.compile(r"\b[A-Z][\w’'.-]*(?:\s+(?:(?:al|el|de|du|von|van|bin|of|the)[-\s]+)?[A-Z][\w’'.-]*)*(?:\s+\d+\b)?")
# A capitalised adjective before a lowercase word: "British rock group", "Russian president".
_DEMONYM = re.compile(r"^[A-Z][a-z]+(?:ish|ian|ese|ean|an|ic|i)$")
_QUESTION_WORDS = {
    "who", "whom", "whose", "what", "when", "where", "why", "how", "which", "is", "are", "was", "were", "did",
    "does", "do", "can", "could", "will", "would", "has", "have", "had", "and", "the", "a", "an", "in", "on",
    "at", "according", "after", "before", "during", "since", "tell", "name", "list", "give", "so", "but", "then",
    "also", "i", "me", "please", "mr", "mrs", "ms", "dr", "if", "for", "to", "of", "from", "by", "with", "about",
}
_TITLES = {
    "mr", "mrs", "ms", "dr", "president", "minister", "secretary-general", "secretary", "general", "prime",
    "king", "queen", "prince", "princess", "chancellor", "senator", "governor", "mayor", "judge", "pope",
    "head", "leader", "spokesman", "spokeswoman", "chairman", "chairwoman", "chief", "coach", "captain",
    "ceo", "director", "ambassador", "commander", "colonel", "sir", "lady", "lord", "saint", "st",
}
# Words that make a name an organisation or a thing, never "he" or "she".
_ORG_WORDS = {
    "union", "council", "nations", "party", "ministry", "government", "bank", "company", "inc", "corp", "ltd",
    "university", "college", "school", "agency", "association", "committee", "organization", "organisation",
    "alliance", "army", "forces", "court", "parliament", "congress", "senate", "assembly", "league", "club",
    "team", "fund", "foundation", "institute", "commission", "department", "office", "service", "press",
    "news", "times", "post", "tv", "channel", "radio", "network", "group", "airlines", "airways", "motors",
    "stadium", "bowl", "cup", "championship", "games", "river", "sea", "ocean", "mountains", "street", "square",
    "hall", "house", "center", "centre", "hospital", "airport", "station", "bridge", "museum", "church",
    "resolution", "treaty", "act", "war", "campaign", "mission", "summit", "festival", "award", "prize",
}
_PERSON_NOUNS = {
    "person", "man", "woman", "minister", "president", "leader", "head", "chief", "secretary", "secretary-general",
    "spokesman", "spokeswoman", "official", "player", "coach", "quarterback", "son", "daughter", "father",
    "mother", "wife", "husband", "brother", "sister", "king", "queen", "ceo", "chairman", "founder", "owner",
    "director", "manager", "mayor", "governor", "senator", "author", "writer", "singer", "actor", "actress",
    "scientist", "inventor", "architect", "engineer", "chancellor", "ambassador", "commander", "general",
    "winner", "candidate", "member", "judge", "officer", "envoy", "negotiator", "captain", "mvp",
}
_PLACE_NOUNS = {
    "city", "town", "country", "nation", "state", "province", "region", "capital", "village", "place", "county",
    "continent", "island", "port", "venue", "stadium", "district", "area", "location", "site", "building",
}
# Nouns that ask about something ("the name of its leader") rather than name what "it" is.
_GENERIC_NOUNS = {
    "name", "number", "date", "year", "purpose", "reason", "size", "cost", "price", "role", "result", "aim",
    "goal", "position", "title", "population", "capital", "amount", "time", "day", "month", "type", "kind",
    "source", "cause", "effect", "outcome", "status", "value", "location", "part", "rest", "first", "last",
    "main", "latest", "total", "share", "view", "response", "reaction", "answer", "point", "idea", "plan",
}
_TIME_NOUNS = {"year", "month", "day", "date", "time", "decade", "century", "week", "season", "era"}
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DATE = re.compile(
    rf"^(?:(?:early|late|mid|in|on|by|since)\s+)?(?:\d{{1,2}}(?:st|nd|rd|th)?\s+)?(?:{_MONTHS})\b|"
    r"^(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today|tomorrow|last\s+\w+)\b|"
    r"^(?:in\s+)?(?:1[5-9]|20)\d\d(?:s)?\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"^(?:about|around|over|nearly|almost|more than|less than|some|\$|€|£)?\s*[\d.,]+\s*(?:%|percent|million|billion|"
    r"thousand|hundred)?\b|^(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|thousand|dozens?|hundreds|thousands|millions)\b",
    re.IGNORECASE,
)
# Follow-ups that are only a question word ("Why?", "And when?") or a new subject ("What about Lavrov?").
_BARE_WH = re.compile(r"^(?:and|so|but)?\s*(why|when|where|how|who|what)\s*\??$", re.IGNORECASE)
_WHAT_ABOUT = re.compile(r"^(?:(?:and|but)\s+)?(?:what|how)\s+about\s+(.+?)\s*\??$|^and\s+(.+?)\s*\?$", re.IGNORECASE)
_WH_WORD = re.compile(r"^\s*(?:and\s+)?(who|whom|whose|what|when|where|why|how|which)\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    """English names of countries and regions (Babel's CLDR data), for telling places from people."""
    from babel import Locale

    names = set(Locale("en").territories.values())
    return frozenset(n.lower() for n in names)


@dataclass
class Turn:
    """One earlier exchange: the question (as resolved, if it was) and the answer given (None: no answer)."""

    question: str
    answer: str | None = None


@dataclass
class Entity:
    """Something the conversation mentioned: its text and its kind (person, place, date, number or thing)."""

    text: str
    kind: str


@dataclass
class Reading:
    """One way to read the new question.

    Attributes:
        question: What the reader is asked.
        query: What retrieval searches for.
        rewritten: False for the question as asked, True for a reading that uses the conversation.
    """

    question: str
    query: str
    rewritten: bool = False


def as_turn(item: Any) -> Turn:
    """An earlier turn from what callers keep: an :class:`qa.Answer`, a :class:`Turn` or a dict.

    The resolved question is preferred to the question as typed: it names what the turn was about.

    Args:
        item: An object with ``question`` / ``resolved_question`` / ``answer`` attributes, or a dict with those keys.

    Returns:
        The turn.

    Raises:
        ValueError: The item has no question.
    """
    get = item.get if isinstance(item, dict) else lambda k, d=None: getattr(item, k, d)
    question = get("resolved_question") or get("question")
    if not isinstance(question, str) or not question.strip():
        raise ValueError(f"An earlier turn needs a question, got {item!r:.200}")
    answer = get("answer")
    return Turn(question.strip(), answer.strip() if isinstance(answer, str) and answer.strip() else None)


def _kind_of_answer(answer: str, question: str) -> str | None:
    """The kind of an answer, from the question that asked for it and the answer's shape; None: not an entity."""
    text = answer.strip(" .,;:")
    if _DATE.search(text):
        return DATE
    if _NUMBER.match(text):
        return NUMBER
    wh = _WH_WORD.match(question)
    word = wh.group(1).lower() if wh else ""
    after = question[wh.end():].lower().split() if wh else []
    if word == "when":
        return DATE
    if word == "where":
        return PLACE
    if word == "how" and after[:1] in (["many"], ["much"], ["long"], ["old"]):
        return NUMBER
    if not re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.IGNORECASE)[:1].isupper():
        return None  # "excessive use of force": an explanation, not something a pronoun points at
    if word in ("which", "what") and after:
        # The head noun of "Which TV channel ...", "What city ...", "Which Russian president ...".
        for w in after[:4]:
            w = w.strip("?,.").removesuffix("'s").removesuffix("’s")
            if w in _PERSON_NOUNS:
                return PERSON
            if w in _PLACE_NOUNS:
                return PLACE
            if w in _TIME_NOUNS:
                return DATE
            if w in ("is", "was", "are", "were", "did", "does", "do", "has", "had"):
                break
        if after[0] in ("is", "was", "are", "were"):
            return _kind_of_name(text, question)
        return THING  # "Which team ...", "Which TV channel ...", "What tower ..."
    # "Who ...": a person unless the name says otherwise (NATO, the Denver Broncos, Russia)
    return _kind_of_name(text, "" if word in ("who", "whom") else question)


def _kind_of_name(name: str, context: str) -> str:
    """The kind of a capitalised name, from its words and the words before it in ``context``."""
    words = [w.strip(".,;:’'") for w in name.split()]
    lower = [w.lower().removesuffix("’s").removesuffix("'s") for w in words]
    if " ".join(lower) in _countries() or lower[-1] in _countries():
        return PLACE
    if any(w in _ORG_WORDS for w in lower):
        return THING
    if len(words) == 1 and (words[0].isupper() and len(words[0]) > 1 or any(ch.isdigit() for ch in words[0])):
        return THING  # NATO, TNC, TF1
    if any(ch.isdigit() for ch in name):
        return NUMBER
    if context:
        at = context.find(name)
        before = context[:at].lower().split()[-2:] if at > 0 else []
        if before and before[-1].strip(".,") in _TITLES:
            return PERSON
        if before and before[-1] in ("in", "to", "from", "at", "near", "into", "across", "visit", "visited"):
            return PLACE
        if before[-2:-1] and before[-1] == "of" and before[-2] in _PERSON_NOUNS:
            return PLACE  # "the mayor of Port Harlow", "the president of Russia"
        if before and before[-1] == "the":
            return THING  # "the Transitional National Council", "the Denver Broncos"
    return PERSON if 1 <= len(words) <= 4 else THING


def _titled(name: str, context: str) -> bool:
    """Whether a title ("Mr.", "President") comes right before the name."""
    at = context.find(name)
    before = context[:at].lower().split()[-1:] if at > 0 else []
    return bool(before) and before[0].strip(".,") in _TITLES


def _names(question: str) -> list[tuple[int, str]]:
    """Capitalised names in a question with their offsets, question words, titles and adjectives trimmed off.

    A possessive ends a name ("Tesla's AC induction motor" names Tesla).
    """
    out = []
    for m in _NAME.finditer(question):
        run: list[tuple[int, str]] = []  # (offset, word) of the current name
        words = [(m.start() + w.start(), w.group(0)) for w in re.finditer(r"\S+", m.group(0))]
        for i, (at, w) in enumerate(words):
            plain = w.lower().strip(".,")
            if not run and (plain in _QUESTION_WORDS or plain in _TITLES):
                continue
            if not run and _DEMONYM.match(w) and (i + 1 == len(words)) and re.match(r"\s+[a-z]", question[at + len(w):]):
                continue
            run.append((at, w))
            if w.endswith(("'s", "’s")) or i + 1 == len(words):
                name = re.sub(r"(’s|'s)$", "", " ".join(x for _, x in run)).strip(" .,;:")
                if name:
                    out.append((run[0][0], name))
                run = []
    return out


def _entities(turn: Turn) -> list[Entity]:
    """What a turn was about, the answer first (the newest thing said), then the names in its question."""
    out = []
    if turn.answer and len(turn.answer.split()) <= 8:
        kind = _kind_of_answer(turn.answer, turn.question)
        if kind:
            out.append(Entity(turn.answer.strip(" .,;:"), kind))
    for at, name in _names(turn.question):
        kind = _kind_of_name(name, turn.question)
        the = "the " if kind != PERSON and turn.question[:at].lower().endswith("the ") else ""
        out.append(Entity(the + name, kind))  # "the Transitional National Council", as the question had it
    return out


def _bound(question: str, match: re.Match) -> bool:
    """Whether a pronoun's referent is in the question itself ("What did NATO say about its mission?")."""
    word = match.group(0).lower()
    if word == "it" and _DUMMY_IT.search(question):
        return True
    kinds = _PRONOUN_KINDS[word]
    before = question[: match.start()]
    for at, name in _names(question):
        # A name before the pronoun, or after it when the pronoun opens a clause ("In his speech, what did X say?").
        if at < match.start() or "," in question[match.end() : at]:
            if _kind_of_name(name, question) in kinds:
                return True
            # A single unknown name ("Moscow", "Denver") may well be a place or a team: give "it" the benefit.
            if PERSON not in kinds and len(name.split()) == 1 and not _titled(name, question):
                return True
    low = before.lower()
    if word in ("they", "them", "their", "theirs"):  # "the rebels ... their"
        return bool(re.search(r"\b(?:the|these|those|both)\s+(?:\w+\s+)?\w+s\b", low))
    if PERSON in kinds:  # "the minister ... his"
        return any(re.search(rf"\b(?:the|a|an|this|that)\s+(?:\w+\s+)?{n}\b", low) for n in _PERSON_NOUNS)
    # "the alliance ... its"; not "the name of its leader" (a word of the question, not a referent)
    for m in re.finditer(r"\b(?:the|this|that)\s+([\w-]+)(?:\s+([\w-]+))?", low):
        # The noun phrase's head: its second word unless that is already past it ("the name of").
        noun = m.group(2) if m.group(2) and m.group(2) not in _AFTER_OBJECT_HER | {"is", "was", "did", "does"} else m.group(1)
        if noun not in _GENERIC_NOUNS and noun not in _PERSON_NOUNS and not noun.endswith("s"):
            return True
    return False


def unbound_pronoun(question: str) -> re.Match | None:
    """The first pronoun whose referent is not in the question itself (None: the question stands alone)."""
    for m in _PRONOUN.finditer(question):
        if not _bound(question, m):
            return m
    return None


def _substitute(question: str, match: re.Match, entity: str) -> str:
    word = match.group(0).lower()
    possessive = word in _POSSESSIVE
    if word == "her":
        nxt = re.match(r"\s+([A-Za-z’'-]+)", question[match.end():])
        possessive = bool(nxt) and nxt.group(1).lower() not in _AFTER_OBJECT_HER
    # "Clearline Utilities'", "Jalil's"
    text = (entity + ("'" if entity.endswith("s") else "'s")) if possessive else entity
    return question[: match.start()] + text + question[match.end():]


def _referents(kinds: set[str], history: list[Turn], question: str, n: int = 2) -> list[Entity]:
    """The ``n`` newest distinct entities of the conversation whose kind fits the pronoun, newest first.

    An entity the question names itself is not what its pronoun stands for ("When did he hire Tesla?").
    """
    out: list[Entity] = []
    for turn in reversed(history):
        for e in _entities(turn):
            if e.text.lower().removeprefix("the ") in question.lower():
                continue
            if e.kind in kinds and all(e.text.lower() != o.text.lower() for o in out):
                out.append(e)
                if len(out) == n:
                    return out
    return out


def _elliptical(question: str, history: list[Turn]) -> str | None:
    """"Why?" / "And when?" / "What about Lavrov?" made whole from the previous question, or None."""
    last = history[-1].question
    bare = _BARE_WH.match(question)
    if bare:
        wh = _WH_WORD.match(last)
        if wh and wh.group(1).lower() != bare.group(1).lower():
            return last[: wh.start(1)] + bare.group(1).capitalize() + last[wh.end(1):]
        return None
    about = _WHAT_ABOUT.match(question)
    if about:
        new = re.sub(r"(’s|'s)$", "", (about.group(1) or about.group(2) or "").strip())
        if not new or len(new.split()) > 5 or new.split()[0].lower() in _QUESTION_WORDS | set(_PRONOUN_KINDS):
            return None  # "And when did he resign?" is a question of its own
        names = _names(last)
        if new and names:
            at, old = names[-1]
            return last[:at] + new + last[at + len(old):]
    return None


def readings(question: str, history: Iterable[Any] | None = None, max_rewrites: int = 2) -> list[Reading]:
    """The ways to read a question: as asked, then (when it leans on the conversation) rewritten.

    A pronoun can fit more than one earlier entity ("Who did Tesla work for?" "Thomas Edison." "When
    did he emigrate?"): the newest ``max_rewrites`` fitting entities each give a reading.

    Args:
        question: The new question.
        history: Earlier turns, oldest first: :class:`qa.Answer` objects, :class:`Turn` objects or dicts
            with ``question`` (or ``resolved_question``) and ``answer``.

        max_rewrites: Most rewritten readings (each costs a retrieval and a read).

    Returns:
        The question as asked first, then up to ``max_rewrites`` rewrites.
    """
    question = question.strip()
    asked = Reading(question, question)
    turns = [as_turn(t) for t in history or []]
    if not turns:
        return [asked]
    rewrite = _elliptical(question, turns)
    if rewrite:
        # Retrieval also sees the previous question, so a short follow-up stays on its topic.
        return [asked, Reading(rewrite, f"{rewrite} {turns[-1].question}", True)]
    m = unbound_pronoun(question)
    if m is None:
        return [asked]
    out = [asked]
    for entity in _referents(_PRONOUN_KINDS[m.group(0).lower()], turns, question, max_rewrites):
        rewrite = _substitute(question, m, entity.text)
        out.append(Reading(rewrite, rewrite, True))
    return out


def choose(answers: Sequence[Any]) -> int:
    """Which reading's answer to keep: the one the reader is surer of.

    Args:
        answers: One :class:`qa.Answer` per reading, in the order of :func:`readings` (as asked first).

    Returns:
        The index of the answer with the highest margin (``score``) among those found, the
        question as asked on a tie. When no reading is answered, the best rewrite: its "Read as"
        and closest passages say more than a bare pronoun.
    """
    found = [i for i, a in enumerate(answers) if a.found]
    pool = found or list(range(1, len(answers))) or [0]
    return max(pool, key=lambda i: answers[i].score)  # max keeps the first on a tie
