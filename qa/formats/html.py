"""HTML articles (.html): the story's text, title, date, author and canonical URL."""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from qa.formats import Fields
from qa.formats.dates import parse_date

# trafilatura logs pages it finds no text in at ERROR; we report those ourselves, once.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)


@functools.cache
def _config():
    from trafilatura.settings import use_config

    config = use_config()
    # trafilatura returns nothing below 250 characters of text, a size it expects of web
    # pages; a short article or a brief is still an article here.
    config["DEFAULT"]["MIN_EXTRACTED_SIZE"] = "1"
    return config


def _scope(tree):
    """The part of the page that holds the story, when the markup says so.

    A page's one ``<article>`` that holds its ``<h1>``, else its ``<main>``. Measured on
    the pages in ``benchmarks/data/html`` (``benchmarks/html_extraction.py``): teaser
    cards before and after the story are ``<article>`` elements too, and trafilatura
    alone took their text in (word precision 0.64 on that page; 0.95 with this scope).
    """
    with_h1 = [a for a in tree.iter("article") if a.find(".//h1") is not None]
    if len(with_h1) == 1:
        return with_h1[0]
    return tree.find(".//main")


def parse_html(text: str, reference: datetime | None = None) -> Fields:
    """The article in an HTML page, as plain text.

    trafilatura extracts the main text (menus, sidebars, share buttons and reader
    comments left out) and the metadata (title, publication date, author, canonical
    URL); the search is narrowed to the page's ``<article>``/``<main>`` where there is
    one (see :func:`_scope`). Markup is never kept: the text is what a reader sees.

    Args:
        text: The page.
        reference: When the file was last modified (for relative dates in the page).

    Returns:
        The fields; ``text`` is '' when no article text was found.
    """
    import lxml.html
    import trafilatura
    from lxml.etree import ParserError

    def document(html: str):
        # always a whole document (html/body), also for a fragment such as '<p>...</p>'
        return lxml.html.document_fromstring(html)

    try:
        tree = document(text)
    except (ParserError, ValueError):  # no elements at all, e.g. only a comment
        return Fields(title="", text="")
    meta = trafilatura.extract_metadata(
        tree, extensive=False, date_config={"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%d"}
    )
    scope = _scope(tree)
    options = dict(include_comments=False, favor_precision=True, include_tables=True, config=_config())
    doc = None
    if scope is not None:
        doc = trafilatura.bare_extraction(document("<html><body>" + lxml.html.tostring(scope, encoding="unicode") + "</body></html>"), **options)
    if doc is None or not (doc.text or "").strip():
        doc = trafilatura.bare_extraction(document(text), **options)
    title = " ".join((meta.title or "").split())
    paragraphs = [" ".join(line.split()) for line in (doc.text if doc else "").split("\n")]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs and title and paragraphs[0].casefold() == title.casefold():
        paragraphs = paragraphs[1:]  # the headline, already the title
    return Fields(
        title=title,
        text="\n\n".join(paragraphs),
        date=parse_date(meta.date, reference) if meta.date else "",
        author=" ".join((meta.author or "").split()),
        url=(meta.url or "").strip(),
    )
