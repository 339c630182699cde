"""PDF text extraction: which of a document's story words a method keeps, in what order, and how fast.

Documents: ``benchmarks/data/pdf/*.pdf``, written by ``benchmarks/pdf_set.py`` (one and two and
three columns, a table, running headers and footers, page numbers, hyphenated line ends, a page
drawn out of reading order, one written by fpdf2, one with a scanned page). Each has the story's
text (``.txt``). Scores are word-level, as in ``benchmarks/html_extraction.py``: precision = share
of the extracted words that are story words (running headers, footers and page numbers cost
precision), recall = share of the story's words extracted (a hyphenated word left in two halves
costs both); and, for the order, *pairs* = share of the story's adjacent word pairs that the
extraction has (columns read across each other, or a table read column by column, lose pairs).

    .venv/bin/python benchmarks/pdf_extraction.py     # writes results/pdf_extraction.md

Methods (each library's own text output, as a user of it gets it without more code):
  pypdfium2   PdfTextPage.get_text_range() per page (PDFium: the file's drawing order).
  pypdf       PdfReader.pages[i].extract_text().
  pdfminer    pdfminer.high_level.extract_text() (its layout analysis, default LAParams).
  pdfplumber  page.extract_text() (pdfminer's characters, lines by position).
  qa          qa.formats.pdf.parse_pdf: PDFium's characters, reading order from the words'
              places (columns, running rows and page numbers dropped, hyphens joined).
The headline is taken out of every method's text once before scoring (qa keeps it as the title).
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOCS = ROOT / "benchmarks" / "data" / "pdf"


def with_pypdfium2(data: bytes) -> str:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def with_pypdf(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def with_pdfminer(data: bytes) -> str:
    from pdfminer.high_level import extract_text

    return extract_text(io.BytesIO(data))


def with_pdfplumber(data: bytes) -> str:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def with_qa(data: bytes) -> str:
    from qa.formats.pdf import parse_pdf

    return parse_pdf(data).text


METHODS = {"pypdfium2": with_pypdfium2, "pypdf": with_pypdf, "pdfminer": with_pdfminer,
           "pdfplumber": with_pdfplumber, "qa": with_qa}


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def score(got: str, gold: str, title: str) -> tuple[float, float, float]:
    """(word precision, word recall, share of the gold's adjacent word pairs found)."""
    flat = " ".join(got.split())
    if title:
        flat = flat.replace(" ".join(title.split()), " ", 1)
    g, w = words(gold), words(flat)
    both = sum((Counter(g) & Counter(w)).values())
    pairs_gold = Counter(zip(g, g[1:]))
    pairs_got = Counter(zip(w, w[1:]))
    pairs = sum((pairs_gold & pairs_got).values()) / max(1, sum(pairs_gold.values()))
    return both / max(1, len(w)), both / max(1, len(g)), pairs


def pages(data: bytes) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        return len(pdf)
    finally:
        pdf.close()


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    docs = sorted(DOCS.glob("*.pdf"))
    rows, totals = [], {m: [] for m in METHODS}
    notes = []
    for doc in docs:
        data, gold = doc.read_bytes(), doc.with_suffix(".txt").read_text()
        meta = dict(line.split("=", 1) for line in doc.with_suffix(".meta").read_text().splitlines())
        n_pages = pages(data)
        cells = []
        for name, fn in METHODS.items():
            fn(data)  # warm: imports, caches
            times = []
            for _ in range(5):
                t = time.process_time()
                got = fn(data)
                times.append(time.process_time() - t)
            p, r, o = score(got, gold, meta["title"])
            ms = min(times) * 1000 / n_pages  # CPU time per page, fastest of 5: other processes share the machine
            if "scanned" not in meta:
                totals[name].append((p, r, o, ms))
            cells.append(f"{p:.2f} / {r:.2f} / {o:.2f} / {ms:.0f}")
        rows.append(f"| {doc.stem} ({n_pages} p.) | " + " | ".join(cells) + " |")
        from qa.formats.pdf import parse_pdf

        fields = parse_pdf(data)
        notes.append(f"| {doc.stem} | {fields.title} | {fields.date or '–'} | {fields.author or '–'} | "
                     f"{meta.get('date') or '–'} | {'; '.join(fields.notes) or '–'} |")
    mean = [
        "**" + " / ".join(f"{statistics.mean(x[i] for x in v):.{0 if i == 3 else 2}f}" for i in range(4)) + "**"
        for v in totals.values()
    ]
    out = [
        "# PDF extraction: story words kept, and their order",
        "",
        f"`.venv/bin/python benchmarks/pdf_extraction.py` ({len(docs)} documents in `benchmarks/data/pdf/`, "
        "written by `benchmarks/pdf_set.py`).",
        "Each cell: word precision / word recall / adjacent word pairs kept / CPU ms per page (fastest of 5 runs).",
        "The headline is taken out of each text once (qa keeps it as the title). The mean is over the text PDFs;",
        "scanned-page's second page is an image of text, which no method reads (its gold holds both pages).",
        "",
        "| document | " + " | ".join(METHODS) + " |",
        "|---|" + "---|" * len(METHODS),
        *rows,
        "| **mean, text PDFs** | " + " | ".join(mean) + " |",
        "",
        "What qa read besides the text (title, date, author; the date the document states, and the notes):",
        "",
        "| document | title | date | author | date in the document | notes |",
        "|---|---|---|---|---|---|",
        *notes,
        "",
    ]
    text = "\n".join(out)
    print(text)
    (ROOT / "benchmarks" / "results" / "pdf_extraction.md").write_text(text)


if __name__ == "__main__":
    main()
