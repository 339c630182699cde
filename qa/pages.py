"""Pages of PDF articles: the page a citation is on, from the page marks in its article's text.

A PDF's text holds a form feed between pages (:mod:`qa.formats.pdf`), and passages point into
that text by character offsets, so a citation's page follows from where its answer (else its
passage) starts: nothing about pages is stored beside the text, and both stores serve it as is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import PurePath

from qa.formats.pdf import page_at
from qa.retrieval import Citation, Source

PAGED_SUFFIXES = (".pdf",)


def is_paged(source: str) -> bool:
    """Whether an article read from ``source`` (its file, relative to the folder) has pages."""
    return PurePath(source or "").suffix.lower() in PAGED_SUFFIXES


def add_pages(citations: Iterable[Source], texts: Callable[[Sequence[str]], dict[str, str]]) -> None:
    """Set ``page`` on each citation of a PDF article (in place); others keep None.

    Args:
        citations: Citations, of any articles.
        texts: Article ids -> their texts (one call for all the PDF articles cited; ids it does
            not return, an article gone from the index meanwhile, get no page).
    """
    paged = [c for c in citations if is_paged(c.source)]
    if not paged:
        return
    found = texts(list(dict.fromkeys(c.article_id for c in paged)))
    for c in paged:
        text = found.get(c.article_id)
        if text is None:
            continue
        at = c.answer_start if isinstance(c, Citation) else c.passage_start
        c.page = page_at(text, at)
