"""Markdown articles (.md): YAML front matter for metadata, the Markdown read as plain text."""

from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import TYPE_CHECKING

from qa.formats import Fields, as_text, short
from qa.formats.dates import is_relative, parse_date
from qa.formats.plain import parse_plain

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)

# Limits on YAML front matter. Article metadata is a few short 'key: value' lines; these
# keep a hostile file (a "billion laughs" alias bomb, brackets nested thousands deep, a
# 50,000-digit number) from costing more than reading its text does.
MAX_FRONT_MATTER_CHARS = 65_536  # larger front matter is ignored unread (with a note)
MAX_FRONT_MATTER_DEPTH = 32  # lists/maps nested deeper: ignored (PyYAML's composer recurses once per level)
# Longer Markdown is read as plain text (markup left in), with a note. markdown-it's cost is
# linear but up to ~12x that of prose per character: 1 MB of '[' takes 14 s, 0.9 MB of table
# cells 415 MB (prose: 1.2 s and ~60 MB per MB). A news article is well under this.
MAX_MARKDOWN_CHARS = 500_000


class _FrontMatterRefused(Exception):
    """Front matter that :class:`_FrontMatterLoader` will not build (the note says why)."""


@functools.cache
def _loader() -> type:
    """PyYAML's pure-Python SafeLoader, without aliases and with a nesting limit.

    PyYAML has no setting for either: its composer resolves every ``*alias`` to the node
    its ``&anchor`` named, so ten aliases of ten aliases (a 0.5 KB "billion laughs") become
    10^9 values as soon as anything walks them (``str()``, a comparison), and it recurses
    once per nesting level (RecursionError, not YAMLError, past ~1,000). ``compose_node``
    is where both happen, so it is overridden here; metadata never needs an alias. The C
    loader (CSafeLoader) composes in C and cannot be limited this way; at most
    :data:`MAX_FRONT_MATTER_CHARS` the pure-Python one takes well under a second.
    """
    import yaml
    from yaml.events import AliasEvent

    class _FrontMatterLoader(yaml.SafeLoader):
        _depth = 0

        def compose_node(self, parent, index):
            if self.check_event(AliasEvent):
                event = self.peek_event()
                raise _FrontMatterRefused(
                    f"front matter uses a YAML alias (*{event.anchor}) at line {event.start_mark.line + 2}: "
                    "ignored (aliases are not read in article metadata)"
                )
            if self._depth >= MAX_FRONT_MATTER_DEPTH:
                line = self.peek_event().start_mark.line + 2
                raise _FrontMatterRefused(
                    f"front matter nests more than {MAX_FRONT_MATTER_DEPTH} levels deep at line {line}: ignored"
                )
            self._depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        # A date or number Python refuses ('2024-02-30': ValueError; 5,000 digits: ValueError
        # past sys.get_int_max_str_digits) is kept as the text it was written as.
        def construct_yaml_timestamp(self, node):
            try:
                return super().construct_yaml_timestamp(node)
            except ValueError:
                return self.construct_scalar(node)

        def construct_yaml_int(self, node):
            try:
                return super().construct_yaml_int(node)
            except ValueError:
                return self.construct_scalar(node)

    _FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp", _FrontMatterLoader.construct_yaml_timestamp)
    _FrontMatterLoader.add_constructor("tag:yaml.org,2002:int", _FrontMatterLoader.construct_yaml_int)
    return _FrontMatterLoader


def split_front_matter(text: str) -> tuple[dict, str, list[str]]:
    """YAML front matter (between '---' lines at the top) and the rest.

    Front matter larger than :data:`MAX_FRONT_MATTER_CHARS`, nested deeper than
    :data:`MAX_FRONT_MATTER_DEPTH` or using YAML aliases is ignored with a note, like front
    matter that is not YAML. A date or number Python cannot hold ('2024-02-30', 5,000
    digits) is kept as the text it was written as (and then refused as a date or field).

    Returns:
        (the front matter as a dict, the Markdown after it, notes on front matter that
        could not be read; the text is then read as if there were none).
    """
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text, []
    body = text[m.end():]
    raw = m.group(1)
    if len(raw) > MAX_FRONT_MATTER_CHARS:
        return {}, body, [f"front matter is {len(raw):,} characters, more than the limit of {MAX_FRONT_MATTER_CHARS:,}: ignored"]
    import yaml

    try:
        meta = yaml.load(raw, Loader=_loader())
    except _FrontMatterRefused as e:
        return {}, body, [str(e)]
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        at = f" at line {where.line + 2}" if where is not None else ""
        return {}, body, [f"front matter is not valid YAML{at}: ignored"]
    except ValueError as e:  # a value PyYAML's constructors let through to Python, which refused it
        return {}, body, [f"front matter holds a value that cannot be read ({str(e).split(':')[0][:80]}): ignored"]
    if meta is None:
        return {}, body, []
    if not isinstance(meta, dict):
        return {}, body, ["front matter is not a set of 'key: value' lines: ignored"]
    return meta, body, []


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
    line is the title and a 'Posted <date>' line the date, as for .txt. Markdown longer
    than :data:`MAX_MARKDOWN_CHARS` is read as plain text, with a note.

    Args:
        text: The file's text.
        reference: When the file was last modified (for relative dates).

    Returns:
        The fields, body as plain text.
    """
    meta, body, notes = split_front_matter(text)
    meta = {str(k).lower(): v for k, v in meta.items()}
    title = as_text(meta.get("title"), "title", notes)
    if len(body) > MAX_MARKDOWN_CHARS:
        notes.append(f"{len(body):,} characters of Markdown, more than the limit of {MAX_MARKDOWN_CHARS:,}: read as plain text")
        fields = parse_plain(body, reference, title=title)
    else:
        fields = parse_plain(markdown_to_text(body), reference, title=title)
    if not fields.text and not title and not body.lstrip().startswith("#"):  # a heading alone is a title, not an article
        # One paragraph and no front matter: the paragraph is the article (its first line, or sentence, the title).
        plain = markdown_to_text(body).strip() if len(body) <= MAX_MARKDOWN_CHARS else body.strip()
        if plain:
            first = re.sub(r"^#+\s*", "", body.strip().split("\n", 1)[0]).strip()
            sentence = re.split(r"(?<=[.!?])\s", plain, maxsplit=1)[0]
            fields.title = (first if "\n" in body.strip() else sentence)[:120].strip()
            fields.text = plain
    if "date" in meta and meta["date"] is not None:
        date = parse_date(meta["date"], reference)
        if date:
            fields.date, fields.date_relative = date, is_relative(meta["date"])
        else:
            notes.append(f"front matter date {short(meta['date'])} is not a date: ignored")
    fields.author = as_text(meta.get("author", meta.get("authors")), "author", notes)
    fields.url = as_text(meta.get("url", meta.get("link", meta.get("canonical_url"))), "url", notes)
    fields.id = as_text(meta.get("id"), "id", notes)
    fields.notes = notes
    return fields
