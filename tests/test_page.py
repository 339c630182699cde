"""The chat page for everyone, in a real browser (a real `qa serve`, headless Chromium):

- accessibility: axe-core (installed from npm into tests/.axe by `.ci/setup --test`) is injected
  into the page and finds no serious or critical problem in the page's main states; the text
  boxes have names of their own in Chromium's accessibility tree;
- a phone's screen (390 px): "show article" brings the article into view, scrolled to the cited
  passage, marked; the chat's label never covers a scrolled answer;
- the chat's own trash can clears the conversation, not only the bubbles;
- the articles panel follows the index (a deleted article leaves it without a reload) and says
  when a filter matches nothing.

Screenshots go to tests/output/ (not committed).
"""

import json
import shutil
import time

import pytest

from conftest import ROOT, SEEDS, needs_reader
from test_web import ask_in_page, browser, css, open_page, serving, shot, wait  # noqa: F401 (browser: a fixture)

pytestmark = [needs_reader, pytest.mark.browser]

AXE = ROOT / "tests" / ".axe" / "node_modules" / "axe-core" / "axe.min.js"
LIGHTHOUSE = "The new lighthouse of the harbour of Palamós was designed by the engineer Pau Serra."
FILLER = ("Paragraph {n} of the harbour report describes the fishing fleet, the weather over the bay, the prices "
          "at the fish market and the work on the quays during the spring of that year.")
BYLINED = [{"title": "Cadaqués opens a sea museum", "date": "2012-05-02", "author": "Núria Vidal",
            "url": "https://example.org/news/sea-museum",
            "text": "The new sea museum of Cadaqués was designed by the architect Joan Ferrer after a long search."}]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The seed articles, a bylined one, and a long report whose answer is in its last paragraph."""
    tmp = tmp_path_factory.mktemp("page")
    arts = tmp / "articles"
    shutil.copytree(SEEDS, arts)
    (arts / "bylined.json").write_text(json.dumps(BYLINED))
    (arts / "harbour-report.txt").write_text(
        "Harbour report from Palamós\n\nPosted May 3rd, 2012\n\n"
        + "\n\n".join(FILLER.format(n=n) for n in range(1, 41)) + "\n\n" + LIGHTHOUSE + "\n")
    with serving(tmp, arts) as url:
        yield url, arts


@pytest.fixture
def phone(browser):  # noqa: F811
    """The browser as a phone: a 390 x 844 screen (Chromium's own device emulation)."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    yield browser
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def axe(driver) -> list[dict]:
    """axe-core's violations on the page as it is now: [{id, impact, help, nodes: [selector, ...]}]."""
    if not AXE.exists():
        pytest.fail("axe-core is needed: bash .ci/setup --test installs it (npm install --prefix tests/.axe axe-core)")
    if not driver.execute_script("return !!window.axe"):
        driver.execute_script(AXE.read_text())
    driver.set_script_timeout(120)
    return driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))));""")


# Fixed here and kept fixed: serious and critical problems, and the headings (moderate in axe).
FIXED_RULES = {"page-has-heading-one", "heading-order"}


def problems(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in ("serious", "critical") or v["id"] in FIXED_RULES]


def accessible_name(driver, selector: str) -> str:
    """The name Chromium's accessibility tree gives the element (what a screen reader says)."""
    doc = driver.execute_cdp_cmd("DOM.getDocument", {"depth": 0})
    node = driver.execute_cdp_cmd("DOM.querySelector", {"nodeId": doc["root"]["nodeId"], "selector": selector})
    tree = driver.execute_cdp_cmd("Accessibility.getPartialAXTree", {"nodeId": node["nodeId"], "fetchRelatives": False})
    return tree["nodes"][0].get("name", {}).get("value", "")


def opaque(driver, selector: str) -> bool:
    """Whether an element and every element above it are fully opaque: Gradio fades a component while
    it updates, and axe measures contrast as it finds it (a faded line reads as low contrast)."""
    return driver.execute_script(
        "let e = document.querySelector(arguments[0]); if (!e) return false;"
        "for (; e; e = e.parentElement) { if (parseFloat(getComputedStyle(e).opacity) < 1) return false; } return true;",
        selector)


def rows(driver) -> list[str]:
    # body rows (the header is a tr), read in one call: the table re-renders while it fills
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#qa-articles div[role=row]')).map(r => r.innerText)")


