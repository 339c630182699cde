"""The running chat: a real `qa serve`, a real headless Chromium, and gradio_client.

One server and one browser for the module; each test reloads the page. Screenshots of
each state go to tests/output/ (not committed).
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ROOT, SEEDS, free_port, needs_reader

pytestmark = [needs_reader, pytest.mark.browser]

OUTPUT = ROOT / "tests" / "output"
HARBOUR_URL = "https://example.org/news/sea-museum?id=1&lang=en"
LINKED = [
    {"title": "Cadaqués opens a sea museum", "date": "2012-05-02", "url": HARBOUR_URL, "author": "Núria Vidal",
     "text": "The new sea museum of Cadaqués was designed by the architect Joan Ferrer after a long search."},
    {"title": "Ferry timetable", "date": "2010-01-05", "url": "javascript:window.__pwned=4",
     "text": "The ferry to Menorca leaves at nine in the morning, the ferry company said."},
]


@contextlib.contextmanager
def serving(tmp, arts):
    """A real `qa serve` over the folder ``arts`` (index and log in ``tmp``); yields its URL."""
    port = free_port()
    log = open(tmp / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--articles", str(arts), "--index", str(tmp / "index"), "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "QA_USERS_FILE": str(tmp / "no-users.json")},
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("qa serve exited:\n" + (tmp / "serve.log").read_text())
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        raise RuntimeError("qa serve did not start:\n" + (tmp / "serve.log").read_text())
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    arts = tmp / "articles"
    shutil.copytree(SEEDS, arts)
    (arts / "markup.txt").write_text(
        "Markup <i>test</i> page\n\nThe lighthouse keeper of Port Vell is <script>window.__pwned=1</script>"
        "Marta Puig, appointed in 2009 <img src=x onerror=\"window.__pwned=2\">.\n"
    )
    (arts / "linked.json").write_text(json.dumps(LINKED))
    with serving(tmp, arts) as url:
        yield url, arts


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not (os.path.exists(chromium) and os.path.exists(driver_path)):
        pytest.fail("Debian's chromium and chromium-driver are needed: bash .ci/setup --test installs them")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    OUTPUT.mkdir(exist_ok=True)
    yield driver
    driver.quit()


def wait(driver, until, timeout=120):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(until)


def css(driver, selector):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def open_page(driver, url):
    driver.get(url)
    wait(driver, lambda d: css(d, "#qa-question textarea"), 60)


def ask_in_page(driver, question: str, n_replies: int):
    css(driver, "#qa-question textarea")[0].send_keys(question)
    css(driver, "#qa-ask")[0].click()
    wait(driver, lambda d: len(css(d, "#qa-chat .qa-answer")) >= n_replies)
    return css(driver, "#qa-chat .qa-answer")[-1]


def shot(driver, name):
    driver.save_screenshot(str(OUTPUT / f"{name}.png"))


VISIBLE = """const el = arguments[0], r = el.getBoundingClientRect();
const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight && (hit === el || el.contains(hit));"""


def test_answer_in_view_with_date_and_sources_collapsed_below(server, browser):
    url, _ = server
    open_page(browser, url)
    shot(browser, "0-empty")
    reply = ask_in_page(browser, "When did Rasmussen defend the alliance's Libya mission?", 1)
    text = css(reply, ".qa-text")[0]
    assert text.text == "Monday" and "4 July 2011" in css(reply, ".qa-date")[0].text
    time.sleep(1)  # let the chat finish scrolling
    assert browser.execute_script(VISIBLE, text), "the answer scrolled out of view"
    sources = css(reply, "details.qa-sources")[0]
    assert sources.get_attribute("open") is None  # collapsed: the answer stays in view
    assert "Russia, NATO Clash Over Libya Campaign (2011-07-04)" in css(sources, "summary")[0].text
    shot(browser, "1-answer")
    css(sources, "summary")[0].click()
    first = css(sources, "li.qa-cite")[0]
    assert "passage 1" in first.text and "2011-07-04" in first.text
    assert [m.text for m in css(first, "mark")] == ["Monday"]
    assert "[1]" not in reply.text  # one numbering: the list's own
    shot(browser, "2-sources-open")
    reply2 = ask_in_page(browser, "Which city did he visit?", 2)  # a follow-up uses the conversation
    assert "Sochi" in reply2.text and "Read as: “Which city did Rasmussen visit?”" in reply2.text


def test_copy_gives_plain_text(server, browser):
    url, _ = server
    open_page(browser, url)
    ask_in_page(browser, "Who is the NATO Secretary-General? <b>really</b>", 1)
    browser.execute_script("window.__copied = []; navigator.clipboard.writeText = (t) => { window.__copied.push(t); return Promise.resolve(); };")
    buttons = css(browser, '#qa-chat button[aria-label="Copy message"]')
    assert len(buttons) == 2  # the question's and the answer's
    buttons[1].click()
    buttons[0].click()
    copied = wait(browser, lambda d: d.execute_script("return window.__copied.length >= 2 && window.__copied"), 10)
    answer, question = copied
    assert answer.startswith("Anders Fogh Rasmussen\n") or answer.startswith("Rasmussen\n"), answer
    said, source = answer.splitlines()[1:3]  # the sentence behind the answer, in quotes, and its source
    assert said.startswith("“NATO Secretary-General Anders Fogh Rasmussen defended") and said.endswith("”"), said
    assert source == "— Russia, NATO Clash Over Libya Campaign, 2011-07-04, russia-nato-clash-over-libya-campaign.txt"
    assert "\nSources:\n1. Russia, NATO Clash Over Libya Campaign, 2011-07-04, russia-nato-clash-over-libya-campaign.txt" in answer
    assert "<" not in answer and "qa-answer" not in answer
    assert question == "Who is the NATO Secretary-General? <b>really</b>"


def test_links_open_the_article_url_in_a_new_tab_and_show_article_fetches_it(server, browser):
    url, _ = server
    open_page(browser, url)
    reply = ask_in_page(browser, "Who designed the sea museum of Cadaqués?", 1)
    answer = css(reply, ".qa-text")[0].text
    assert "Joan Ferrer" in answer
    # under the answer: the sentence that states it, the answer marked, and its source with the byline
    evidence = css(reply, ".qa-evidence")[0]
    assert css(evidence, ".qa-said")[0].text == ("“The new sea museum of Cadaqués was designed by the architect Joan Ferrer "
                                                 "after a long search.”")
    assert [m.text for m in css(evidence, "mark")] == [answer]
    assert css(evidence, ".qa-evidence-source")[0].text == "— Cadaqués opens a sea museum · 2012-05-02 · by Núria Vidal · show article"
    css(reply, "details.qa-sources summary")[0].click()
    assert "2012-05-02 · by Núria Vidal · linked.json" in css(reply, "li.qa-cite")[0].text
    link = css(reply, "a.qa-link")[0]
    assert link.get_attribute("href") == HARBOUR_URL
    assert link.get_attribute("target") == "_blank"
    assert {"noopener", "noreferrer"} <= set(link.get_attribute("rel").split())
    assert not css(browser, "#qa-article-view .qa-article")  # nothing embedded until asked for
    css(reply, "a.qa-show")[0].click()
    view = wait(browser, lambda d: css(d, "#qa-article-view .qa-article"), 60)[0]
    assert "Cadaqués opens a sea museum" in view.text and "after a long search" in view.text
    assert "2012-05-02 · by Núria Vidal · linked.json" in css(view, ".qa-meta")[0].text
    shot(browser, "3-show-article")
    link.click()
    wait(browser, lambda d: len(d.window_handles) == 2, 10)  # opened in a new tab
    browser.switch_to.window(browser.window_handles[1])
    browser.close()
    browser.switch_to.window(browser.window_handles[0])


def test_only_http_urls_become_links(server, browser):
    url, _ = server
    open_page(browser, url)
    reply = ask_in_page(browser, "When does the ferry to Menorca leave?", 1)
    css(reply, "details.qa-sources summary")[0].click()
    assert "Ferry timetable" in reply.text
    hrefs = [a.get_attribute("href") or "" for a in css(browser, "#qa-chat a")]
    assert hrefs and all(h.startswith(url) for h in hrefs), hrefs  # only the page's own "show article" links
    assert browser.execute_script("return window.__pwned === undefined")


def test_article_panel_lists_newest_first_and_filters(server, browser):
    url, _ = server
    open_page(browser, url)
    # body rows (the header is a tr), read in one call: the table re-renders while it fills
    rows = lambda d: d.execute_script(  # noqa: E731
        "return Array.from(document.querySelectorAll('#qa-articles div[role=row]')).map(r => r.innerText)")
    listed = wait(browser, lambda d: len(rows(d)) == 4 and rows(d))
    assert listed[0].startswith("Cadaqués opens a sea museum") and "2012-05-02" in listed[0]
    assert "Russia, NATO Clash Over Libya Campaign" in listed[1] and "Ferry timetable" in listed[2]
    assert "4 articles indexed" in css(browser, "#qa-heading")[0].text
    css(browser, "#qa-article-search input, #qa-article-search textarea")[0].send_keys("libya")
    filtered = wait(browser, lambda d: len(rows(d)) == 1 and rows(d))
    assert "Russia, NATO Clash Over Libya Campaign" in filtered[0]
    shot(browser, "4-panel-filtered")
    css(browser, "#qa-articles div[role=row] > *")[0].click()  # a row shows its article
    view = wait(browser, lambda d: css(d, "#qa-article-view .qa-article"), 60)[0]
    assert "Sochi" in view.text


def test_upload_indexes_and_the_new_article_is_answerable(server, browser, tmp_path):
    url, arts = server
    open_page(browser, url)
    new = tmp_path / "observatory.md"
    new.write_text("# Observatory opens on Montjuic\n\nThe new observatory on Montjuic is directed by the astronomer Laia Soler.\n")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    css(browser, "#qa-add-panel button, #qa-add-panel .label-wrap")[0].click()
    upload = wait(browser, lambda d: css(d, "#qa-upload input[type=file]"), 10)[0]
    upload.send_keys(f"{new}\n{broken}")
    time.sleep(1)
    css(browser, "#qa-add")[0].click()
    status = wait(browser, lambda d: "Added" in css(d, "#qa-add-status")[0].text and css(d, "#qa-add-status")[0], 180)
    assert "observatory.md" in status.text and "broken.json" in status.text  # the bad file is named, the good one kept
    assert (arts / "observatory.md").exists() and not (arts / "broken.json").exists()
    wait(browser, lambda d: any("Observatory opens on Montjuic" in r.text for r in css(d, "#qa-articles div[role=row]")), 30)
    shot(browser, "5-uploaded")
    reply = ask_in_page(browser, "Who directs the observatory on Montjuic?", 1)
    assert "Laia Soler" in css(reply, ".qa-text")[0].text


def test_no_empty_bubbles_and_no_share_button(server, browser):
    url, _ = server
    open_page(browser, url)
    css(browser, "#qa-question textarea")[0].send_keys("   ")
    css(browser, "#qa-ask")[0].click()
    time.sleep(2)
    assert not css(browser, "#qa-chat .message-row")
    assert not css(browser, '#qa-chat button[aria-label*="hare"], #qa-chat button[title*="hare"]')


def test_markup_in_articles_and_questions_shows_as_text(server, browser):
    url, _ = server
    open_page(browser, url)
    reply = ask_in_page(browser, "Who is the lighthouse keeper of Port Vell? <b>bold?</b><img src=x onerror=\"window.__pwned=3\">", 1)
    page = css(browser, "#qa-chat")[0].text
    assert "<b>bold?</b>" in page  # the question, as typed
    assert "Marta Puig" in reply.text
    css(reply, "details.qa-sources summary")[0].click()
    assert "<script>window.__pwned=1</script>" in reply.text  # article markup shown as text
    css(reply, "a.qa-show")[0].click()
    view = wait(browser, lambda d: css(d, "#qa-article-view .qa-article"), 60)[0]
    assert "<script>" in view.text and "Markup <i>test</i> page" in view.text
    assert browser.execute_script("return window.__pwned === undefined")


def test_gradio_client_api(server):
    from gradio_client import Client

    url, _ = server
    client = Client(url, verbose=False)
    data = client.predict("When did Rasmussen defend the alliance's Libya mission?", api_name="/ask")
    assert data["answer"] == "Monday" and data["answer_date"] == "2011-07-04"
    c = data["citations"][0]
    assert c["date"] == "2011-07-04" and c["passage_number"] == 1  # numbered as on screen
    html = client.predict("Who is the NATO Secretary-General?", [], api_name="/chat")
    assert "<mark>" in html and "Rasmussen" in html
    article = client.predict(c["article_id"], api_name="/article")
    assert article["text"][c["answer_start"]:c["answer_end"]] == "Monday"
    listed = client.predict(api_name="/articles")
    assert listed[0]["title"] == "Cadaqués opens a sea museum" and listed[0]["url"] == HARBOUR_URL
    assert len(listed) > 1 and client.predict("", 1, api_name="/articles") == listed[:1]  # the newest, cut in the index
    assert [a["title"] for a in client.predict("CADAQUÉS", api_name="/articles")] == ["Cadaqués opens a sea museum"]


def test_api_follow_ups_take_earlier_turns_as_data(server):
    from gradio_client import Client

    url, _ = server
    client = Client(url, verbose=False)
    first = client.predict("Who heads the TNC?", api_name="/ask")
    assert "Jalil" in first["answer"]
    # what /ask returned is the history: used as it is, not answered again
    second = client.predict("When did he resign from Libya's government?", [first], api_name="/ask")
    assert "Jalil" in second["resolved_question"] and "February" in second["answer"]
    third = client.predict("Why did he resign?", [first, second], api_name="/ask")
    assert third["resolved_question"] == "Why did Mustafa Abdel Jalil resign?"
    html = client.predict("When did he resign from Libya's government?", [{"question": "Who heads the TNC?", "answer": "Mustafa Abdel Jalil"}], api_name="/chat")
    assert "February" in html and "Read as" in html
    # chat messages are not turns: said plainly, not guessed from the replies' HTML
    html = client.predict("When did he resign?", [{"role": "assistant", "content": "<div>Jalil</div>"}], api_name="/chat")
    assert "must be a dict with &#x27;question&#x27;" in html


def test_too_long_question_gets_the_same_message_everywhere(server, browser):
    from gradio_client import Client

    url, _ = server
    long = ("Who heads the TNC? " * 264)[:5000]
    client = Client(url, verbose=False)
    with pytest.raises(Exception, match="too long .5,000 characters.; please keep it under 1,000"):
        client.predict(long, api_name="/ask")
    assert "too long (5,000 characters)" in client.predict(long, [], api_name="/chat")
    open_page(browser, url)
    box = css(browser, "#qa-question textarea")[0]
    browser.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}))", box, long)
    css(browser, "#qa-ask")[0].click()
    message = "too long (5,000 characters); please keep it under 1,000"
    wait(browser, lambda d: message in css(d, "#qa-chat")[0].text, 60)
    # the chat goes on working after it
    assert "Rasmussen" in ask_in_page(browser, "Who is the NATO Secretary-General?", 1).text


def test_sign_in_in_the_browser_then_ask_and_no_upload_for_a_reader(tmp_path, browser):
    """A shared chat: the page asks for a name and password; a reader then asks, and sees no upload control."""
    from selenium.webdriver.common.by import By

    from qa.users import Users

    arts = tmp_path / "articles"
    shutil.copytree(SEEDS, arts)
    Users(tmp_path / "users.json").add("erin", "erin-secret-5", "reader")
    port = free_port()
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--articles", str(arts), "--index", str(tmp_path / "index"),
         "--port", str(port), "--no-watch"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "QA_USERS_FILE": str(tmp_path / "users.json")},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 300
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                assert time.time() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(1)
        browser.delete_all_cookies()
        browser.get(url)
        password = wait(browser, lambda d: css(d, "input[type=password]"), 60)[0]
        name = [e for e in css(browser, "input") if e.get_attribute("type") in ("text", None, "")][0]
        assert not css(browser, "#qa-question textarea")  # nothing of the chat before signing in
        name.send_keys("erin")
        password.send_keys("erin-secret-5")
        next(b for b in browser.find_elements(By.TAG_NAME, "button") if "login" in b.text.lower()).click()
        wait(browser, lambda d: css(d, "#qa-question textarea"), 60)
        reply = ask_in_page(browser, "Who is the NATO Secretary-General?", 1)
        shot(browser, "9-signed-in-reader")
        assert "Rasmussen" in reply.text
        wait(browser, lambda d: not [e for e in css(d, "#qa-add-panel") if e.is_displayed()], 30)
    finally:
        browser.delete_all_cookies()
        proc.terminate()
        proc.wait(timeout=30)
