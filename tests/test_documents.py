"""PDF and Word articles: real files written here (reportlab, python-docx), read as the folder walk reads them."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("reportlab", reason="reportlab writes the test PDFs (pip install -e '.[test]')")
pytest.importorskip("pypdfium2")

from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.pdfgen.canvas import Canvas  # noqa: E402

LEFT = ("The river authority said on Monday that the water level at the old mill had fallen by two metres "
        "since June, the lowest level it has measured in forty years.")
RIGHT = ("Ferry services between the two banks will stop from Friday until the rain returns, the operator "
         "announced in a short statement to passengers.")


def write_pdf(path: Path, pages: list[list[str]], title: str = "", author: str = "", header: str = "",
              footer: bool = True, encrypt: str = "", size: float = 11) -> Path:
    """A one-column PDF: each page's paragraphs wrapped at 60 characters, a running header and "Page N of M"."""
    import textwrap

    kwargs = {}
    if encrypt:
        from reportlab.lib import pdfencrypt

        kwargs["encrypt"] = pdfencrypt.StandardEncryption(encrypt, ownerPassword="owner")
    c = Canvas(str(path), pagesize=A4, invariant=1, **kwargs)
    if title:
        c.setTitle(title)
    if author:
        c.setAuthor(author)
    w, h = A4
    for n, paras in enumerate(pages, 1):
        if header:
            c.setFont("Helvetica", 8)
            c.drawString(60, h - 40, header)
        if footer:
            c.setFont("Helvetica", 8)
            c.drawRightString(w - 60, 30, f"Page {n} of {len(pages)}")
        y = h - 90
        c.setFont("Times-Roman", size)
        for para in paras:
            for line in textwrap.wrap(para, 60):
                c.drawString(60, y, line)
                y -= size * 1.3
            y -= size * 0.8
        c.showPage()
    c.save()
    return path


def write_two_columns(path: Path) -> Path:
    """One page: a headline across, then two columns drawn line by line across the page (left line, right
    line, ...), as layout programs draw them; each column's lines end with a hyphenated word."""
    c = Canvas(str(path), pagesize=A4, invariant=1)
    w, h = A4
    c.setFont("Times-Bold", 22)
    c.drawString(50, h - 80, "River falls to a forty-year low")
    left = ["The river authority said on Monday that", "the water level at the old mill had fal-",
            "len by two metres since June, the lowest", "level it has measured in forty years."]
    right = ["Ferry services between the two banks", "will stop from Friday until the rain re-",
             "turns, the operator announced in a short", "statement to passengers."]
    c.setFont("Times-Roman", 11)
    y = h - 130
    for a, b in zip(left, right):
        c.drawString(50, y, a)
        c.drawString(310, y, b)
        y -= 14
    c.showPage()
    c.save()
    return path


def read(folder: Path, **options):
    from qa.articles import load_articles

    return load_articles(folder, **options)


# --- PDF ----------------------------------------------------------------------------------------


def test_two_columns_are_read_one_after_the_other_with_hyphens_joined(tmp_path):
    from qa.formats.pdf import parse_pdf

    fields = parse_pdf(write_two_columns(tmp_path / "river.pdf").read_bytes())
    assert fields.title == "River falls to a forty-year low"
    assert fields.text == LEFT + "\n" + RIGHT


def test_running_header_and_page_numbers_are_dropped_and_pages_kept(tmp_path):
    from qa.formats.pdf import PAGE_MARK, page_at, parse_pdf

    pages = [["Town hall report: March 4, 2024"], ["The library will open on Sundays from May, the council decided."],
             ["The pool reopens in June after repairs costing 2.1 million euros."]]
    fields = parse_pdf(write_pdf(tmp_path / "r.pdf", pages, title="Council report", header="TOWN HALL NEWS  |  2024").read_bytes())
    assert fields.title == "Council report" and fields.pages == 3
    assert "TOWN HALL" not in fields.text and "Page" not in fields.text
    assert fields.text.count(PAGE_MARK) == 2
    assert page_at(fields.text, fields.text.index("The library")) == 2
    assert page_at(fields.text, fields.text.index("2.1 million")) == 3


def test_title_date_and_author_from_the_first_page_when_the_metadata_has_none(tmp_path):
    from qa.formats.pdf import parse_pdf

    path = tmp_path / "p.pdf"
    c = Canvas(str(path), pagesize=A4, invariant=1)
    c.setAuthor("anonymous")  # a generator's placeholder, not an author
    c.setFont("Helvetica-Bold", 20)
    c.drawString(60, 760, "Bakery chain to open 40 shops")
    c.setFont("Helvetica", 10)
    c.drawString(60, 740, "By Ann Lee  ·  4 March 2024")
    c.drawString(60, 700, "The family-owned chain Brot & Co will open 40 new shops over the next two years.")
    c.showPage()
    c.save()
    fields = parse_pdf(path.read_bytes())
    assert (fields.title, fields.date, fields.author) == ("Bakery chain to open 40 shops", "2024-03-04", "Ann Lee")
    assert fields.text == "The family-owned chain Brot & Co will open 40 new shops over the next two years."


