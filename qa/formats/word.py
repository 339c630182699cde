"""Word articles (.docx): paragraphs and tables in order, headings, and title/author/date.

python-docx reads the document's body: its paragraphs (headings among them, each a paragraph
of its own) and tables (a row a line, cells joined by ' | ') in the order they stand. The title,
author and creation date come from the document's properties; a title-styled paragraph at the
top (or a first heading) gives the title when the properties have none, and a short date or
byline paragraph under it gives the date or author. Not read: headers and footers, footnotes,
comments, text boxes and deleted (tracked) text.
"""

from __future__ import annotations

import io
import re
import zipfile

from qa.formats import ArticleError, Fields, capped
from qa.formats.dates import parse_date
from qa.formats.pdf import _BAD_AUTHOR, _BAD_TITLE, _BYLINE, _DATE_SEP, _meaningful, _row_date

# A .docx is a zip archive; its parts unpacked may be at most this large together. A few KB of
# zip can hold gigabytes of repeated XML (a "zip bomb"): refused before anything is unpacked.
MAX_UNPACKED_BYTES = 200_000_000
_TITLE_STYLES = re.compile(r"^(title|heading 1)$", re.IGNORECASE)


def _check_archive(data: bytes) -> None:
    """Refuse what is not a .docx archive, or unpacks to more than :data:`MAX_UNPACKED_BYTES`."""
    if data[:4] == b"\xd0\xcf\x11\xe0":  # an OLE file: Word 97-2003 .doc, or an encrypted .docx
        raise ArticleError("an encrypted Word file or an old .doc file, not a .docx: cannot be read "
                           "(save it as .docx without a password)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = {i.filename for i in z.infolist()}
            unpacked = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, ValueError, EOFError) as e:
        raise ArticleError(f"not a readable .docx file ({e})") from None
    if "word/document.xml" not in names:
        raise ArticleError("not a Word document (a zip archive without word/document.xml)")
    if unpacked > MAX_UNPACKED_BYTES:
        raise ArticleError(f"unpacks to {unpacked / 1e6:,.0f} MB, more than the limit of {MAX_UNPACKED_BYTES / 1e6:,.0f} MB")


def _cells(row) -> list[str]:
    """A table row's cell texts, a cell merged across columns once."""
    out: list[str] = []
    seen: set[int] = set()
    for cell in row.cells:
        if id(cell._tc) in seen:
            continue
        seen.add(id(cell._tc))
        text = " ".join(cell.text.split())
        if text:
            out.append(text)
    return out


def blocks(doc) -> list[tuple[str, str]]:
    """(text, style name) of each paragraph and table row of the body, in order; empty ones left out."""
    from docx.table import Table

    out: list[tuple[str, str]] = []
    for item in doc.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                cells = _cells(row)
                if cells:
                    out.append((" | ".join(cells), "table"))
            continue
        text = "\n".join(" ".join(line.split()) for line in item.text.splitlines())
        text = re.sub(r"\n+", "\n", text).strip()
        if text:
            style = item.style.name if item.style is not None else ""
            out.append((text, style or ""))
    return out


def parse_docx(data: bytes) -> Fields:
    """The article in a Word (.docx) file.

    Args:
        data: The file's bytes.

    Returns:
        The fields: paragraphs one a line, table rows as 'a | b | c'.

    Raises:
        ArticleError: Not a .docx (an old .doc, an encrypted file, a damaged archive), or one that
            unpacks to more than :data:`MAX_UNPACKED_BYTES`.
    """
    import docx

    _check_archive(data)
    try:
        doc = docx.Document(io.BytesIO(data))
    except Exception as e:  # python-docx raises many kinds (KeyError, XMLSyntaxError, ValueError) on bad parts
        raise ArticleError(f"not a readable .docx file ({type(e).__name__}: {str(e)[:100]})") from None
    notes: list[str] = []
    props = doc.core_properties
    title = capped(_meaningful(props.title or "", _BAD_TITLE), "title", notes)
    author = capped(_meaningful(props.author or "", _BAD_AUTHOR), "author", notes)
    items = blocks(doc)
    n = 0
    if items and _TITLE_STYLES.match(items[0][1]):
        if not title or " ".join(items[0][0].split()).casefold() == title.casefold():
            title = title or " ".join(items[0][0].split())
            n = 1
    date = ""
    while n < min(len(items), 4) and len(items[n][0].split()) <= 12:
        text = items[n][0]
        found = _row_date(text)
        by = _BYLINE.match(_DATE_SEP.split(text)[0].strip())
        if not (found or by):
            break
        date = date or found
        if by:  # the byline the reader sees, before the properties' author (often whoever saved the file)
            author = by.group("name").strip()
        n += 1
    if not date and props.created is not None:
        date = parse_date(props.created)
    return Fields(title=title, text="\n".join(t for t, _ in items[n:]), date=date, author=author, notes=notes)
