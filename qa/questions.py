"""The one limit on how long a question may be, with the message every front end shows."""

from __future__ import annotations

DEFAULT_MAX_QUESTION_CHARS = 1000


class QuestionTooLong(ValueError):
    """A question over ``Config.max_question_chars``; the message says the limit and how to change it."""


def check_question_length(question: str, max_chars: int = DEFAULT_MAX_QUESTION_CHARS) -> None:
    """Refuse a question longer than the limit, with a message a user can act on.

    Args:
        question: The question as typed.
        max_chars: The limit (``Config.max_question_chars``, env ``QA_MAX_QUESTION_CHARS``).

    Raises:
        QuestionTooLong: The question is longer than ``max_chars`` characters.
    """
    if len(question) > max_chars:
        raise QuestionTooLong(
            f"The question is too long ({len(question):,} characters); please keep it under {max_chars:,} "
            "characters (the limit is set by QA_MAX_QUESTION_CHARS)."
        )