def test_a_table_is_read_row_by_row(tmp_path):
    from qa.formats.pdf import parse_pdf

    path = tmp_path / "t.pdf"
    c = Canvas(str(path), pagesize=A4, invariant=1)
    c.setFont("Helvetica", 10)
    c.drawString(60, 760, "Seats won on Sunday by each party, as counted by the city's election office.")
    rows = [("Party", "Seats"), ("Greens", "18"), ("Social Democrats", "15"), ("Conservatives", "14")]
    for n, (a, b) in enumerate(rows):
        c.drawString(60, 730 - 16 * n, a)
        c.drawString(300, 730 - 16 * n, b)
    c.showPage()
    c.save()
    text = parse_pdf(path.read_bytes()).text
    assert text.endswith("election office.\nParty | Seats\nGreens | 18\nSocial Democrats | 15\nConservatives | 14")


def test_a_scanned_page_is_named_and_the_rest_read(tmp_path):
    from PIL import Image
    from reportlab.lib.utils import ImageReader

    path = tmp_path / "scan.pdf"
    c = Canvas(str(path), pagesize=A4, invariant=1)
    c.setFont("Times-Roman", 11)
    c.drawString(60, 760, RIGHT)
    c.showPage()
    c.drawImage(ImageReader(Image.new("L", (200, 280), 200)), 0, 0, *A4)  # a page that is only a picture
    c.showPage()
    c.save()
    articles, warnings = read(tmp_path)
    assert [a.text for a in articles] == [RIGHT + "\n\f"]
    assert warnings == ["scan.pdf: page 2 is an image without a text layer (a scan?): not read (qa has no OCR)"]