def test_no_serious_accessibility_problem_in_the_pages_main_states(site, browser):  # noqa: F811
    url, _ = site
    open_page(browser, url)
    wait(browser, lambda d: len(rows(d)) == 3)
    found = {"empty page": problems(axe(browser))}
    assert [h.text for h in css(browser, "h1")] == ["Ask the articles"]
    assert accessible_name(browser, "#qa-question textarea") == "Your question"
    assert accessible_name(browser, "#qa-article-search textarea") == "Filter articles"

    reply = ask_in_page(browser, "Who designed the sea museum of Cadaqués?", 1)
    css(reply, "details.qa-sources summary")[0].click()
    found["answer, sources open"] = problems(axe(browser))

    css(reply, "a.qa-show")[0].click()
    wait(browser, lambda d: css(d, "#qa-article-view .qa-article"), 60)
    wait(browser, lambda d: opaque(d, "#qa-article-view .qa-article .qa-meta"), 30)
    found["article viewer"] = problems(axe(browser))
    reply = ask_in_page(browser, "Who designed the new lighthouse of the harbour of Palamós?", 2)
    css(reply, "a.qa-show")[0].click()  # a long article: its text scrolls in the viewer
    wait(browser, lambda d: "Palamós" in css(d, "#qa-article-view .qa-article h2")[0].text, 60)
    wait(browser, lambda d: opaque(d, "#qa-article-view .qa-article .qa-meta"), 30)
    found["long article in the viewer"] = problems(axe(browser))

    css(browser, "#qa-add-panel button, #qa-add-panel .label-wrap")[0].click()
    wait(browser, lambda d: css(d, "#qa-upload button"), 10)
    found["add articles open"] = problems(axe(browser))

    css(browser, "#qa-article-search textarea")[0].send_keys("no such words")
    wait(browser, lambda d: "No article matches" in css(d, "#qa-articles-none")[0].text, 30)
    found["panel filtered, no match"] = problems(axe(browser))
    shot(browser, "a11y-desktop")
    assert found == {state: [] for state in found}, json.dumps(found, indent=1, ensure_ascii=False)


def test_no_serious_accessibility_problem_on_a_phone(site, phone):
    url, _ = site
    open_page(phone, url)
    reply = ask_in_page(phone, "Who designed the sea museum of Cadaqués?", 1)
    css(reply, "details.qa-sources summary")[0].click()
    css(reply, "a.qa-show")[0].click()
    wait(phone, lambda d: css(d, "#qa-article-view .qa-article"), 60)
    assert problems(axe(phone)) == []


IN_VIEW = """const el = arguments[0], r = el.getBoundingClientRect();
const box = el.closest('.qa-article-text'), b = box ? box.getBoundingClientRect() : {top: 0, bottom: innerHeight};
const first = el.getClientRects()[0], hit = document.elementFromPoint(first.left + 4, first.top + first.height / 2);
const seen = !!hit && (hit === el || el.contains(hit));
return seen && r.top >= Math.max(0, b.top) - 1 && r.top + 20 <= Math.min(innerHeight, b.bottom) ? 'in view'
  : JSON.stringify({top: r.top, first: [first.left, first.top], box: [b.top, b.bottom], innerHeight, hit: hit && hit.outerHTML.slice(0, 60)});"""


def test_on_a_phone_show_article_scrolls_to_the_cited_passage_and_marks_it(site, phone):
    url, _ = site
    open_page(phone, url)
    reply = ask_in_page(phone, "Who designed the new lighthouse of the harbour of Palamós?", 1)
    assert "Pau Serra" in css(reply, ".qa-text")[0].text
    evidence = css(reply, ".qa-evidence")[0]
    assert css(evidence, ".qa-said")[0].text == f"“{LIGHTHOUSE}”"
    css(evidence, "a.qa-show")[0].click()  # the sentence's own link
    cited = wait(phone, lambda d: css(d, "#qa-article-view #qa-cited"), 60)[0]
    time.sleep(0.5)
    shot(phone, "phone-show-article")
    assert cited.text == LIGHTHOUSE and [m.text for m in css(cited, "mark")] == [css(reply, ".qa-text")[0].text]
    assert phone.execute_script(IN_VIEW, cited) == "in view"
    # a source's link marks its passage
    phone.execute_script("window.scrollTo(0, 0)")
    css(reply, "details.qa-sources summary")[0].click()
    source = css(reply, "li.qa-cite")[0]
    passage = css(source, ".qa-passage")[0].text
    old = cited
    phone.execute_script("arguments[0].click()", css(source, "a.qa-show")[0])
    cited = wait(phone, lambda d: [c for c in css(d, "#qa-article-view #qa-cited") if c != old], 60)[0]
    time.sleep(0.5)
    assert " ".join(cited.text.split()) == " ".join(passage.split()) and LIGHTHOUSE in cited.text
    assert phone.execute_script(IN_VIEW, cited) == "in view"


