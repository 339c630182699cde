"""The running chat: a real `qa serve`, a real headless Chromium, and gradio_client."""

import os
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ROOT, SEEDS, free_port, needs_reader

pytestmark = [needs_reader, pytest.mark.browser]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    arts = tmp / "articles"
    shutil.copytree(SEEDS, arts)
    (arts / "markup.txt").write_text(
        "Markup <i>test</i> page\n\nThe lighthouse keeper of Port Vell is <script>window.__pwned=1</script>"
        "Marta Puig, appointed in 2009 <img src=x onerror=\"window.__pwned=2\">.\n"
    )
    port = free_port()
    log = open(tmp / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--articles", str(arts), "--index", str(tmp / "index"), "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ},
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
    yield url
    proc.terminate()
    proc.wait(timeout=30)


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
                 "--window-size=1200,1000"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    yield driver
    driver.quit()


def ask_in_page(driver, question: str, n_replies: int):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    box = WebDriverWait(driver, 60).until(lambda d: d.find_element(By.CSS_SELECTOR, "#qa-question textarea"))
    box.send_keys(question)
    driver.find_element(By.CSS_SELECTOR, "#qa-ask").click()
    WebDriverWait(driver, 120).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#qa-chat .qa-answer")) >= n_replies)
    return driver.find_elements(By.CSS_SELECTOR, "#qa-chat .qa-answer")[-1]


def test_chat_in_browser_answers_with_highlighted_citation(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server)
    reply = ask_in_page(browser, "Who is the NATO Secretary-General?", 1)
    assert "Rasmussen" in reply.find_element(By.CSS_SELECTOR, ".qa-text").text
    assert "Russia, NATO Clash Over Libya Campaign" in reply.text and "2011-07-04" in reply.text
    marks = reply.find_elements(By.CSS_SELECTOR, "mark")
    assert marks and "Rasmussen" in marks[0].text
    assert reply.find_elements(By.CSS_SELECTOR, "details")  # the full source, expandable
    # a follow-up question uses the conversation
    reply2 = ask_in_page(browser, "Which city did he visit?", 2)
    assert "Sochi" in reply2.text and "Read as: “Which city did Anders Fogh Rasmussen visit?”" in reply2.text
    browser.save_screenshot(str(ROOT / "tests" / "last-chat.png")) if os.environ.get("QA_SCREENSHOT") else None


def test_markup_in_articles_and_questions_shows_as_text(server, browser):
    from selenium.webdriver.common.by import By

    browser.get(server)
    reply = ask_in_page(browser, "Who is the lighthouse keeper of Port Vell? <b>bold?</b><img src=x onerror=\"window.__pwned=3\">", 1)
    page = browser.find_element(By.CSS_SELECTOR, "#qa-chat").text
    assert "<b>bold?</b>" in page  # the question, as typed
    assert "Marta Puig" in reply.text
    reply.find_element(By.CSS_SELECTOR, "details summary").click()
    assert "<script>window.__pwned=1</script>" in reply.text  # article markup shown as text
    assert browser.execute_script("return window.__pwned === undefined")


def test_gradio_client_api(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    data = client.predict("Who is the NATO Secretary-General?", api_name="/ask")
    assert "Rasmussen" in data["answer"] and data["citations"][0]["date"] == "2011-07-04"
    html = client.predict("Who is the NATO Secretary-General?", [], api_name="/chat")
    assert "<mark>" in html and "Rasmussen" in html


def test_api_follow_ups_take_earlier_turns_as_data(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
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
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    long = ("Who heads the TNC? " * 264)[:5000]
    client = Client(server, verbose=False)
    with pytest.raises(Exception, match="too long .5,000 characters.; please keep it under 1,000"):
        client.predict(long, api_name="/ask")
    assert "too long (5,000 characters)" in client.predict(long, [], api_name="/chat")
    browser.get(server)
    box = WebDriverWait(browser, 60).until(lambda d: d.find_element(By.CSS_SELECTOR, "#qa-question textarea"))
    browser.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input', {bubbles: true}))", box, long)
    browser.find_element(By.CSS_SELECTOR, "#qa-ask").click()
    message = "too long (5,000 characters); please keep it under 1,000"
    WebDriverWait(browser, 60).until(lambda d: message in d.find_element(By.CSS_SELECTOR, "#qa-chat").text)
    # the chat goes on working after it
    assert "Rasmussen" in ask_in_page(browser, "Who is the NATO Secretary-General?", 1).text
