"""Writes the PDF set of ``benchmarks/pdf_extraction.py``: realistic layouts with known text.

Each document is written with reportlab's canvas (one with fpdf2), line by line, so that the
story's words (``<name>.txt``, one paragraph a line; a table one row a line, cells joined by
' | ') are known exactly. ``<name>.meta`` holds the title, the date and, for a document with a
scanned page, ``scanned=`` its page numbers. The stories are those of ``benchmarks/data/html``.

    .venv/bin/python benchmarks/pdf_set.py      # writes benchmarks/data/pdf/

Layouts: a one-column press release with a running header, "Page N of M" footers and words
hyphenated at line ends; a two-column newspaper page under a headline across both columns,
two pages; the same drawn in the order a layout program may write it (line by line across the
columns, the footer first); a three-column page; a report with a ruled table and running
headers; a brief written by fpdf2 (its header() and footer()); a document whose second page
is a scan (an image of text, no text layer). Output is byte-for-byte reproducible (reportlab's
``invariant``; fpdf2's creation date fixed).
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORIES = ROOT / "benchmarks" / "data" / "html"
OUT = ROOT / "benchmarks" / "data" / "pdf"


def story(name: str) -> list[str]:
    """A story's paragraphs."""
    return [p for p in (STORIES / f"{name}.txt").read_text().splitlines() if p.strip()]