def test_on_a_phone_the_chats_label_never_covers_a_scrolled_answer(site, phone):
    url, _ = site
    open_page(phone, url)
    reply = ask_in_page(phone, "Who designed the new lighthouse of the harbour of Palamós?", 1)
    css(reply, "details.qa-sources summary")[0].click()  # a long reply: the chat scrolls
    time.sleep(1)  # the chat's own scrolling to the newest line, done
    text = css(reply, ".qa-text")[0]
    # The answer's first line at the top of the chat's scrolling area (as after scrolling up to it),
    # then what is seen at its start and at its middle: the answer, not something over it.
    seen = phone.execute_script("""const el = arguments[0], wrap = el.closest('.bubble-wrap');
        el.closest('#qa-chat').scrollIntoView({block: 'start'});
        wrap.scrollTop += el.getBoundingClientRect().top - wrap.getBoundingClientRect().top;
        const r = el.getBoundingClientRect();
        return [r.left + 3, r.left + r.width / 2].map((x) => {
            const hit = document.elementFromPoint(x, r.top + r.height / 2);
            return hit && (hit === el || el.contains(hit)) ? 'the answer' : (hit ? hit.outerHTML.slice(0, 80) : 'nothing');
        });""", text)
    shot(phone, "phone-scrolled-answer")
    assert seen == ["the answer", "the answer"], f"the answer's first line is covered: {seen}"
    scroller = css(phone, "#qa-chat .bubble-wrap")[0].rect
    for covering in css(phone, '#qa-chat label[data-testid="block-label"], #qa-chat button[aria-label="Clear"]'):
        r = covering.rect
        assert r["y"] + r["height"] <= scroller["y"] + 1, "the chat's label or trash can lies over its messages"


def test_the_chats_trash_can_clears_the_conversation_too(site, browser):  # noqa: F811
    url, _ = site
    open_page(browser, url)
    first = ask_in_page(browser, "Who heads the TNC?", 1)
    assert "Jalil" in css(first, ".qa-text")[0].text
    css(browser, '#qa-chat button[aria-label="Clear"]')[0].click()
    wait(browser, lambda d: not css(d, "#qa-chat .message-row"), 10)
    reply = ask_in_page(browser, "When did he resign from Libya's government?", 1)
    assert len(css(browser, "#qa-chat .message-row")) == 2  # the new question and its reply only
    assert not css(reply, ".qa-read-as"), reply.text  # not read with the old conversation's person


def test_the_articles_panel_follows_the_index_without_a_reload(site, browser):  # noqa: F811
    url, arts = site
    open_page(browser, url)
    wait(browser, lambda d: len(rows(d)) == 3)
    browser.execute_script("window.__notReloaded = true")
    doomed = arts / "short-lived.txt"
    doomed.write_text("Short-lived story\n\nPosted May 5th, 2012\n\nThe ferry strike in Roses ended on Friday.\n")
    wait(browser, lambda d: any("Short-lived story" in r for r in rows(d)), 180)  # the folder watch indexed it
    assert "4 articles indexed" in css(browser, "#qa-heading")[0].text
    doomed.unlink()
    wait(browser, lambda d: len(rows(d)) == 3 and not any("Short-lived story" in r for r in rows(d)), 180)
    assert "3 articles indexed" in css(browser, "#qa-heading")[0].text
    assert browser.execute_script("return window.__notReloaded === true")


def test_a_filter_that_matches_nothing_says_so(site, browser):  # noqa: F811
    url, _ = site
    open_page(browser, url)
    wait(browser, lambda d: len(rows(d)) == 3)
    box = css(browser, "#qa-article-search textarea")[0]
    box.send_keys("<b>nothing</b> here")
    note = wait(browser, lambda d: css(d, "#qa-articles-none .qa-none"), 30)[0]
    assert note.text == "No article matches “<b>nothing</b> here”."  # the words as typed, never markup
    assert rows(browser) == []  # no blank row
    shot(browser, "panel-no-match")
    box.clear()
    box.send_keys("palamós")
    wait(browser, lambda d: len(rows(d)) == 1 and "Harbour report from Palamós" in rows(d)[0], 30)
    assert not css(browser, "#qa-articles-none .qa-none")
