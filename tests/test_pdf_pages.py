"""Cited by page: a PDF and a Word file indexed with the shipped models, questions about page 2 and 3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import needs_reader
from test_cli import qa

pytest.importorskip("reportlab", reason="reportlab writes the test PDFs (pip install -e '.[test]')")

from test_documents import write_docx, write_pdf  # noqa: E402

pytestmark = [needs_reader, pytest.mark.e2e]

PAGES = [
    ["Riverside bridge report: March 4, 2024",
     "The city council has published its plan for a new footbridge across the river at Riverside. "
     "The old crossing was closed last winter after engineers found cracks in two of its piers."],
    ["The new bridge will cost 48 million euros, the finance director Clara Moss told the council. "
     "Half of the money comes from a national transport fund."],
    ["Work on the bridge will start in April 2026 and is expected to take three years. "
     "A temporary ferry will carry cyclists while the bridge is built."],
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    arts = tmp_path_factory.mktemp("docs")
    write_pdf(arts / "bridge-report.pdf", PAGES, title="Riverside bridge report", author="City Planning Office",
              header="CITY OF RIVERSIDE  |  PLANNING")
    write_docx(arts / "museum.docx")
    return arts


@pytest.fixture(scope="module")
def engine(folder, tmp_path_factory):
    from qa import Engine

    eng = Engine()
    eng.config.index_dir = str(tmp_path_factory.mktemp("index") / "index")
    eng.config.articles_dir = str(folder)
    report = eng.index(folder)
    assert sorted(report.added) == ["bridge-report.pdf", "museum.docx"] and report.warnings == []
    return eng


@pytest.mark.parametrize("question,answer,page", [
    ("How much will the new bridge cost?", "48 million euros", 2),
    ("Who is the finance director?", "Clara Moss", 2),
    ("When will work on the bridge start?", "April 2026", 3),
])
def test_facts_on_later_pages_are_cited_with_their_page(engine, question, answer, page):
    result = engine.ask(question)
    assert result.found and answer in result.answer
    c = result.citations[0]
    assert (c.source, c.page, c.title, c.author) == ("bridge-report.pdf", page, "Riverside bridge report", "City Planning Office")
    assert result.to_dict()["citations"][0]["page"] == page


def test_a_word_article_is_answered_without_a_page(engine):
    result = engine.ask("When will the harbour museum open?")
    assert result.found and "12 May" in result.answer
    assert result.citations[0].source == "museum.docx" and result.citations[0].page is None


def test_the_reply_and_its_copy_say_the_page_and_the_viewer_shows_pages(engine):
    from dataclasses import asdict

    from qa.web.render import parse_show, plain_text, render, render_article

    result = engine.ask("How much will the new bridge cost?")
    html = render(result)
    assert "bridge-report.pdf · p. 2 · passage" in html
    assert "Riverside bridge report, 2024-03-04, by City Planning Office, bridge-report.pdf, p. 2" in plain_text(result)
    link = html.split('class="qa-show" href="#', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    article_id, mark, answer = parse_show(link)
    view = render_article(asdict(engine.article(article_id)), mark, answer)
    assert view.count('class="qa-page"') == 3  # p. 1, p. 2, p. 3
    assert view.index(">p. 2<") < view.index('id="qa-cited"') < view.index("<mark>48 million euros</mark>") < view.index(">p. 3<")


def test_search_hits_have_the_page_their_passage_starts_on(engine):
    from qa.formats.pdf import page_at

    hits = engine.search("temporary ferry for cyclists", k=3)
    (c,) = [h.source for h in hits if h.source.source == "bridge-report.pdf"]
    text = engine.article(c.article_id).text
    assert c.page == page_at(text, c.passage_start) and text.count("\f") == 2
    assert [h.source.page for h in hits if h.source.source == "museum.docx"] in ([], [None])


def test_cli_index_and_ask_show_the_page(folder, tmp_path):
    index = tmp_path / "index"
    r = qa("index", "--articles", str(folder), "--index", str(index))
    assert r.returncode == 0, r.stderr
    r = qa("ask", "Who is the finance director?", "--index", str(index), "--articles", str(folder))
    assert r.returncode == 0, r.stderr
    assert "Clara Moss" in r.stdout and "(bridge-report.pdf, p. 2, passage" in r.stdout
    r = qa("ask", "Who is the finance director?", "--index", str(index), "--json")
    assert json.loads(r.stdout)["citations"][0]["page"] == 2


def test_a_pdf_uploaded_through_the_page_is_indexed_and_its_original_offered(engine, tmp_path):
    from qa.web import library

    upload = write_pdf(tmp_path / "ferry-notice.pdf", [["Ferry notice"], ["The night ferry to Eastport is cancelled until 3 June."]],
                       title="Ferry notice")
    result = library.add_files(engine, [str(upload)])
    assert result["added"] == ["ferry-notice.pdf"] and result["warnings"] == []
    answer = engine.ask("Until when is the night ferry to Eastport cancelled?")
    assert "3 June" in answer.answer and answer.citations[0].page == 2
    copy = library.original_file(engine.config, {"source": "ferry-notice.pdf"})
    assert copy and copy != str(upload) and open(copy, "rb").read() == upload.read_bytes()
    assert library.original_file(engine.config, {"source": "museum.docx"}).endswith("museum.docx")
    outside = upload.read_bytes()
    (tmp_path.parent / "outside.pdf").write_bytes(outside)
    escape = f"../{tmp_path.name}/../outside.pdf"  # a real PDF, reached from the folder through '..'
    assert (Path(engine.config.articles_dir) / escape).resolve().is_file()
    assert library.original_file(engine.config, {"source": escape}) is None  # never outside the folder
    (tmp_path / "note.txt").write_text("x")
    assert library.original_file(engine.config, {"source": "note.txt"}) is None  # text articles are shown whole
    assert library.original_file(engine.config, None) is None