def wrap(text: str, width: float, font: str, size: float, hyphenate: bool = True) -> list[str]:
    """Lines of at most ``width`` points; a long word that does not fit is hyphenated (``-`` at the
    line's end) as typesetting does, a word with its own hyphen broken after it."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}" if line else word
        if stringWidth(trial, font, size) <= width:
            line = trial
            continue
        if hyphenate and "-" in word[1:-1] and stringWidth(f"{line} {word.split('-')[0]}-", font, size) <= width:
            head, tail = word.split("-", 1)
            lines.append(f"{line} {head}-".strip())
            line = tail
            continue
        if hyphenate and len(word) >= 8 and word.isalpha():
            for cut in range(len(word) - 3, 3, -1):
                if stringWidth(f"{line} {word[:cut]}-", font, size) <= width:
                    lines.append(f"{line} {word[:cut]}-".strip())
                    line = word[cut:]
                    break
            else:
                lines.append(line)
                line = word
            continue
        lines.append(line)
        line = word
    if line:
        lines.append(line)
    return lines


@dataclass
class Placed:
    """A line of text at a place on a page."""

    page: int
    x: float
    y: float
    text: str
    font: str
    size: float


@dataclass
class Flow:
    """Paragraphs poured into frames (columns), page after page.

    Attributes:
        frames: (x, top, width, bottom) of each column of a page, in reading order.
        first_frames: The first page's columns when they differ (under a headline).
    """

    frames: list[tuple[float, float, float, float]]
    first_frames: list[tuple[float, float, float, float]] | None = None
    font: str = "Times-Roman"
    size: float = 10
    leading: float = 12.5
    gap: float = 5  # between paragraphs
    placed: list[Placed] = field(default_factory=list)
    page: int = 0
    frame: int = 0
    y: float = 0.0

    def _frames(self) -> list[tuple[float, float, float, float]]:
        return self.first_frames if self.page == 0 and self.first_frames else self.frames

    def pour(self, paragraphs: list[str]) -> None:
        x, top, width, bottom = self._frames()[self.frame]
        self.y = self.y or top
        for para in paragraphs:
            for line in wrap(para, width, self.font, self.size):
                if self.y - self.leading < bottom:
                    self.frame += 1
                    if self.frame == len(self._frames()):
                        self.page, self.frame = self.page + 1, 0
                    x, top, width, bottom = self._frames()[self.frame]
                    self.y = top
                self.y -= self.leading
                self.placed.append(Placed(self.page, x, self.y, line, self.font, self.size))
            self.y -= self.gap


def canvas(path: Path, title: str, author: str = "", pagesize=None):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    c = Canvas(str(path), pagesize=pagesize or A4, invariant=1)
    c.setTitle(title)
    if author:
        c.setAuthor(author)
    return c


def draw(c, lines: list[Placed]) -> None:
    for p in lines:
        c.setFont(p.font, p.size)
        c.drawString(p.x, p.y, p.text)


def press_release(name: str) -> dict:
    """One column, A5, running header, 'Page N of M' footer, hyphenated line ends."""
    from reportlab.lib.pagesizes import A5

    paras = story("wordpress-blog") + story("plain-page") + story("figures-related") + story("teaser-articles")
    title = "City approves tram line to university and hospital"
    w, h = A5
    flow = Flow([(50, h - 90, w - 100, 60)], font="Helvetica", size=10, leading=13)
    flow.placed.append(Placed(0, 50, h - 70, title, "Helvetica-Bold", 13))
    flow.placed.append(Placed(0, 50, h - 86, "March 4, 2024", "Helvetica", 9))
    flow.first_frames = [(50, h - 96, w - 100, 60)]
    flow.pour(paras)
    pages = flow.page + 1
    c = canvas(OUT / f"{name}.pdf", title, "City Press Office", A5)
    for n in range(pages):
        c.setFont("Helvetica", 8)
        c.drawString(50, h - 40, "CITY OF MILLBRIDGE  |  PRESS OFFICE")
        c.drawRightString(w - 50, 35, f"Page {n + 1} of {pages}")
        draw(c, [p for p in flow.placed if p.page == n])
        c.showPage()
    c.save()
    return {"title": title, "date": "2024-03-04", "body": paras}


def newspaper(name: str, scrambled: bool = False, columns: int = 2) -> dict:
    """A newspaper page: a headline across the columns, then the columns; two pages."""
    from reportlab.lib.pagesizes import A4

    w, h = A4
    stories = ["news-divs", "teaser-articles", "comments-inside", "figures-related", "article-header-only",
               "itemprop-cards", "h1-outside-article", "wordpress-blog", "plain-page"]
    paras = [p for s in stories for p in story(s)]
    title = "Drought forces farmers to sell cattle early"
    margin, gutter = 45, 18 if columns == 2 else 14
    col = (w - 2 * margin - (columns - 1) * gutter) / columns
    frames = [(margin + i * (col + gutter), h - 70, col, 60) for i in range(columns)]
    first = [(margin + i * (col + gutter), h - 150, col, 60) for i in range(columns)]
    size = 10 if columns == 2 else 9
    flow = Flow(frames, first, size=size, leading=size * 1.25)
    flow.pour(paras)
    head = [Placed(0, margin, h - 95, title, "Times-Bold", 24),
            Placed(0, margin, h - 118, "By Tom Ashworth  ·  August 9, 2022", "Times-Italic", 10)]
    pages = flow.page + 1
    c = canvas(OUT / f"{name}.pdf", "", "Valley Herald")  # no metadata title: found on the page
    for n in range(pages):
        lines = [p for p in flow.placed if p.page == n] + (head if n == 0 else [])
        foot = [Placed(n, margin, 35, "THE VALLEY HERALD", "Times-Roman", 8),
                Placed(n, w - margin - 20, 35, str(n + 1), "Times-Roman", 8),
                Placed(n, margin, h - 40, "Tuesday, August 9, 2022", "Times-Roman", 8)]
        if scrambled:  # the footer first, then the lines top to bottom across the columns
            lines = foot + sorted(lines, key=lambda p: (-round(p.y), p.x))
        else:
            lines = lines + foot
        draw(c, lines)
        c.showPage()
    c.save()
    return {"title": title, "date": "2022-08-09", "body": paras}


def report_table(name: str) -> dict:
    """A report with a ruled table between paragraphs, running headers and page numbers; three pages."""
    from reportlab.lib.pagesizes import A5

    w, h = A5
    intro = story("results-table")
    rows = [intro[1:5][0].split(" | ")] + [r.split(" | ") for r in intro[2:5]] + [["Liberals", "7"], ["Independents", "6"]]
    before = [intro[0]] + story("short-brief") + story("h1-outside-article")
    after = [intro[5]] + story("itemprop-cards") + story("article-header-only")
    title = "Election results and council report"
    flow = Flow([(50, h - 70, w - 100, 60)], font="Helvetica", size=10, leading=13)
    flow.first_frames = [(50, h - 100, w - 100, 60)]
    flow.placed.append(Placed(0, 50, h - 82, title, "Helvetica-Bold", 14))
    flow.pour(before)
    # the table: a row a line, two cells, ruled
    table_lines: list[tuple[int, float]] = []
    for row in rows:
        x, top, width, bottom = flow._frames()[0]
        if flow.y - 16 < bottom:
            flow.page, flow.y = flow.page + 1, flow.frames[0][1]
        flow.y -= 16
        table_lines.append((flow.page, flow.y))
        bold = "Helvetica-Bold" if row is rows[0] else "Helvetica"
        flow.placed.append(Placed(flow.page, 60, flow.y + 4, row[0], bold, 10))
        flow.placed.append(Placed(flow.page, 230, flow.y + 4, row[1], bold, 10))
    flow.y -= 10
    flow.pour(after)
    pages = flow.page + 1
    c = canvas(OUT / f"{name}.pdf", title, "Council Records Office", A5)
    for n in range(pages):
        c.setFont("Helvetica-Oblique", 8)
        c.drawString(50, h - 40, "Council report 2023")
        c.drawRightString(w - 50, h - 40, "Millbridge")
        c.drawCentredString(w / 2, 35, f"- {n + 1} -")
        for page, y in table_lines:
            if page == n:
                c.line(55, y, 300, y)
        draw(c, [p for p in flow.placed if p.page == n])
        c.showPage()
    c.save()
    body = before + [" | ".join(r) for r in rows] + after
    return {"title": title, "date": "", "body": body}


# fpdf2's core fonts are Latin-1: typographic quotes and dashes as their ASCII forms
LATIN1 = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": "-", "–": "-"})


def fpdf_brief(name: str) -> dict:
    """fpdf2: multi_cell paragraphs, its header() and footer() on every page, Latin-1 core font."""
    from fpdf import FPDF

    paras = story("figures-related") + story("teaser-articles") + story("news-divs")
    title = "Wind farm with 95 turbines approved"

    class Doc(FPDF):
        def header(self):
            self.set_font("Helvetica", "I", 8)
            self.cell(0, 8, "Energy Briefing - weekly digest", align="R")
            self.ln(12)

        def footer(self):
            self.set_y(-15)
            self.set_font("Helvetica", "I", 8)
            self.cell(0, 10, f"Page {self.page_no()}", align="C")

    pdf = Doc(format=(148, 210))
    pdf.set_creation_date(datetime(2023, 5, 17, tzinfo=timezone.utc))
    pdf.set_title(title)
    pdf.set_author("Energy Desk")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.multi_cell(0, 7, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for p in paras:
        pdf.multi_cell(0, 5, p.translate(LATIN1), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    pdf.output(str(OUT / f"{name}.pdf"))
    return {"title": title, "date": "2023-05-17", "body": paras}


def scanned(name: str) -> dict:
    """Page 1 text, page 2 a scan of text (an image, no text layer)."""
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.pagesizes import A5
    from reportlab.lib.utils import ImageReader

    w, h = A5
    first = story("comments-inside")
    second = story("plain-page")
    title = "Stolen paintings found abroad"
    flow = Flow([(50, h - 90, w - 100, 60)], font="Times-Roman", size=11, leading=14)
    flow.placed.append(Placed(0, 50, h - 70, title, "Times-Bold", 14))
    flow.pour(first)
    c = canvas(OUT / f"{name}.pdf", title, "Archive", A5)
    draw(c, flow.placed)
    c.showPage()
    scale = 3  # 216 dpi
    img = Image.new("L", (int(w * scale), int(h * scale)), 245)
    pen = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=11 * scale)
    y = 60 * scale
    for para in second:
        for line in wrap(para, w - 100, "Times-Roman", 11, hyphenate=False):
            pen.text((50 * scale, y), line, fill=20, font=font)
            y += 14 * scale
        y += 5 * scale
    buf = io.BytesIO()
    img.save(buf, "PNG")
    buf.seek(0)
    c.drawImage(ImageReader(buf), 0, 0, w, h)
    c.showPage()
    c.save()
    return {"title": title, "date": "", "body": first + second, "scanned": "2", "text_layer": first}


DOCUMENTS = {
    "press-release": press_release,
    "two-column": newspaper,
    "two-column-scrambled": lambda n: newspaper(n, scrambled=True),
    "three-column": lambda n: newspaper(n, columns=3),
    "report-table": report_table,
    "fpdf-brief": fpdf_brief,
    "scanned-page": scanned,
}


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in DOCUMENTS.items():
        doc = make(name)
        (OUT / f"{name}.txt").write_text("\n".join(doc["body"]) + "\n")
        meta = {k: doc[k] for k in ("title", "date", "scanned") if k in doc}
        (OUT / f"{name}.meta").write_text("".join(f"{k}={v}\n" for k, v in meta.items()))
        if "text_layer" in doc:
            (OUT / f"{name}.text-layer.txt").write_text("\n".join(doc["text_layer"]) + "\n")
        print(f"wrote {name}.pdf", file=sys.stderr)


if __name__ == "__main__":
    main()
