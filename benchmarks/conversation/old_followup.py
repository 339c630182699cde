"""Follow-up questions: resolve pronouns and short questions from the conversation so far.

A small rule-based resolver, not a coreference model: no such model ships on PyPI,
and the common chat case ("Who heads the TNC?" then "When did he resign?") needs
only the entity the previous turn was about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PRONOUN = re.compile(r"\b(he|she|him|his|her|hers|they|them|their|it|its)\b", re.IGNORECASE)
_POSSESSIVE = {"his", "their", "its", "hers"}
# Runs of capitalised words, allowing short joiners: "Anders Fogh Rasmussen", "Saif al-Islam Gadhafi".
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:(?:al|el|de|von|van|bin|of|the)[-\s])?[A-Z][\w'’.-]*)*")
_QUESTION_WORDS = {"who", "what", "when", "where", "why", "how", "which", "whom", "whose", "is", "are", "was",
                   "were", "did", "does", "do", "can", "could", "will", "would", "has", "have", "and", "the", "a"}


@dataclass
class Turn:
    """One earlier exchange: the question as resolved, and the answer given (None: no answer)."""

    question: str
    answer: str | None = None


@dataclass
class Resolved:
    """A question made self-contained.

    Attributes:
        question: What the reader is asked.
        query: What retrieval searches for.
        changed: Whether the conversation was used.
    """

    question: str
    query: str
    changed: bool = False


def _entity(turn: Turn) -> str | None:
    """The thing a turn was about: the answer if it is a name, else the last name in the question."""
    if turn.answer and turn.answer[:1].isupper() and len(turn.answer.split()) <= 6:
        return turn.answer.strip(" .,;:")
    names = [m.group(0).strip() for m in _NAME.finditer(turn.question)]
    names = [n for n in names if n.split()[0].lower() not in _QUESTION_WORDS or len(n.split()) > 1]
    names = [" ".join(w for w in n.split() if w.lower() not in _QUESTION_WORDS) for n in names]
    names = [n for n in names if n]
    return names[-1] if names else None


def needs_context(question: str) -> bool:
    """True for questions that lean on earlier turns: pronouns, or three words or fewer."""
    return bool(_PRONOUN.search(question)) or len(question.split()) <= 3


def resolve(question: str, history: list[Turn]) -> Resolved:
    """Rewrite a follow-up question using the conversation.

    Args:
        question: The new question.
        history: Earlier turns, oldest first.

    Returns:
        The question for the reader and the query for retrieval.
    """
    question = question.strip()
    if not history or not needs_context(question):
        return Resolved(question, question)
    last = history[-1]
    entity = _entity(last)
    rewritten = question
    if entity and _PRONOUN.search(question):

        def swap(m: re.Match) -> str:
            word = m.group(0).lower()
            if word in _POSSESSIVE or (word == "her" and re.match(r"\s+[a-z]", question[m.end():] or "")):
                return f"{entity}'s"
            return entity

        rewritten = _PRONOUN.sub(swap, question, count=1)
    # Retrieval also sees the previous question, so "And in March?" stays on topic.
    query = f"{rewritten} {last.question}" if rewritten == question or len(question.split()) <= 3 else rewritten
    return Resolved(rewritten, query, True)
