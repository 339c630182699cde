"""HTML articles (.html): the story's text, title, date, author and canonical URL."""

from __future__ import annotations

import functools
import logging
import re
from datetime import datetime

from qa.formats import ArticleError, Fields, capped
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

# The most attributes one tag may have. libxml2 (lxml) and trafilatura take time quadratic
# in the attributes of one element: 20,000 take 2.6 s, the 400,000 of a 4.7 MB page more
# than 5 minutes. Real pages have tens; a page with a tag of more is refused before it is
# parsed (a tag of up to 1,000 is always read, one of more than 2,002 never: see _MARKUP).
MAX_HTML_ATTRIBUTES = 1_000

# Hand-written: lxml has no limit on attributes and no way to see a tag before it builds it,
# so the page's tags are found first the way libxml2 (2.14, an HTML5 tokenizer) finds them:
# a quote delimits a value only after '=' ('<p a=">" b>' has attributes a and b), comments
# end at '-->' or '--!>', '<!x', '<?x' and '</3' at the next '>', and the text of script,
# style, title, textarea, xmp, iframe, noembed and noframes up to their end tag is not markup
# (plaintext: the rest of the file). A scan that read any of these differently could be
# led to take a real tag for text; each was checked against lxml (tests/faults/test_hostile_files.py).
# Each alternative begins with a different character, so the patterns match without
# backtracking, in one pass. A tag's parts (an attribute, or the space before one) are matched
# at most 2 * MAX_HTML_ATTRIBUTES + 2 times: Python keeps ~0.5 KB per repetition of a group
# (415 MB for the page above), and reaching the bound before '>' means more than
# MAX_HTML_ATTRIBUTES attributes (no two spaces are parts in a row).
_WS = "\t\n\f\r "  # HTML's whitespace (Python's \s also takes '\xa0', which HTML reads as part of a name)
_VALUE = f"""[{_WS}]*=[{_WS}]*(?:"[^"]*"?|'[^']*'?|[^{_WS}>]*)"""
_MARKUP = re.compile(
    f"<(?:(?P<comment>!--)|(?P<bogus>[!?]|/(?![A-Za-z]))"
    f"|(?P<end>/)?(?P<name>[A-Za-z][^{_WS}/>]*)(?:[{_WS}/]+|[^{_WS}/>][^{_WS}/>=]*(?:{_VALUE})?){{0,{2 * MAX_HTML_ATTRIBUTES + 2}}})"
)
_COMMENT_END = re.compile("--!?>")
_TEXT_ELEMENTS = ("script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "plaintext")
_TEXT_END = {name: re.compile(f"</{name}[{_WS}/>]", re.IGNORECASE) for name in _TEXT_ELEMENTS}


def too_many_attributes(html: str) -> int:
    """The line of the first tag with more than :data:`MAX_HTML_ATTRIBUTES` attributes, or 0.

    One pass over the page, a few milliseconds for 100 KB (1 s for 5 MB of tags).
    """
    pos = 0
    while m := _MARKUP.search(html, pos):
        if m.group("comment"):
            if html.startswith(">", m.end()) or html.startswith("->", m.end()):  # '<!-->', '<!--->'
                pos = html.index(">", m.end()) + 1
                continue
            close = _COMMENT_END.search(html, m.end())
            if not close:
                break  # a comment to the end of the file
            pos = close.end()
            continue
        if m.group("bogus"):
            close = html.find(">", m.end())
            if close < 0:
                break
            pos = close + 1
            continue
        pos = m.end()
        if pos < len(html) and html[pos] != ">":  # the bound was reached: every other character continues a tag
            return html.count("\n", 0, m.start()) + 1
        name = m.group("name").lower()
        if not m.group("end") and name.isascii() and name in _TEXT_END:
            close = _TEXT_END[name].search(html, pos)
            if name == "plaintext" or not close:
                break
            pos = close.start()
    return 0


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
        The fields; ``text`` is '' when no article text was found. A title, author or url
        longer than :data:`qa.formats.MAX_FIELD_CHARS` is left out with a note.

    Raises:
        ArticleError: A tag has more than :data:`MAX_HTML_ATTRIBUTES` attributes.
    """
    import lxml.html
    import trafilatura
    from lxml.etree import ParserError

    line = too_many_attributes(text)
    if line:
        raise ArticleError(f"a tag on line {line:,} has more than {MAX_HTML_ATTRIBUTES:,} attributes: not read")

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
    notes: list[str] = []
    title = capped(" ".join((meta.title or "").split()), "title", notes)
    paragraphs = [_line(line) for line in (doc.text if doc else "").split("\n")]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs and title and paragraphs[0].casefold() == title.casefold():
        paragraphs = paragraphs[1:]  # the headline, already the title
    return Fields(
        title=title,
        text="\n\n".join(paragraphs),
        date=parse_date(meta.date, reference) if meta.date else "",
        author=capped(" ".join((meta.author or "").split()), "author", notes),
        url=capped((meta.url or "").strip(), "url", notes),
        notes=notes,
        date_relative=bool(meta.date) and is_relative(meta.date),
    )
