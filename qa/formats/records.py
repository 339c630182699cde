"""JSON articles: a .json file (one object, a list, or ``{"articles": [...]}``) or .jsonl (one per line)."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from qa.formats import ArticleError, Fields, as_text, type_name
from qa.formats.dates import is_relative, parse_date

# Escapes, then JSON strings without them. Two patterns that each repeat one character
# class: the single pattern '"[^"\\]*(?:\\.[^"\\]*)*"' repeats a group, for which Python's
# regular expressions keep ~110 bytes per repetition (a 4.8 MB string of 2.4 million
# escapes took 320 MB to measure; this way it takes the text's size).
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str) -> int:
    """How deeply arrays/objects nest in JSON text, found without parsing it.

    Python's json parser recurses once per level and dies with RecursionError near 1,000
    levels, so depth is measured first, in linear time (escapes and strings removed, then brackets counted).
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    return max(itertools.accumulate(_STEP[c] for c in brackets), default=0)


def loads(text: str, max_depth: int) -> object:
    """Parse JSON that nests at most ``max_depth`` levels.

    Raises:
        ArticleError: Invalid JSON, or nested too deeply.
    """
    depth = json_depth(text)
    if depth > max_depth:
        raise ArticleError(f"JSON nested {depth} levels deep, more than the limit of {max_depth} (Config.max_json_depth)")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ArticleError(f"invalid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except ValueError as e:  # not a JSONDecodeError: a number past Python's limit on digits (4,300)
        raise ArticleError(f"JSON holds a number too long to read ({str(e).split(';')[0]})") from None
    except RecursionError:  # only if the limit is set above what Python can parse
        raise ArticleError(f"JSON nested too deeply for Python to read ({depth} levels)") from None


def _body(value: object) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "\n\n".join(v.strip() for v in value if v.strip())  # a list of paragraphs
    if value is None:
        return ""
    raise ArticleError(f"'text' is {type_name(value)}, not text")


def record_fields(record: object, where: str, reference: datetime | None = None) -> Fields:
    """The fields of one JSON record.

    Fields read: ``text`` (a string, or a list of paragraph strings; required), ``title``,
    ``date``, ``author`` (or ``authors``), ``url``, ``id``. Numbers in ``id``/``title``
    are read as text; objects and lists where text is expected are ignored with a note.

    Raises:
        ArticleError: Not an object, or no article text.
    """
    if not isinstance(record, dict):
        raise ArticleError(f"{type_name(record)}, not an object with a 'text' field")
    text = _body(record.get("text"))
    if not text:
        raise ArticleError("no article text (needs a non-empty 'text' field)")
    notes: list[str] = []
    date = ""
    raw = record.get("date")
    if isinstance(raw, str) and raw.strip():
        date = parse_date(raw, reference)
        if not date:
            notes.append(f"date {raw.strip()[:40]!r} is not a date: left out")
    elif raw not in (None, ""):
        notes.append(f"'date' is {type_name(raw)}, not a written date: left out")
    return Fields(
        title=as_text(record.get("title"), "title", notes),
        text=text,
        date=date,
        author=as_text(record.get("author", record.get("authors")), "author", notes),
        url=as_text(record.get("url"), "url", notes),
        id=as_text(record.get("id"), "id", notes),
        where=where,
        notes=notes,
        date_relative=bool(date) and is_relative(raw),
    )


def json_records(text: str, max_depth: int) -> Iterator[tuple[str, object]]:
    """(where, record) for each record of a .json file.

    Raises:
        ArticleError: The file is not JSON, too deep, or holds no records.
    """
    data = loads(text, max_depth)
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
        if not data:
            raise ArticleError("no articles in it ('articles' is an empty list)")
    if isinstance(data, list):
        if not data:
            raise ArticleError("no articles in it (an empty list)")
        return ((f"record {n}", rec) for n, rec in enumerate(data, 1))
    return iter([("", data)])


def jsonl_records(lines: Iterable[tuple[int, str | ArticleError]], max_depth: int) -> Iterator[tuple[str, object]]:
    """(where, record or ArticleError) for each non-blank line of a .jsonl file.

    Args:
        lines: (line number, its text, or why it could not be read).
        max_depth: Deepest nesting read.
    """
    for n, line in lines:
        where = f"line {n}"
        if isinstance(line, ArticleError):
            yield where, line
            continue
        if not line.strip():
            continue
        try:
            yield where, loads(line, max_depth)
        except ArticleError as e:
            yield where, e