def test_encrypted_malformed_and_empty_pdfs_are_skipped_with_a_message_and_nothing_else_is_affected(tmp_path):
    write_pdf(tmp_path / "good.pdf", [[LEFT]], title="Good")
    write_pdf(tmp_path / "locked.pdf", [[RIGHT]], title="Locked", encrypt="secret")
    good = (tmp_path / "good.pdf").read_bytes()
    (tmp_path / "truncated.pdf").write_bytes(good[: len(good) // 3])
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "note.txt").write_text("A note\n\nThe ferry runs again.\n")
    articles, warnings = read(tmp_path)
    assert [a.id for a in articles] == ["good.pdf", "note.txt"]
    assert sorted(warnings) == [
        "skipped empty.pdf: empty file",
        "skipped junk.pdf: not a readable PDF (damaged, or not a PDF at all)",
        "skipped locked.pdf: encrypted: it needs a password to open, so it cannot be read (save it without a password)",
        "skipped truncated.pdf: not a readable PDF (damaged, or not a PDF at all)",
    ]


def test_a_pdf_only_locked_against_copying_is_read(tmp_path):
    from qa.formats.pdf import parse_pdf

    from reportlab.lib import pdfencrypt

    # an owner password alone (none to open it): what "protected" press PDFs usually are

    path = tmp_path / "owner.pdf"
    c = Canvas(str(path), encrypt=pdfencrypt.StandardEncryption("", ownerPassword="owner", canCopy=0), invariant=1)
    c.drawString(60, 760, RIGHT)
    c.showPage()
    c.save()
    fields = parse_pdf(path.read_bytes())
    assert fields.text == RIGHT


def test_a_pdf_over_the_time_budget_is_skipped_and_the_next_file_is_read(tmp_path):
    from qa.articles import ArticleReader
    from qa.formats.isolated import DocumentReader

    write_pdf(tmp_path / "a-long.pdf", [[LEFT, RIGHT] * 6] * 500, footer=False)
    write_pdf(tmp_path / "b-short.pdf", [[RIGHT]], title="Short")
    reader = DocumentReader()
    try:
        t0 = time.monotonic()
        articles, warnings = ArticleReader(max_document_seconds=1, documents=reader).read_folder(tmp_path)
        took = time.monotonic() - t0
    finally:
        reader.close()
    assert [a.id for a in articles] == ["b-short.pdf"]
    assert warnings == ["skipped a-long.pdf: not read within 1 s (the time limit for one PDF or Word file, "
                        "Config.max_document_seconds): skipped"]
    assert took < 30, took


def test_a_pdf_over_the_size_limit_is_skipped_unread(tmp_path):
    from qa.articles import ArticleReader

    write_pdf(tmp_path / "big.pdf", [[LEFT]] * 3)
    articles, warnings = ArticleReader(max_document_bytes=1000).read_folder(tmp_path)
    assert articles == [] and len(warnings) == 1
    assert "larger than the limit of 1,000 bytes for a PDF or Word file (Config.max_document_bytes)" in warnings[0]


def test_a_reader_that_dies_costs_the_file_not_the_caller(tmp_path):
    import os
    import signal
    import threading

    from qa.formats import ArticleError
    from qa.formats.isolated import DocumentReader

    write_pdf(tmp_path / "long.pdf", [[LEFT, RIGHT] * 6] * 300, footer=False)
    write_pdf(tmp_path / "short.pdf", [[LEFT]] * 2)
    reader = DocumentReader()
    try:
        reader.read(tmp_path / "short.pdf", seconds=60)  # the child is up
        pid = reader._proc.pid
        threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()  # as a parser crash would end it
        with pytest.raises(ArticleError, match=r"the PDF reader stopped on it \(exit code -9; a damaged file"):
            reader.read(tmp_path / "long.pdf", seconds=60)
        assert reader.read(tmp_path / "short.pdf", seconds=60).pages == 2  # a fresh child reads the next file
    finally:
        reader.close()


def test_a_reader_that_cannot_start_says_so(tmp_path):
    from qa.formats import ArticleError
    from qa.formats.isolated import DocumentReader

    write_pdf(tmp_path / "a.pdf", [[LEFT]])
    reader = DocumentReader(memory_bytes=1024**2)  # 1 MB: the child cannot even load PDFium
    try:
        with pytest.raises(ArticleError, match="the PDF and Word reader did not start"):
            reader.read(tmp_path / "a.pdf", seconds=30)
    finally:
        reader.close()


# --- Word ---------------------------------------------------------------------------------------


def write_docx(path: Path, title: str = "Harbour museum to open in May", author: str = "Maria Costa") -> Path:
    import datetime

    import docx

    d = docx.Document()
    d.core_properties.title = title
    d.core_properties.author = author
    d.core_properties.created = datetime.datetime(2024, 3, 1, 9, 0)
    d.add_heading(title, 0)
    d.add_paragraph("The harbour museum will open on 12 May, the city said on Friday.")
    d.add_heading("Tickets", 1)
    d.add_paragraph("Entry will be free for children under twelve.")
    t = d.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Ticket", "Price"), ("Adult", "9 euros"), ("Family", "20 euros")]):
        t.cell(r, 0).text, t.cell(r, 1).text = a, b
    d.add_paragraph("The museum holds 4,000 objects from the port's history.")
    d.save(str(path))
    return path


def test_word_paragraphs_headings_and_tables_in_order_with_the_properties(tmp_path):
    write_docx(tmp_path / "museum.docx")
    articles, warnings = read(tmp_path)
    assert warnings == []
    (a,) = articles
    assert (a.id, a.title, a.author, a.date) == ("museum.docx", "Harbour museum to open in May", "Maria Costa", "2024-03-01")
    assert a.text == ("The harbour museum will open on 12 May, the city said on Friday.\nTickets\n"
                      "Entry will be free for children under twelve.\nTicket | Price\nAdult | 9 euros\nFamily | 20 euros\n"
                      "The museum holds 4,000 objects from the port's history.")


def test_word_title_from_the_first_heading_and_byline_over_the_file_author(tmp_path):
    import docx

    from qa.formats.word import parse_docx

    d = docx.Document()  # python-docx's own properties: author "python-docx", no title
    d.add_heading("Ferry stops until the rain returns", 0)
    d.add_paragraph("By Tom Ashworth")
    d.add_paragraph(RIGHT)
    buf = io.BytesIO()
    d.save(buf)
    fields = parse_docx(buf.getvalue())
    assert (fields.title, fields.author, fields.text) == ("Ferry stops until the rain returns", "Tom Ashworth", RIGHT)


def test_broken_locked_and_bomb_word_files_are_refused_with_a_message(tmp_path, monkeypatch):
    from qa.formats import ArticleError
    from qa.formats import word

    (tmp_path / "old.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))  # OLE: encrypted or .doc
    (tmp_path / "cut.docx").write_bytes(write_docx(tmp_path / "x.docx").read_bytes()[:500])
    (tmp_path / "x.docx").unlink()
    articles, warnings = read(tmp_path)
    assert articles == []
    assert sorted(warnings) == [
        "skipped cut.docx: not a readable .docx file (File is not a zip file)",
        "skipped old.docx: an encrypted Word file or an old .doc file, not a .docx: cannot be read "
        "(save it as .docx without a password)",
    ]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"<" + b" " * 3_000_000)
    monkeypatch.setattr(word, "MAX_UNPACKED_BYTES", 1_000_000)
    with pytest.raises(ArticleError, match="unpacks to 3 MB, more than the limit of 1 MB"):
        word.parse_docx(buf.getvalue())
