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
* Which earlier entity fits the pronoun? Each entity gets a kind (person, group of
  people, place, date, number, thing) from the question that produced it ("When ..." ->
  a date, "Which TV channel ..." -> a thing, "Who ..." -> a person) and from its shape
  and the words around it ("Hollis Grant Securities", "rival Kelvane Systems",
  "Veltrix's chief executive": organisations); "he"/"she" take only a person, "it"/"its"
  only a thing (an organisation, a team) or a place, "they" those or a group of people
  ("State investigators", "Beyonce and Bruno Mars"), never one person.
* What was the conversation about when no name was said? A role ("the former chief
  executive of Veltrix", "the mayor's brother-in-law") is a person, "investigators" a group.

Names are matched as whole words ("US" is not in "status", "Ali" not in "Mali").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Sequence

PERSON, GROUP, PLACE, DATE, NUMBER, THING = "person", "group", "place", "date", "number", "thing"

# Which kinds of entity each pronoun may stand for.
_PRONOUN_KINDS: dict[str, set[str]] = {
    **dict.fromkeys(("he", "him", "his", "she", "her", "hers"), {PERSON}),
    **dict.fromkeys(("it", "its"), {THING, PLACE}),
    # "they": a team, a band, a company, a country's government, or people (never one person)
    **dict.fromkeys(("they", "them", "their", "theirs"), {THING, PLACE, GROUP}),
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
# Words for what a person is or does: before a name they make it a person ("analyst Marcus Feld",
# "chief executive Harald Brennecke"); after "the" they are a referent of their own ("the former
# chief executive"). Wider than _PERSON_NOUNS, which also decides when a question binds its own "his".
_ROLES = {
    "executive", "officer", "chair", "chairperson", "president", "vice-president", "founder", "co-founder",
    "owner", "analyst", "economist", "engineer", "lawyer", "attorney", "counsel", "prosecutor", "auditor",
    "investigator", "inspector", "detective", "sheriff", "commissioner", "regulator", "judge",
    "magistrate", "juror", "witness", "defendant", "suspect", "victim", "survivor", "reporter",
    "journalist", "editor", "correspondent", "columnist", "photographer", "presenter", "host", "actor",
    "doctor", "surgeon", "nurse", "teacher", "professor", "student", "researcher", "expert", "adviser",
    "advisor", "aide", "deputy", "assistant", "secretary", "treasurer", "clerk", "councillor", "councilor",
    "councilman", "councilwoman", "lawmaker", "legislator", "mp", "politician", "candidate", "challenger",
    "incumbent", "nominee", "businessman", "businesswoman", "entrepreneur", "banker", "investor", "trader",
    "shareholder", "employee", "worker", "miner", "pilot", "driver", "captain", "skipper",
    "soldier", "general", "colonel", "commander", "firefighter", "rescuer", "manager", "coach",
    "player", "striker", "midfielder", "defender", "goalkeeper", "quarterback", "linebacker", "athlete",
    "runner", "champion", "medallist", "medalist", "referee", "caretaker", "successor", "predecessor",
    "spokesperson", "representative", "envoy", "mediator", "negotiator", "diplomat", "official", "chief",
    "boss", "head", "leader", "director", "minister", "mayor", "governor", "senator", "ceo", "cfo", "coo",
    "cto", "chairman", "chairwoman", "spokesman", "spokeswoman", "secretary-general", "president-elect",
    "husband", "wife", "son", "daughter", "father", "mother", "brother", "sister", "brother-in-law",
    "sister-in-law", "son-in-law", "daughter-in-law", "father-in-law", "mother-in-law", "uncle", "aunt",
    "nephew", "niece", "cousin", "grandson", "granddaughter", "partner", "girlfriend", "boyfriend",
    "fiancé", "fiancée", "widow", "widower", "friend", "colleague", "rival", "opponent", "ally", "man",
    "woman", "boy", "girl", "singer", "writer", "author", "artist", "inventor", "architect", "scientist",
    "physicist", "chemist", "designer", "member", "heir", "king", "queen", "prince", "princess", "pope",
}
# People in the plural, said without "the" ("When did investigators search City Hall?"): "they" may be these.
_PEOPLE_BARE = {
    "investigators", "prosecutors", "detectives", "police", "officials", "authorities", "rebels", "shareholders",
    "investors", "analysts", "economists", "experts", "workers", "employees", "staff", "miners", "nurses",
    "teachers", "doctors", "lawyers", "jurors", "judges", "voters", "residents", "passengers", "customers",
    "protesters", "demonstrators", "fans", "supporters", "troops", "soldiers", "firefighters", "rescuers",
    "students", "researchers", "scientists", "engineers", "executives", "lawmakers", "legislators",
    "councillors", "ministers", "diplomats", "negotiators", "mediators", "players", "creditors", "depositors",
    "savers", "victims", "survivors", "witnesses", "families", "relatives", "parents", "children", "people",
    "villagers", "farmers", "citizens", "crew", "crews", "journalists", "reporters", "men", "women",
    "guests", "performers", "musicians", "bidders", "buyers", "tenants", "patients", "spokesmen",
}
# ... and after "the" (or "Veltrix's"), where a plural is not a verb: "the pilots", "the union's members".
_PEOPLE = _PEOPLE_BARE | {r + "s" for r in _ROLES if not r.endswith(("man", "woman", "s", "y", "ch", "sh", "law"))} | {
    "attorneys", "secretaries", "deputies", "spokeswomen", "chairmen", "businessmen", "councilmen",
    "brothers-in-law", "members",
}
# Things that are "it" but never "they" (which is people or an organisation): places made by hand,
# events, documents, prizes ("City Hall", "Super Bowl 50", "the resolution").
_OBJECT_WORDS = {
    "stadium", "bowl", "cup", "championship", "games", "river", "sea", "ocean", "mountains", "street", "square",
    "hall", "house", "center", "centre", "airport", "station", "bridge", "museum", "church", "resolution",
    "treaty", "act", "war", "campaign", "mission", "summit", "festival", "award", "prize", "tower", "dam",
    "chip", "road", "park", "building", "mine", "plant", "factory", "report", "law", "bill", "contract",
}
# Nouns a name is put before to say what a story is about: "the Halloway inquiry", "the Brackenford housing
# contract". Such a name is neither the thing ("the Halloway" is not a referent) nor surely a person.
_ABOUT_NOUNS = _OBJECT_WORDS | {
    "case", "inquiry", "investigation", "trial", "deal", "settlement", "housing", "halftime", "show", "game",
    "project", "scandal", "affair", "probe", "merger", "takeover", "bid", "offer", "talks", "dispute", "row",
    "saga", "story", "crisis", "plan", "programme", "program", "launch", "recall", "collapse", "era", "years",
    "administration", "regime", "verdict", "hearing", "lawsuit", "suit", "charges", "sentence", "election",
}
# Kinds of organisation: before a name they make it one ("rival Kelvane Systems", "the company Veltrix").
_ORG_NOUNS = {
    "company", "firm", "group", "carrier", "airline", "chipmaker", "maker", "manufacturer", "bank", "lender",
    "insurer", "retailer", "operator", "platform", "startup", "start-up", "supplier", "contractor",
    "broadcaster", "network", "channel", "newspaper", "paper", "magazine", "agency", "regulator", "club",
    "team", "band", "union", "party", "charity", "fund", "subsidiary", "unit", "label", "studio", "utility",
    "conglomerate", "giant", "automaker", "carmaker", "drugmaker", "distributor", "exchange",
}
# What an organisation or a country has and a person does not: "Veltrix's chief executive", "Tessel's customers".
_ORG_HAS = {
    "ceo", "cfo", "board", "shares", "stock", "shareholders", "investors", "employees", "workers", "customers",
    "clients", "headquarters", "revenue", "revenues", "profit", "profits", "forecast", "chair", "chairman",
    "chairwoman", "founder", "founders", "executives", "management", "directors", "subsidiary", "factory",
    "factories", "plant", "plants", "mine", "offices", "editor", "mayor", "president", "council", "capital",
    "population", "citizens", "residents", "fleet", "products", "owners", "owner", "players", "stadium",
    "airport", "budget", "deficit", "economy", "parliament",
}
# "X's chief executive" (an organisation's), not "X's chief of staff" (a person's too).
_CHIEF_OF_ORG = {"executive", "executives", "financial", "operating", "technology", "technical", "information"}
# Words between "the" and a role that are part of it: "the former chief executive", "the acting mayor".
_ROLE_ADJECTIVES = {"former", "new", "interim", "acting", "then", "current", "outgoing", "incoming", "late", "ex",
                    "suspended", "deputy", "vice", "assistant", "first", "last", "previous", "permanent"}
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
    # the last word of a company's name
    "securities", "capital", "partners", "holdings", "industries", "enterprises", "technologies", "technology",
    "systems", "solutions", "construction", "semiconductor", "semiconductors", "energy", "resources", "mining",
    "oil", "gas", "utilities", "pharmaceuticals", "pharma", "labs", "laboratories", "finance",
    "financial", "trading", "investments", "insurance", "media", "communications", "telecom", "air",
    "aviation", "ferries", "shipping", "lines", "logistics", "foods", "brewing", "brewery", "research",
    "consulting", "advisors", "advisers", "associates", "ventures", "trust", "cloud", "software", "networks",
    "electric", "electronics", "steel", "chemicals", "drilling", "exploration", "developments", "properties",
    "realty", "retail", "stores", "markets", "health", "healthcare", "therapeutics", "biotech", "robotics",
    "dynamics", "aerospace", "defence", "defense", "rail", "railways", "transport", "motor", "automotive",
    "plc", "llc", "llp", "gmbh", "sa", "ag", "co", "corporation", "limited", "incorporated", "wire",
    "gazette", "herald", "tribune", "journal", "courier", "athletic", "united", "rovers",
    "wanderers", "albion", "fc", "board", "authority", "tribunal", "police",
    "regulator", "bureau", "directorate", "embassy", "consulate", "cabinet", "administration",
    "federation", "confederation", "society", "coalition", "movement", "brigade", "battalion",
    "division", "corps", "fleet", "navy", "airforce",
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


def _find(text: str, name: str, start: int = 0) -> int:
    """Where ``name`` first occurs in ``text`` as whole words (-1: nowhere).

    Case is ignored, except for a name in capitals, which must be in capitals ("US" is not "us").
    """
    if not name:
        return -1
    flags = 0 if name.isupper() and len(name) > 1 else re.IGNORECASE
    m = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", flags).search(text, start)
    return m.start() if m else -1


def _mentions(text: str, name: str) -> bool:
    """Whether ``text`` says ``name`` as whole words: "Ali" is not in "Mali", "US" not in "status"."""
    return _find(text, name) >= 0


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
    """Something the conversation mentioned: its text and its kind (person, group, place, date, number or thing).

    ``guessed``: the kind is only the default for a short capitalised name (a person), with nothing
    around the name to say so; another turn may know better ("Veltrix" is "Veltrix Semiconductor").
    """

    text: str
    kind: str
    guessed: bool = False


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
    if _plural_people(text):
        return GROUP  # "State investigators", "a group of Veltrix shareholders", "Beyonce and Bruno Mars"
    if not re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.IGNORECASE)[:1].isupper():
        return None  # "excessive use of force": an explanation, not something a pronoun points at
    if word in ("which", "what") and after:
        # The head noun of "Which TV channel ...", "What city ...", "Which Russian president ...".
        for w in after[:4]:
            w = w.strip("?,.").removesuffix("'s").removesuffix("’s")
            if w in _PERSON_NOUNS:
                return PERSON
            if w in _PEOPLE:
                return GROUP
            if w in _ORG_NOUNS:
                return THING
            if w in _PLACE_NOUNS:
                return PLACE
            if w in _TIME_NOUNS:
                return DATE
            if w in ("is", "was", "are", "were", "did", "does", "do", "has", "had", "the", "a", "an"):
                break  # past the head noun: "Which body represents the rebels ..." asks for a body
        if after[0] in ("is", "was", "are", "were"):
            return _kind_of_name(text, question)
        return THING  # "Which team ...", "Which TV channel ...", "What tower ..."
    # "Who ...": a person unless the name says otherwise (NATO, the Denver Broncos, Russia)
    return _kind_of_name(text, "" if word in ("who", "whom") else question)


def _plural_people(text: str) -> bool:
    """Whether an answer names people in the plural: "State investigators", "Beyonce and Bruno Mars"."""
    words = [w.strip(".,;:’'") for w in text.split()]
    if not words:
        return False
    if words[-1].lower() in _PEOPLE and not any(w.lower() in _ORG_WORDS for w in words[:-1]):
        return True
    parts = [p.strip() for p in re.split(r",|\band\b", text) if p.strip()]
    # Two or more people: every part a short capitalised name, none an organisation's or a country's.
    return len(parts) > 1 and " and " in text and all(
        p[:1].isupper() and len(p.split()) <= 4 and _kind_of_name(p, "") == PERSON for p in parts)


def _kind_of_name(name: str, context: str) -> str:
    """The kind of a capitalised name, from its words and the words around it in ``context``."""
    words = [w.strip(".,;:’'") for w in name.split()]
    lower = [w.lower().removesuffix("’s").removesuffix("'s") for w in words]
    if not words:
        return THING
    if " ".join(lower) in _countries() or lower[-1] in _countries():
        return PLACE
    # A title or role inside the name: "Mayor Desmond Halloway", "Chief Financial Officer Dana Whitcombe".
    roles = [i for i, w in enumerate(lower[:-1]) if w in _TITLES or w in _ROLES]
    if roles and not any(w in _ORG_WORDS for w in lower[roles[-1] + 1:]) and len(words) - roles[-1] - 1 <= 4:
        return PERSON
    if any(w in _ORG_WORDS for w in lower):
        return THING
    if len(words) == 1 and (words[0].isupper() and len(words[0]) > 1 or any(ch.isdigit() for ch in words[0])):
        return THING  # NATO, TNC, TF1
    if any(ch.isdigit() for ch in name):
        return NUMBER
    at = _find(context, name) if context else -1
    if at >= 0:
        before = context[:at].lower().split()[-2:]
        word = before[-1].strip(".,") if before else ""
        if word in _TITLES or word in _ROLES:
            return PERSON  # "analyst Marcus Feld", "chief executive Harald Brennecke"
        if word in _ORG_NOUNS:
            return THING  # "the company Veltrix", "broadcaster TF1"
        if word in ("in", "to", "from", "at", "near", "into", "across", "visit", "visited"):
            return PLACE
        if before[-2:-1] and word == "of" and (before[-2] in _PERSON_NOUNS or before[-2] in _ROLES):
            return PLACE  # "the mayor of Port Harlow", "the president of Russia"
        after = context[at + len(name):]
        # What an organisation has: "Veltrix's former chief executive", "Tessel's customers".
        has = re.match(r"(?:'s|’s)\s+(?:(?:" + "|".join(_ROLE_ADJECTIVES) + r")\s+)*([\w-]+)(?:\s+([\w-]+))?", after)
        if has and (has.group(1).lower() in _ORG_HAS
                    or has.group(1).lower() == "chief" and (has.group(2) or "").lower() in _CHIEF_OF_ORG):
            return THING
        # "Who did Veltrix name as its chief executive?": the "its" that follows, with no other name between.
        its = re.search(r"\bits\b", after)
        if its and not re.search(r"\b[A-Z]", after[: its.start()]) and len(words) == 1:
            return THING
        if word == "the":
            return THING  # "the Transitional National Council", "the Denver Broncos"
    return PERSON if 1 <= len(words) <= 4 else THING


def _guessed(name: str, context: str) -> bool:
    """Whether a name's kind is only the default: a person, for want of anything else to go on."""
    if _kind_of_name(name, context) != PERSON or any(w.lower() in _TITLES | _ROLES for w in name.split()[:-1]):
        return False
    at = _find(context, name)
    before = context[:at].lower().split()[-1:] if at > 0 else []
    return not (before and before[0].strip(".,") in _TITLES | _ROLES)  # "analyst Marcus Feld" is no guess


def _titled(name: str, context: str) -> bool:
    """Whether a title ("Mr.", "President") comes right before the name."""
    at = _find(context, name)
    before = context[:at].lower().split()[-1:] if at > 0 else []
    return bool(before) and before[0].strip(".,") in _TITLES


_DETERMINERS = {"which", "what", "whose", "the", "a", "an", "his", "her", "its", "their", "of", "by", "to", "for",
                "with", "and", "from", "in", "on", "at", "about", "against", "between", "this", "that", "these", "those"}


def _adjective(question: str, at: int, word: str) -> bool:
    """Whether a capitalised word shaped like a demonym is one ("Which British rock group", "the Libyan
    government", "Russian officials") rather than a name ("What did minister Ali sign?", "Did Brennan say")."""
    nxt = re.match(r"\s+([a-z][\w-]*)", question[at + len(word):])
    if not _DEMONYM.match(word) or not nxt:
        return False
    before = question[:at].split()
    prev = before[-1].lower().strip(",.") if before else ""
    noun = nxt.group(1)
    return prev in _DETERMINERS or not prev or noun in _PEOPLE or noun in _ROLES or noun in _ORG_NOUNS or noun in _PERSON_NOUNS


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
            if not run and i + 1 == len(words) and _adjective(question, at, w):
                continue
            run.append((at, w))
            if w.endswith(("'s", "’s")) or i + 1 == len(words):
                name = re.sub(r"(’s|'s)$", "", " ".join(x for _, x in run)).strip(" .,;:")
                if name:
                    out.append((run[0][0], name))
                run = []
    return out


# Words that end a role's phrase when walking back from its noun: "When did the ...", "Who replaced ...".
_NOT_MODIFIERS = _QUESTION_WORDS | {
    "say", "said", "says", "tell", "told", "ask", "asked", "be", "been", "being", "become", "became", "as",
    "than", "that", "this", "these", "those", "his", "her", "its", "their", "our", "your", "my", "who",
    "which", "there", "not", "no", "or", "nor", "into", "over", "under", "between", "against", "without",
}


def _roles(question: str) -> list[tuple[int, Entity]]:
    """People a question names by their role, with their offsets: "the former chief executive of Veltrix"
    (a person), "the mayor's brother-in-law", "Tessel's founder", "investigators" (a group).

    A role right before a name is that name's title ("chief executive Harald Brennecke"), not a referent
    of its own; a role after "his" or "their" is left alone (whose it is is the question).
    """
    toks = [(m.start(), m.group(0)) for m in re.finditer(r"[\w’'-]+", question)]
    plain = [w.lower().removesuffix("’s").removesuffix("'s") for _, w in toks]
    out = []
    for h, (at, w) in enumerate(toks):
        noun, possessive = plain[h], plain[h] != w.lower()
        singular, plural = noun in _ROLES, noun in _PEOPLE
        if possessive or not (singular or plural) or any(x in _ROLES for x in plain[h + 1:h + 3]):
            continue  # "the mayor's ..." (the noun is further on), "chief (operating) officer" (the noun is "officer")
        nxt = toks[h + 1][1] if h + 1 < len(toks) and question[at + len(w):toks[h + 1][0]].strip() == "" else ""
        if nxt[:1].isupper():
            continue  # "chief executive Harald Brennecke": a title
        # Back to the determiner over at most four modifiers: "the former chief executive", "the Tessel founder".
        start, i = None, h - 1
        while i >= 0 and h - i <= 5:
            word, text = plain[i], toks[i][1]
            gap = question[toks[i][0] + len(text):toks[i + 1][0]]
            if gap.strip():
                break  # punctuation between: another phrase
            if word in ("the", "this", "that") and text.lower() == word:
                start = i
                break
            if text.lower() != word:  # a possessive: "Veltrix's", "the mayor's"
                if word in _PRONOUN_KINDS:
                    break  # "his lawyer": whose is the question
                start = i - 1 if i > 0 and plain[i - 1] == "the" else i
                break
            if word in _NOT_MODIFIERS:
                break
            i -= 1
        if start is None:
            if not (noun in _PEOPLE_BARE and h > 0 and plain[h - 1] in _NOT_MODIFIERS | {"and"}):
                continue
            start = h  # "When did investigators search City Hall?"
        end = at + len(w)
        of = re.match(r"\s+of\s+((?:the\s+)?[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*)", question[end:])
        if of:
            end += of.end()  # "the acting mayor of Brackenford"
        text = question[toks[start][0]:end].strip(" ?.,;:")
        out.append((toks[start][0], Entity(text, GROUP if plural and not singular else PERSON)))
    return out


def _answer_name(answer: str | None) -> str | None:
    """The part of an earlier answer a pronoun can point at: all of a short one, the name that opens a
    long one ("Tomasz Reinholt, the chief operating officer of rival Kelvane Systems"); None: none."""
    if not answer:
        return None
    text = answer.strip(" .,;:")
    head = text.split(",")[0].strip()
    if head != text and head[:1].isupper() and len(head.split()) <= 5:
        return head
    return text if len(text.split()) <= 8 else None


def _entities(turn: Turn) -> list[Entity]:
    """What a turn was about, the answer first (the newest thing said), then the names and roles in its
    question, in the order it says them."""
    out = []
    answer = _answer_name(turn.answer)
    answer_kind = _kind_of_answer(answer, turn.question) if answer else None
    if answer and answer_kind:
        the = "the " if answer_kind == PLACE and answer.isupper() and len(answer) <= 4 else ""  # "the US", "the UK"
        out.append(Entity(the + answer, answer_kind))
    said = []
    for at, name in _names(turn.question):
        after = re.match(r"\s+([a-z]+)", turn.question[at + len(name):])
        if turn.question[:at].lower().endswith("the ") and after and after.group(1) in _ABOUT_NOUNS:
            continue  # "the Halloway inquiry": what the question is about is the inquiry
        kind = _kind_of_name(name, turn.question)
        the = "the " if kind != PERSON and turn.question[:at].lower().endswith("the ") else ""
        # "the Transitional National Council", as the question had it
        said.append((at, Entity(the + name, kind, kind == PERSON and _guessed(name, turn.question))))
    # "Who is the Libyan government spokesman?" "Musa Ibrahim": the role is the answer, said once.
    copula = re.match(r"\s*(?:and\s+)?who\s+(?:is|was|are|were)\s+", turn.question, re.IGNORECASE)
    said += [(at, e) for at, e in _roles(turn.question) if not (copula and at == copula.end() and answer_kind in (PERSON, GROUP))]
    return out + [e for _, e in sorted(said, key=lambda x: x[0])]


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

    An entity the question names itself is not what its pronoun stands for ("When did he hire Tesla?"),
    said as whole words: "Ali" is still a referent of a question about Mali.
    """
    out: list[Entity] = []
    said = [e for turn in history for e in _entities(turn)]
    for turn in reversed(history):
        for e in _entities(turn):
            if _mentions(question, re.sub(r"^the\s+", "", e.text, flags=re.IGNORECASE)):
                continue
            if e.guessed:
                e.kind = _known_kind(e, said)
            if GROUP in kinds and e.kind == THING and e.text.split()[-1].lower() in _OBJECT_WORDS:
                continue  # "they" are people or an organisation, not City Hall
            if e.kind in kinds and all(e.text.lower() != o.text.lower() for o in out):
                out.append(e)
                if len(out) == n:
                    return out
    return out


def _known_kind(entity: Entity, said: list[Entity]) -> str:
    """The kind of a name that was only guessed a person, from what other turns knew of it: the same
    name, or a longer one it opens ("Veltrix" after "Which company ...?" "Veltrix Semiconductor")."""
    name = entity.text.lower()
    for e in said:
        if e.guessed or e.kind not in (THING, PLACE):
            continue
        other = re.sub(r"^the\s+", "", e.text.lower())
        if other == name or len(name.split()) == 1 and other.split()[0] == name:
            return e.kind
    return entity.kind


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


def choose_reading(answers: Sequence[Any]) -> int:
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
    return max(pool, key=lambda i: answers[i].margin)  # max keeps the first on a tie
