"""The chat reply's HTML and plain text, from answers built here (no models)."""

from qa.answers import evidence
from qa.engine import Answer
from qa.retrieval import Citation, Source
from qa.web.app import panel_note
from qa.web.render import parse_show, plain_text, render, render_article, safe_url

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
    start, end = at("Monday")
    assert (f'class="qa-show" href="#article=https%3A%2F%2Fexample.org%2Fa%3Fx%3D1&amp;start=100&amp;end={100 + len(PASSAGE)}'
            f'&amp;answer_start={start}&amp;answer_end={end}"') in html
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


def test_a_current_state_that_a_newer_article_does_not_confirm_says_so():
    a = answer(text="Ana Ruiz", newer_read="2011-08-01")
    note = "Said on 4 July 2011; a newer article (1 August 2011) does not confirm it, so it may have changed since."
    html = render(a)
    assert f'<p class="qa-meta qa-newer">{note}</p>' in html
    assert html.index("qa-newer") < html.index("qa-confidence") and note in plain_text(a)
    assert "qa-newer" not in render(answer(text="Ana Ruiz")) and "newer article" not in plain_text(answer(text="Ana Ruiz"))


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


def test_the_article_list_says_when_it_lists_only_the_newest_or_nothing():
    row = {"id": "a", "title": "T", "date": "", "source": "a.txt", "url": ""}
    assert panel_note({"total": 3, "matching": 3, "rows": [row] * 3}, "") == ""
    assert "The newest 2 of 1,000,000 articles are listed" in panel_note({"total": 10**6, "matching": 10**6, "rows": [row] * 2}, "")
    assert "The newest 2 of 5 matching articles" in panel_note({"total": 10**6, "matching": 5, "rows": [row] * 2}, "ferry")
    assert "No article matches “&lt;b&gt;x&lt;/b&gt;”" in panel_note({"total": 4, "matching": 0, "rows": []}, "<b>x</b>")
    assert "No articles are indexed yet" in panel_note({"total": 0, "matching": 0, "rows": []}, "")


def with_evidence(citations=None, author="", **kw) -> Answer:
    citations = citations if citations is not None else [cite(*at("Monday"), author=author)]
    return answer(citations=citations, evidence=evidence(citations[0]), **kw)


def test_the_sentence_behind_the_answer_is_under_it_escaped_with_the_answer_marked_and_its_source():
    html = render(with_evidence(author="By Ana <i>Ruiz</i>"))
    assert html.index('class="qa-text"') < html.index('class="qa-evidence"') < html.index('qa-confidence')
    said = html[html.index('<p class="qa-said">'):html.index("</p>", html.index('<p class="qa-said">'))]
    assert said == ('<p class="qa-said">“Mayor &lt;b&gt;Ana&lt;/b&gt; Ruiz opened the &lt;script&gt;alert(1)&lt;/script&gt; '
                    'bridge on <mark>Monday</mark>.”')
    source = html[html.index('class="qa-meta qa-evidence-source"'):]
    assert source.startswith('class="qa-meta qa-evidence-source">— Bridge &lt;i&gt;opens&lt;/i&gt; · 2011-07-04 · '
                             'by Ana &lt;i&gt;Ruiz&lt;/i&gt; · <a class="qa-show" href="#article=a.txt&amp;start=100&amp;end=')
    s, e = at("Monday")
    assert f"&amp;start=100&amp;end={s + len('Monday.')}&amp;answer_start={s}&amp;answer_end={e}" in source
    assert 'class="qa-evidence"' not in render(answer())  # no sentence, no block
    assert 'class="qa-evidence"' not in render(Answer("Who?", None, -1.0, 0.1, [], [cite()], "Who?"))


def test_the_sentence_is_one_line_with_the_answer_marked_when_the_answer_crosses_a_line_break():
    passage = "Before.\nThe bridge opened on Monday\n4 July, officials said."
    s = passage.index("Monday")
    c = cite(100 + s, 100 + s + len("Monday\n4 July"), passage=passage, passage_end=100 + len(passage))
    a = answer(text="Monday\n4 July", citations=[c], evidence=evidence(c))
    assert "“The bridge opened on <mark>Monday 4 July</mark>, officials said.”" in render(a)
    assert "\n“The bridge opened on Monday 4 July, officials said.”\n" in plain_text(a)


