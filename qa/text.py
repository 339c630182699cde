"""Text normalisation shared by answering and evaluation (a leaf module: no qa imports)."""

from __future__ import annotations

import re
import string

_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation, articles and extra white space (official SQuAD).

    Serving compares answer texts with it too (two articles saying "the $4.20" and "$4.20"
    give one answer), so that what evaluation counts as the same answer is what the chat merges.
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())
