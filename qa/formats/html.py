"""HTML articles (.html): the story's text, title, date, author and canonical URL."""

from __future__ import annotations

import functools
import logging
import re
from datetime import datetime

from qa.formats import Fields
from qa.formats.dates import is_relative, parse_date

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


_TABLE_RULE = re.compile(r"^[\s|:-]*$")


def _line(line: str) -> str:
    """One line of trafilatura's text; its table rows ('| a | b |') as 'a | b', rules dropped."""
    line = " ".join(line.split())
    if line.startswith("|") and line.endswith("|"):
        if _TABLE_RULE.match(line):
            return ""
        line = " | ".join(c.strip() for c in line.strip("|").split("|") if c.strip())
    return line


def parse_html(text: str, reference: datetime | None = None) -> Fields:
    """The article in an HTML page, as plain text.

    trafilatura extracts the main text (menus, sidebars, teasers, share buttons and
    reader comments left out) and the metadata (title, publication date, author,
    canonical URL). Markup is never kept: the text is what a reader sees. A hand-written
    ``<article>`` fast path was measured against it and dropped: it was not faster and
    took in comments, sidebars and teaser cards (``benchmarks/html_extraction.py``).

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
    # a tree of its own: extraction prunes the tree it is given
    doc = trafilatura.bare_extraction(
        document(text), include_comments=False, favor_precision=True, include_tables=True, config=_config()
    )
    title = " ".join((meta.title or "").split())
    paragraphs = [_line(line) for line in (doc.text if doc else "").split("\n")]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs and title and paragraphs[0].casefold() == title.casefold():
        paragraphs = paragraphs[1:]  # the headline, already the title
    return Fields(
        title=title,
        text="\n\n".join(paragraphs),
        date=parse_date(meta.date, reference) if meta.date else "",
        author=" ".join((meta.author or "").split()),
        url=(meta.url or "").strip(),
        date_relative=bool(meta.date) and is_relative(meta.date),
    )