def test_copy_gives_the_answer_the_sentence_in_quotes_and_its_source_with_date_author_and_url():
    text = plain_text(with_evidence(author="Ana Ruiz", answer_date="2011-07-04"))
    assert text.startswith("Monday — 4 July 2011\n"
                           "“Mayor <b>Ana</b> Ruiz opened the <script>alert(1)</script> bridge on Monday.”\n"
                           "— Bridge <i>opens</i>, 2011-07-04, by Ana Ruiz, https://example.org/a?x=1&y=2\n\nSources:\n")
    assert text.endswith("1. Bridge <i>opens</i>, 2011-07-04, by Ana Ruiz, https://example.org/a?x=1&y=2")
    # without an author or a URL: the file
    text = plain_text(with_evidence(citations=[cite(*at("Monday"), url="")]))
    assert "bridge on Monday.”\n— Bridge <i>opens</i>, 2011-07-04, a.txt\n" in text and " by " not in text


def test_bylines_in_the_citation_and_the_article_view():
    html = render(answer(citations=[cite(*at("Monday"), author="Joan Ferrer")]))
    head = html[html.index('<li class="qa-cite">'):html.index('<div class="qa-passage">')]
    assert "2011-07-04 · by Joan Ferrer · a.txt · passage 1" in head
    assert " by " not in render(answer())[:render(answer()).index('<div class="qa-plain">')]
    view = render_article({"title": "T", "text": "x", "date": "2011-07-04", "source": "a.txt", "url": "", "author": "<b>Joan</b>"})
    assert '<p class="qa-meta">2011-07-04 · by &lt;b&gt;Joan&lt;/b&gt; · a.txt</p>' in view
    assert "by" not in render_article({"title": "T", "text": "x", "date": "", "source": "a.txt", "url": ""})


def test_and_n_more_counts_articles_not_passages():
    def passage(n: int) -> Citation:  # passage n of a.txt, the answer "Monday" in it
        start = 100 + 300 * (n - 1)
        s, e = at("Monday")
        return cite(s - 100 + start, e - 100 + start, passage_number=n, passage_start=start, passage_end=start + len(PASSAGE))

    three_passages_of_one = [passage(1), passage(2), passage(3)]
    html = render(answer(citations=three_passages_of_one))
    assert html.count('<li class="qa-cite">') == 3 and " more" not in html[:html.index("</summary>")]
    html = render(answer(citations=three_passages_of_one + [cite(*at("Monday"), article_id="b.txt", title="B")]))
    assert "(2011-07-04) and 1 more article</summary>" in html
    html = render(answer(citations=three_passages_of_one + [cite(*at("Monday"), article_id=x, title=x) for x in "bc"]))
    assert "(2011-07-04) and 2 more articles</summary>" in html


def test_show_article_marks_the_cited_range_escaped_and_ignores_a_bad_range():
    article = {"title": "T", "text": "A <b>x</b> said\nMonday it opened. Later.", "date": "", "source": "a.txt", "url": ""}
    s = article["text"].index("Monday")
    html = render_article(article, (2, s + len("Monday it opened.")), (s, s + 6))
    assert ('A <span class="qa-cited" id="qa-cited">&lt;b&gt;x&lt;/b&gt; said<br><mark>Monday</mark> it opened.</span> Later.'
            in html)
    assert "<mark>" not in render_article(article, (2, 9), (s, s + 6))  # an answer outside the range is not marked
    for bad in [(5, 5), (9, 2), (0, 999)]:
        assert "qa-cited" not in render_article(article, bad)
    assert parse_show("#article=a%26b%3Dc.txt&start=10&end=20&answer_start=12&answer_end=14") == ("a&b=c.txt", (10, 20), (12, 14))
    assert parse_show("article=x&start=ten&end=20") == ("x", None, None) and parse_show("article=x") == ("x", None, None)
    assert parse_show("article=x&start=-1&end=20") == ("x", None, None)


def test_a_question_declined_for_its_kind_says_so():
    """Declined because nothing found is of the kind asked: the page says what was asked for; a low-confidence decline does not."""
    c = Source("a", "A", "", "a.txt", "", 1, 0, 20, "More were feared lost.")
    wrong_kind = Answer("How many lifeboats were there?", None, 9.0, 0.0, [], [c], "How many lifeboats were there?",
                        answer_type="number", declined="wrong kind")
    assert "asks for a number" in render(wrong_kind)
    low = Answer("How many lifeboats were there?", None, 1.0, 0.1, [], [c], "How many lifeboats were there?",
                 answer_type="number", declined="low confidence")
    assert "asks for" not in render(low)


def test_a_current_state_declined_because_a_later_article_differs_says_so():
    c = Source("a", "A", "2025-03-04", "a.txt", "", 1, 0, 20, "Output reached 85%.")
    changed = Answer("How much is it running at now?", None, 1.0, 0.31, [], [c], "How much is it running at now?",
                     declined="changed later")
    assert "a later article may give another answer" in render(changed)
