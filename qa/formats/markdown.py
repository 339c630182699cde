"""Markdown articles (.md): YAML front matter for metadata, the Markdown read as plain text."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import TYPE_CHECKING

from qa.formats import Fields, as_text
from qa.formats.dates import is_relative, parse_date
from qa.formats.plain import parse_plain

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def split_front_matter(text: str) -> tuple[dict, str, list[str]]:
    """YAML front matter (between '---' lines at the top) and the rest.

    Returns:
        (the front matter as a dict, the Markdown after it, notes on front matter that
        could not be read; the text is then read as if there were none).
    """
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text, []
    import yaml

    try:
        meta = yaml.safe_load(m.group(1))
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        at = f" at line {where.line + 2}" if where is not None else ""
        return {}, text[m.end():], [f"front matter is not valid YAML{at}: ignored"]
    if meta is None:
        return {}, text[m.end():], []
    if not isinstance(meta, dict):
        return {}, text[m.end():], ["front matter is not a set of 'key: value' lines: ignored"]
    return meta, text[m.end():], []


@functools.cache
def _markdown() -> "MarkdownIt":
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").enable("strikethrough")


def _html_text(html: str) -> str:
    """Text of raw HTML inside Markdown (shown as text: tags dropped, scripts removed)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    return " ".join(soup.get_text(" ").split())


def markdown_to_text(markdown: str) -> str:
    """Plain text of Markdown: one paragraph per block, markup gone.

    Links keep their text, images are dropped (with their alt text), code keeps its
    content, raw HTML keeps only its text.

    Returns:
        Blocks separated by blank lines.
    """
    blocks: list[str] = []
    row: list[str] = []
    in_table = False
    for tok in _markdown().parse(markdown):
        if tok.type == "inline":
            # a dropped image between two line breaks leaves two spaces
            text = re.sub(r"[ \t]{2,}", " ", "".join(_inline(tok.children or [])))
            (row if in_table else blocks).append(text.strip() if in_table else text)
        elif tok.type in ("table_open", "table_close"):
            in_table = tok.type == "table_open"
        elif tok.type in ("fence", "code_block"):
            blocks.append(tok.content.rstrip("\n"))
        elif tok.type == "html_block":
            blocks.append(_html_text(tok.content))
        elif tok.type == "tr_close":
            blocks.append(" | ".join(c for c in row if c))
            row = []
    return "\n\n".join(b.strip() for b in blocks if b.strip())


def _inline(children: list["Token"]) -> list[str]:
    """The text of a paragraph's inline tokens: words kept, markup, images and tags dropped."""
    out = []
    for c in children:
        if c.type == "image":
            continue  # its alt text is a caption fragment, not story
        if c.type in ("text", "code_inline"):
            out.append(c.content)
        elif c.type == "softbreak":
            out.append(" ")
        elif c.type == "hardbreak":
            out.append("\n")
        elif c.type == "html_inline":
            continue  # a tag such as <b> or <br>: markup, not text
    return out


def parse_markdown(text: str, reference: datetime | None = None) -> Fields:
    """Title, date, author, url and plain body of a Markdown article.

    Front matter fields ``title``, ``date``, ``author`` (or ``authors``), ``url`` (or
    ``link``, ``canonical_url``) and ``id`` are read; without front matter the first
    line is the title and a 'Posted <date>' line the date, as for .txt.

    Args:
        text: The file's text.
        reference: When the file was last modified (for relative dates).

    Returns:
        The fields, body as plain text.
    """
    meta, body, notes = split_front_matter(text)
    meta = {str(k).lower(): v for k, v in meta.items()}
    title = as_text(meta.get("title"), "title", notes)
    fields = parse_plain(markdown_to_text(body), reference, title=title)
    if "date" in meta and meta["date"] is not None:
        date = parse_date(meta["date"], reference)
        if date:
            fields.date, fields.date_relative = date, is_relative(meta["date"])
        else:
            notes.append(f"front matter date {str(meta['date'])[:40]!r} is not a date: ignored")
    fields.author = as_text(meta.get("author", meta.get("authors")), "author", notes)
    fields.url = as_text(meta.get("url", meta.get("link", meta.get("canonical_url"))), "url", notes)
    fields.id = as_text(meta.get("id"), "id", notes)
    fields.notes = notes
    return fields
