"""The chat reply's HTML and plain text, from answers built here (no models)."""

from qa.engine import Answer
from qa.retrieval import Citation
from qa.web.library import listing
from qa.articles import Article
from qa.web.app import filter_rows
from qa.web.render import plain_text, render, render_article, safe_url

PASSAGE = "Mayor <b>Ana</b> Ruiz opened the <script>alert(1)</script> bridge on Monday. Monday was sunny."


def cite(start: int | None = None, end: int | None = None, url: str = "https://example.org/a?x=1&y=2", **kw) -> Citation:
    fields = dict(article_id="a.txt", title="Bridge <i>opens</i>", date="2011-07-04", source="a.txt", url=url,
                  passage_number=1, passage_start=100, passage_end=100 + len(PASSAGE), passage=PASSAGE)
    fields.update(kw)
    return Citation(**fields, answer_start=start, answer_end=end)


def at(word: str, nth: int = 0) -> tuple[int, int]:
    i = -1
    for _ in range(nth + 1):
        i = PASSAGE.index(word, i + 1)
    return 100 + i, 100 + i + len(word)


def answer(text="Monday", citations=None, **kw) -> Answer:
    citations = citations if citations is not None else [cite(*at("Monday"))]
    return Answer("When did it open? <img src=x>", text, 5.0, 0.9, citations, citations, "When did it open? <img src=x>", **kw)


def test_markup_in_articles_is_escaped_text():
    html = render(answer())
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Ana</b>" not in html and "<i>opens</i>" not in html and "Bridge &lt;i&gt;opens&lt;/i&gt;" in html


def test_answer_comes_first_and_sources_are_collapsed_below():
    html = render(answer())
    assert html.index('class="qa-text"') < html.index('<details class="qa-sources">')
    assert "<details open" not in html and "Sources: Bridge &lt;i&gt;opens&lt;/i&gt; (2011-07-04)" in html


def test_one_numbering_and_passages_counted_from_one():
    html = render(answer(citations=[cite(*at("Monday")), cite(*at("Ruiz"), article_id="b.txt", passage_number=3)]))
    assert "[1]" not in html and "[2]" not in html and html.count('<li class="qa-cite">') == 2
    assert "passage 1" in html and "passage 3" in html


def test_the_same_answer_twice_in_one_passage_is_one_entry_with_two_marks():
    html = render(answer(citations=[cite(*at("Monday")), cite(*at("Monday", 1))]))
    assert html.count('<li class="qa-cite">') == 1 and html.count("<mark>Monday</mark>") == 2


def test_links_only_for_http_urls_new_tab_noopener():
    html = render(answer())
    assert ('<a class="qa-link" href="https://example.org/a?x=1&amp;y=2" target="_blank" rel="noopener noreferrer">'
            in html)
    for bad in ("javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,<script>", "//evil.example", "ftp://x/y",
                "https://x.org/a b", ""):
        assert safe_url(bad) is None
        assert 'class="qa-link"' not in render(answer(citations=[cite(*at("Monday"), url=bad)]))


def test_no_article_text_is_embedded_only_a_show_article_link():
    html = render(answer(citations=[cite(*at("Monday"), article_id="https://example.org/a?x=1")]))
    assert 'class="qa-show" href="#article=https%3A%2F%2Fexample.org%2Fa%3Fx%3D1"' in html
    assert "Full source" not in html


def test_relative_answer_shows_its_calendar_date():
    html = render(answer(answer_date="2011-07-04"))
    assert '<b class="qa-text">Monday</b> <span class="qa-date">— 4 July 2011</span>' in html
    assert plain_text(answer(answer_date="2011-07-04")).startswith("Monday — 4 July 2011\n")


def test_answers_that_changed_and_preferred_periods_are_said():
    over = [{"answer": "340", "date": "2011-07-01", "title": "New", "article_id": "n"},
            {"answer": "120", "date": "2011-06-01", "title": "Old", "article_id": "o"}]
    html = render(answer(text="340", over_time=over, period="2011-07"))
    assert "differ over time, newest first: <b>340</b> (2011-07-01); <b>120</b> (2011-06-01)" in html
    assert "Articles from July 2011 first" in html
    assert "Earlier: 120 (2011-06-01, Old)" in plain_text(answer(text="340", over_time=over))


def test_plain_text_is_the_answer_then_sources_one_line_per_article():
    a = answer(citations=[cite(*at("Monday")), cite(*at("Monday", 1)), cite(*at("Ruiz"), article_id="b", url="", source="b.txt",
                                                                            title="Other")])
    assert plain_text(a) == ("Monday\n\nSources:\n1. Bridge <i>opens</i>, 2011-07-04, https://example.org/a?x=1&y=2\n"
                             "2. Other, 2011-07-04, b.txt")
    # and it travels in the reply escaped, on one line for Markdown
    assert "&#10;&#10;Sources:&#10;1. Bridge &lt;i&gt;opens&lt;/i&gt;" in render(a)


def test_no_answer_lists_the_closest_passages():
    a = Answer("Who?", None, -1.0, 0.1, [], [cite(), cite(article_id="b")], "Who?")
    assert "I could not find an answer" in render(a) and "Closest passages: Bridge" in render(a)
    assert plain_text(a).startswith("I could not find an answer in the articles.\n\nClosest passages:\n1. ")


def test_article_view_is_escaped_and_links_only_http():
    html = render_article({"title": "<b>T</b>", "text": "<script>x()</script>\n\nSecond", "date": "2011-07-04",
                           "source": "a.txt", "url": "javascript:x()"})
    assert "<script>" not in html and "&lt;b&gt;T&lt;/b&gt;" in html and "<br><br>Second" in html and "href" not in html
    assert "no longer in the index" in render_article(None)


def test_article_list_is_newest_first_and_filters_on_every_word():
    arts = [Article("a", "Beta news", "", "2010-01-01", "a.txt"), Article("b", "Alpha, undated", "", "", "b.txt"),
            Article("c", "Zeta news", "", "2012-05-02", "c.json", "https://x.org/c"),
            Article("d", "Gamma news", "", "2012-05-02", "d.txt")]
    rows = listing(arts)
    assert [r["id"] for r in rows] == ["d", "c", "a", "b"]  # newest first, then by title; undated last
    assert [r["id"] for r in filter_rows(rows, "NEWS 2010")] == ["a"]
    assert [r["id"] for r in filter_rows(rows, "x.org")] == ["c"] and len(filter_rows(rows, "")) == 4
