"""PDF articles (.pdf): the text in reading order, page by page, with the title, date and author.

PDFium (through pypdfium2) gives each character and its box; the reading order is worked out
here from where the words are, not from the order the file happens to draw them (layout programs
draw line by line across columns, footers first): ``benchmarks/pdf_extraction.py`` measured the
libraries' own text against this on two- and three-column pages, tables and running headers.

On each page: words are grouped into rows (one baseline); a *gutter* is an upright strip that
words on both sides of it flank in several rows and few rows cross; each stretch of rows between
rows that cross a gutter is read column by column. Running headers and footers (a row at the top
or bottom of pages that repeats from page to page, digits aside) and page numbers are dropped;
a paragraph ends at a wider gap, an indent or a change of type size; a word hyphenated at a line's
end is joined.

Pages are kept: the text holds one form feed (``\\f``) between pages, so the page of any offset
is 1 + the form feeds before it (:func:`page_at`). A page with an image and no text (a scan) is
named in a note; qa has no OCR.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from qa.formats import ArticleError, Fields, capped
from qa.formats.dates import parse_date

PAGE_MARK = "\f"
HEADER_BAND = 0.1  # share of the page height at the top and the bottom where running headers and footers are looked for
GUTTER_EM = 0.9  # narrowest gutter, in type sizes (word spaces are ~0.25 em; column gutters 1-2 em)
CELL_EM = 2.0  # a gap this wide inside a row (after the columns are split) separates a table's cells
TABLE_WORDS = 3.0  # columns hold running text: on average at least this many words to a row on each side
_HYPHENS = "-\u00ad\u2010\ufffe\x02"  # hyphen, soft hyphen, Unicode hyphen, PDFium's marks of a hyphen at a line's end
_PAGE_NUMBER = re.compile(r"^(page|p\.|seite|pag\.?)?\s*[-–—]?\s*#+\s*[-–—]?(\s*(of|/|von|de)\s*#+)?$", re.IGNORECASE)
_END = re.compile(r"[.!?:;\"”’)\]]$")
_BYLINE = re.compile(r"^by\s+(?P<name>[^\W\d][\w.'’ -]{1,80}?)\s*$", re.IGNORECASE)
_DATE_LABEL = re.compile(r"^(posted|published|updated|dated?|released?|for immediate release)\s*(on)?\s*[:\-–—]?\s*", re.IGNORECASE)
_DATE_SEP = re.compile(r"\s+[·|•—–-]\s+|\s{3,}")
_BAD_TITLE = re.compile(r"^(untitled|microsoft (word|powerpoint)\b.*|document\d*|.*\.(docx?|pdf|indd|rtf|odt|txt|qxp))$", re.IGNORECASE)
_BAD_AUTHOR = re.compile(r"^(anonymous|unknown|admin(istrator)?|user|owner|author|python-docx)$", re.IGNORECASE)


@dataclass
class Word:
    """A word and its box (points; top and bottom measured from the page's top)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass
class Row:
    """Words on one baseline, left to right (across columns until the page is read)."""

    words: list[Word] = field(default_factory=list)

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def size(self) -> float:
        return statistics.median(w.size for w in self.words)

    @property
    def text(self) -> str:
        """The row's words; cells of a table (words a gutter apart) joined by ' | ', as tables of other formats are."""
        out = self.words[0].text if self.words else ""
        for a, b in zip(self.words, self.words[1:]):
            out += (" | " if b.x0 - a.x1 >= CELL_EM * a.size else " ") + b.text
        return out

    @property
    def cells(self) -> bool:
        """Whether the row is a table's (words a gutter apart)."""
        return any(b.x0 - a.x1 >= CELL_EM * a.size for a, b in zip(self.words, self.words[1:]))


@dataclass
class Page:
    """One page as read: its rows (reading order) and whether it holds an image but no text."""

    rows: list[Row]
    height: float
    width: float
    scanned: bool = False


def page_at(text: str, offset: int) -> int:
    """The page (from 1) that the character at ``offset`` of a PDF article's text is on."""
    return text.count(PAGE_MARK, 0, max(0, offset)) + 1


# --- characters to words to rows ----------------------------------------------------


def page_words(textpage, height: float) -> list[Word]:
    """The words of a page, in the order the file draws them.

    A word ends at a space (the file's own, or one PDFium adds between pieces of text), where
    the next character is not beside it (another line, a jump back), or at a gap of a quarter
    of the type size.
    """
    import pypdfium2.raw as raw

    words: list[Word] = []
    chars: list[str] = []
    box = [0.0, 0.0, 0.0, 0.0, 0.0]  # x0, x1, top, bottom, size of the word so far
    last_x1 = last_mid = 0.0
    rect = raw.FS_RECTF()

    def close() -> None:
        if chars:
            words.append(Word("".join(chars), box[0], box[1], box[2], box[3], box[4]))
            chars.clear()

    for i in range(textpage.count_chars()):
        code = raw.FPDFText_GetUnicode(textpage, i)
        ch = chr(code) if 0 < code < 0x110000 else " "
        if ch.isspace() or raw.FPDFText_IsGenerated(textpage, i) and ch not in _HYPHENS:
            close()
            continue
        if not raw.FPDFText_GetLooseCharBox(textpage, i, rect):
            continue
        x0, x1, top, bottom = rect.left, rect.right, height - rect.top, height - rect.bottom
        size = max(raw.FPDFText_GetFontSize(textpage, i), bottom - top, 1.0)
        mid = (top + bottom) / 2
        if chars and (abs(mid - last_mid) > size * 0.5 or x0 < last_x1 - size * 0.5 or x0 - last_x1 > size * 0.25):
            close()
        if not chars:
            box = [x0, x1, top, bottom, size]
        else:
            box = [min(box[0], x0), max(box[1], x1), min(box[2], top), max(box[3], bottom), max(box[4], size)]
        chars.append(ch)
        last_x1, last_mid = x1, mid
    close()
    return words


def rows_of(words: list[Word]) -> list[Row]:
    """Words grouped into rows, top to bottom.

    A word joins the row whose middle is nearest its own, within half the type size, and none of
    whose words it overlaps: on a page of columns whose lines do not line up, a row may then hold
    lines of several columns (split again at the gutters), never two lines of one column.
    """
    rows: list[tuple[float, Row]] = []  # (middle of the row's first word, row), in order of middle
    for w in sorted(words, key=lambda w: (w.middle, w.x0)):
        best: Row | None = None
        best_gap = 0.0
        for middle, row in reversed(rows):
            gap = w.middle - middle
            if gap > 0.5 * w.size:
                break
            if abs(gap) <= 0.5 * min(w.size, row.words[0].size) and not any(x.x0 < w.x1 and w.x0 < x.x1 for x in row.words):
                if best is None or abs(gap) < best_gap:
                    best, best_gap = row, abs(gap)
        if best is None:
            rows.append((w.middle, Row([w])))
        else:
            best.words.append(w)
    for _, row in rows:
        row.words.sort(key=lambda w: w.x0)
    return [row for _, row in rows]



# --- columns ----------------------------------------------------------------------------


def gutters(rows: list[Row], em: float) -> list[float]:
    """Where the page's columns meet (x of each gutter's middle), left to right.

    Candidates are the emptiest points of strips that at most a third of the rows touch. One is a
    gutter when at least 3 rows have words on both sides of it, a gap of :data:`GUTTER_EM` or more
    between them, and those rows are three times the rows that cross it (a word on it, or words
    on both sides closer than a gutter: a headline); and when they hold on average
    :data:`TABLE_WORDS` words or more on each side (a table's cells are read row by row).
    """
    if len(rows) < 3:
        return []
    left = min(w.x0 for r in rows for w in r.words)
    right = max(w.x1 for r in rows for w in r.words)
    width = int(right - left) + 1
    covered = [0] * width
    for r in rows:
        seen = bytearray(width)
        for w in r.words:
            a, b = max(0, int(w.x0 - left)), min(width, int(w.x1 - left) + 1)
            seen[a:b] = b"\1" * (b - a)
        for i, s in enumerate(seen):
            covered[i] += s
    most = max(3, len(rows) // 3)
    found: list[float] = []
    i = 0
    while i < width:
        if covered[i] > most:
            i += 1
            continue
        j = i
        while j < width and covered[j] <= most:
            j += 1
        run, start = covered[i:j], i
        i = j
        if start == 0 or i >= width:
            continue  # the page's margins, not between columns
        low = min(run)
        first = run.index(low)
        last = first
        while last + 1 < len(run) and run[last + 1] == low:
            last += 1
        cut = left + start + (first + last + 1) / 2
        sides = [_side(r, cut, em) for r in rows]
        beside = [r for r, s in zip(rows, sides) if s == "beside"]
        if len(beside) < 3 or sides.count("crossing") * 3 > len(beside):
            continue
        lw = statistics.fmean(sum(1 for w in r.words if w.x1 <= cut) for r in beside)
        rw = statistics.fmean(sum(1 for w in r.words if w.x0 >= cut) for r in beside)
        if lw >= TABLE_WORDS and rw >= TABLE_WORDS:
            found.append(cut)
    return found


def _side(row: Row, cut: float, em: float) -> str:
    """How a row meets an upright line at ``cut``: 'crossing' (a word on it, or words on both sides
    closer than a gutter), 'beside' (words on both sides, a gutter apart), or 'one side'."""
    before = [w.x1 for w in row.words if w.x1 <= cut]
    after = [w.x0 for w in row.words if w.x0 >= cut]
    if len(before) + len(after) < len(row.words):
        return "crossing"
    if not before or not after:
        return "one side"
    return "beside" if min(after) - max(before) >= GUTTER_EM * em else "crossing"


def reading_order(rows: list[Row], em: float) -> list[list[Row]]:
    """Rows as runs in reading order: each run a column of a stretch, or a row that crosses the columns.

    Between two rows that cross a gutter, the rows' words are split at the gutters and read one
    column after another. A page without gutters is one run.
    """
    cuts = gutters(rows, em)
    if not cuts:
        return [rows] if rows else []
    runs: list[list[Row]] = []
    stretch: list[list[Row]] = [[] for _ in range(len(cuts) + 1)]

    def flush() -> None:
        runs.extend(col for col in stretch if col)
        stretch[:] = [[] for _ in range(len(cuts) + 1)]

    for row in rows:
        if any(_side(row, cut, em) == "crossing" for cut in cuts):
            flush()
            runs.append([row])
            continue
        parts: list[list[Word]] = [[] for _ in range(len(cuts) + 1)]
        for w in row.words:
            parts[sum(1 for cut in cuts if w.x0 >= cut)].append(w)
        for n, words in enumerate(parts):
            if words:
                stretch[n].append(Row(words))
    flush()
    return runs


# --- rows to paragraphs -----------------------------------------------------------------


def paragraphs(runs: list[list[Row]]) -> list[tuple[str, float]]:
    """Paragraphs of a page and the type size of each one's first row.

    A paragraph ends at a vertical gap wider than the run's usual line spacing, an indented line,
    or a change of type size; a run that begins in lower case after a paragraph that does not end
    a sentence continues it (a sentence carried over to the next column).
    """
    out: list[tuple[list[str], float]] = []
    for run in runs:
        # the usual line spacing: between rows of one type size; from fewer than 3 such pairs it
        # cannot be told from a paragraph gap, and a spacing of 1.2 sizes is assumed at most
        pitches = [b.top - a.top for a, b in zip(run, run[1:]) if b.top > a.top and abs(a.size - b.size) <= 0.15 * a.size]
        pitch = statistics.median(pitches) if pitches else 0.0
        if len(pitches) < 3:
            pitch = min(pitch or math.inf, 1.2 * statistics.median(r.size for r in run))
        left = min(r.words[0].x0 for r in run)
        for n, row in enumerate(run):
            if n == 0:
                new = not (out and not _END.search(out[-1][0][-1]) and row.text[:1].islower())
            else:
                prev = run[n - 1]
                new = ((pitch and row.top - prev.top > pitch * 1.25) or abs(row.size - prev.size) > 0.15 * prev.size
                       or row.words[0].x0 - left > row.size or row.cells or prev.cells)  # a table: a row a line
            if new:
                out.append(([], row.size))
            out[-1][0].append(row.text)
    return [(_join_lines(lines), size) for lines, size in out]


def _join_lines(lines: list[str]) -> str:
    """Lines of one paragraph as one line: a word hyphenated at a line's end is joined."""
    text = ""
    for line in lines:
        if text and text[-1] in _HYPHENS and len(text) > 1 and text[-2].isalpha() and line[:1].isalpha():
            # "past-" + "ures": one word; a real compound ("four-" + "generation") keeps its hyphen below
            text = text[:-1] + "\x00" + line
        else:
            text = f"{text} {line}" if text else line
    return text


def _dehyphenate(text: str) -> str:
    """Decide each line-end hyphen (marked ``\\x00``): the joined word, unless the document writes
    the hyphenated form elsewhere, or the second part starts with a capital ('Anglo-' 'French')."""
    seen = Counter(re.findall(r"\w+(?:-\w+)*", text.replace("\x00", "")))

    def one(m: re.Match) -> str:
        a, b = m.group(1), m.group(2)
        joined, hyphened = a + b, f"{a}-{b}"
        if b[:1].isupper() or seen[hyphened] > seen[joined]:
            return hyphened
        return joined

    return re.sub(r"(\w+)\x00(\w+)", one, text).replace("\x00", "")


# --- headers, footers, title, date ------------------------------------------------------


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def drop_running(pages: list[Page]) -> None:
    """Remove running headers and footers and page numbers from the pages (in place).

    A row in the top or bottom :data:`HEADER_BAND` of a page is running when the same row,
    digits aside, is in that band on another page, or when it is only a page number
    ('3', '- 3 -', 'Page 3 of 12').
    """
    bands: list[list[tuple[Row, str]]] = []
    count: Counter = Counter()
    for page in pages:
        band = [(r, _shape(r.text)) for r in page.rows
                if r.bottom <= page.height * HEADER_BAND or r.top >= page.height * (1 - HEADER_BAND)]
        bands.append(band)
        count.update({s for _, s in band})
    for page, band in zip(pages, bands):
        drop = {id(r) for r, s in band if _PAGE_NUMBER.match(s) or (len(pages) > 1 and count[s] > 1)}
        page.rows = [r for r in page.rows if id(r) not in drop]


def _meaningful(value: str, bad: re.Pattern) -> str:
    value = " ".join((value or "").split())
    return "" if not value or bad.match(value) else value


def _pdf_date(value: str) -> str:
    """ISO date of a PDF date string (``D:20240304120000+01'00'``), or ''."""
    m = re.match(r"^(?:D:)?(\d{4})(\d{2})(\d{2})", value or "")
    if not m:
        return ""
    return parse_date(f"{m.group(1)}-{m.group(2)}-{m.group(3)}")


def _row_date(text: str) -> str:
    """The date a short row states ('March 4, 2024', 'By Ann Lee · 4 March 2024', 'Published: 2024-03-04'), or ''."""
    if len(text.split()) > 10:
        return ""
    for part in [text, *_DATE_SEP.split(text)]:
        part = _DATE_LABEL.sub("", part.strip())
        d = parse_date(part) if part else ""
        if d:
            return d
    return ""


@dataclass
class Head:
    """What the top of the first page says: title, date, author, and how many of its paragraphs say it."""

    title: str = ""
    date: str = ""
    author: str = ""
    used: int = 0


def read_head(first: list[str], sizes: list[float], body_size: float, meta_title: str) -> Head:
    """Title, date and byline from the first paragraphs of page 1.

    The headline is the paragraph in the largest type among the first five, when that type is
    clearly larger than the body's and the lines above it are short (a running header, a date, a
    kicker). The title is the metadata's, else that headline. The headline (when it is the title),
    the short lines above it and date or byline lines right under it are not body text.
    """
    head = Head(title=meta_title)
    top = [n for n in range(min(len(first), 5)) if sizes[n] >= body_size * 1.2]
    n = 0
    if top:
        big = max(top, key=lambda n: sizes[n])
        if all(len(first[k].split()) <= 12 for k in range(big)):
            for k in range(big):
                head.date = head.date or _row_date(first[k])
            same = " ".join(first[big].split()).casefold() == " ".join(meta_title.split()).casefold()
            if not meta_title or same:
                head.title = head.title or first[big]
                n = big + 1
            else:
                n = big  # the metadata's title differs: the headline stays in the text
    while n < min(len(first), 6):
        text = first[n]
        date = _row_date(text)
        by = _BYLINE.match(_DATE_SEP.split(text)[0].strip())
        if not (date or by) or len(text.split()) > 12:
            break
        head.date = head.date or date
        if by:
            head.author = head.author or by.group("name").strip()
        n += 1
    head.used = n
    return head


# --- the document -------------------------------------------------------------------------


def read_pages(pdf) -> list[Page]:
    """Every page of an open ``pypdfium2.PdfDocument`` as rows in reading order."""
    import pypdfium2.raw as raw

    pages = []
    for index in range(len(pdf)):
        page = pdf[index]
        try:
            width, height = page.get_size()
            textpage = page.get_textpage()
            try:
                words = page_words(textpage, height)
            finally:
                textpage.close()
            scanned = not words and any(True for _ in page.get_objects(filter=(raw.FPDF_PAGEOBJ_IMAGE,), max_depth=2))
        finally:
            page.close()
        pages.append(Page(rows_of(words), height, width, scanned))
    return pages


def parse_pdf(data: bytes, max_pages: int = 0) -> Fields:
    """The article in a PDF file.

    Args:
        data: The file's bytes.
        max_pages: Refuse a document of more pages (0: any number).

    Returns:
        The fields; ``text`` has a form feed between pages (:data:`PAGE_MARK`), ``pages`` the page
        count, ``notes`` the pages that are images without text.

    Raises:
        ArticleError: Not a PDF, damaged, or locked with a password.
    """
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        raise ArticleError(_open_error(str(e))) from None
    try:
        if max_pages and len(pdf) > max_pages:
            raise ArticleError(f"{len(pdf):,} pages, more than the limit of {max_pages:,}")
        meta = pdf.get_metadata_dict(skip_empty=True)
        pages = read_pages(pdf)
    finally:
        pdf.close()
    return assemble(pages, meta)


def _open_error(message: str) -> str:
    if "password" in message.lower():
        return "encrypted: it needs a password to open, so it cannot be read (save it without a password)"
    if "format" in message.lower() or "file" in message.lower():
        return "not a readable PDF (damaged, or not a PDF at all)"
    return f"not a readable PDF ({message})"


def assemble(pages: list[Page], meta: dict) -> Fields:
    """The article's fields from its pages: running rows dropped, pages read in order and joined."""
    notes: list[str] = []
    drop_running(pages)
    sizes = [r.size for p in pages for r in p.rows for _ in r.words]
    body = statistics.median(sizes) if sizes else 10.0
    read = [paragraphs(reading_order(page.rows, body)) for page in pages]
    texts = [[text for text, _ in paras] for paras in read]
    meta_title = capped(_meaningful(meta.get("Title", ""), _BAD_TITLE), "title", notes)
    head = read_head(texts[0] if texts else [], [size for _, size in read[0]] if read else [], body, meta_title)
    if texts:
        texts[0] = texts[0][head.used:]
    scanned = [n + 1 for n, p in enumerate(pages) if p.scanned]
    if scanned:
        which = "page " + str(scanned[0]) if len(scanned) == 1 else "pages " + ", ".join(map(str, scanned))
        notes.append(f"{which} {'is an image' if len(scanned) == 1 else 'are images'} without a text layer "
                     "(a scan?): not read (qa has no OCR)")
    author = capped(_meaningful(meta.get("Author", ""), _BAD_AUTHOR), "author", notes) or head.author
    date = head.date or _pdf_date(meta.get("CreationDate", ""))
    return Fields(title=_dehyphenate(head.title), text=join_pages(texts), date=date, author=author, notes=notes, pages=len(pages))


def join_pages(pages: list[list[str]]) -> str:
    """The text of all pages, paragraphs one a line, :data:`PAGE_MARK` between pages.

    A sentence that runs on to the next page stays one sentence (' \\f '); a word hyphenated
    across the page break is joined before the mark.
    """
    text = ""
    for n, paras in enumerate(pages):
        page = "\n".join(paras)
        if n == 0:
            text = page
            continue
        end = text.rstrip(" \n")
        if page and end and not _END.search(end) and page[:1].islower():
            if end[-1] in _HYPHENS and end[-2:-1].isalpha():
                word, _, rest = page.partition(" ")
                text = f"{end[:-1]}\x00{word} {PAGE_MARK} {rest}".rstrip(" ")
            else:
                text = f"{end} {PAGE_MARK} {page}"
        else:
            text = f"{text}\n{PAGE_MARK}\n{page}" if text or n else page
    return _dehyphenate(text).strip(" \n")
