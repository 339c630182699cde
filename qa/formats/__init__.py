"""Article formats: each turns one file's text into the fields of an article.

``plain`` (.txt), ``markdown`` (.md), ``html`` (.html), ``records`` (.json / .jsonl), ``pdf`` (.pdf),
``word`` (.docx; both read in a child process with a time budget, :mod:`qa.formats.isolated`);
``dates`` reads the dates they hold. The folder walk, limits and ids are in :mod:`qa.articles`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ArticleError(ValueError):
    """A file or record that cannot be read as an article."""


@dataclass
class Fields:
    """What a format read from one article (before it gets its id).

    Attributes:
        title: Title ('' when the file has none).
        text: Body text as plain text (no markup).
        date: Publication date, ISO ``YYYY-MM-DD``, or '' when unknown.
        author: Author(s), if given.
        url: Where it was published, if given.
        id: The article's own id (a JSON ``id`` field), if given.
        where: Where in the file it was ('line 3' of a .jsonl, 'record 2' of a .json list), else ''.
        notes: What was read only in part (a field ignored, front matter that is not YAML).
        date_relative: The date was written relatively ('Posted 3 hours ago') and counted from the file's time.
        pages: Pages of a paged document (PDF): ``text`` then holds a form feed between pages, and
            keeps one at its start when the first page has no text; 0 for other formats.
    """

    title: str
    text: str
    date: str = ""
    author: str = ""
    url: str = ""
    id: str = ""
    where: str = ""
    notes: list[str] = field(default_factory=list)
    date_relative: bool = False
    pages: int = 0


# The longest title, author, url or id kept. Metadata is a line of text; a longer value
# (a 4 MB <title>, a front matter list of thousands of names) is ignored with a note
# rather than stored, printed with every answer and formatted into messages.
MAX_FIELD_CHARS = 1_000


def as_text(value: object, name: str, notes: list[str]) -> str:
    """A metadata field (title, author, url, id) as text; other types are converted or refused.

    Numbers become their digits and lists of strings are joined ('A, B': several authors);
    objects and other lists are refused with a note rather than stored as Python reprs.
    Text longer than :data:`MAX_FIELD_CHARS` is refused with a note (a number's size is
    checked before it is written out).
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return capped(value.strip(), name, notes)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4 * MAX_FIELD_CHARS:
        # more than 1,204 digits: refused before str(), which takes quadratic time (and raises past 4,300)
        notes.append(f"'{name}' is a number of more than {MAX_FIELD_CHARS:,} digits: ignored")
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return capped(str(value), name, notes)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return capped(", ".join(v.strip() for v in value if v.strip()), name, notes)
    notes.append(f"'{name}' is {type_name(value)}, not text: ignored")
    return ""


def capped(text: str, name: str, notes: list[str]) -> str:
    """``text``, or '' with a note when it is longer than :data:`MAX_FIELD_CHARS`."""
    if len(text) > MAX_FIELD_CHARS:
        notes.append(f"'{name}' is {len(text):,} characters, more than the limit of {MAX_FIELD_CHARS:,}: ignored")
        return ""
    return text


def short(value: object, limit: int = 40) -> str:
    """A value for a message: text quoted and cut to ``limit`` characters; anything else by its type.

    Never ``str()`` of a list or object, which may be huge (or, through YAML aliases, astronomically so).
    """
    if isinstance(value, str):
        return repr(value.strip()[:limit])
    return type_name(value)


def type_name(value: object) -> str:
    """JSON's name for a value's type ('an object', 'a list', ...), for messages."""
    return {dict: "an object", list: "a list", bool: "true/false", int: "a number", float: "a number"}.get(type(value), type(value).__name__)
