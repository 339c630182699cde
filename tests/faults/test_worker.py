"""The engine's process killed while `qa serve` runs: the server starts a new one and answers; failures are messages."""

import threading

import pytest

from conftest import FACTS, assert_nothing_lost, engine_worker_pid, kill_and_wait, needs_reader, serve

pytestmark = needs_reader


@pytest.fixture(scope="module")
def server(tmp_path_factory, _built_template):
    tmp = tmp_path_factory.mktemp("serve")
    import shutil

    shutil.copytree(_built_template.articles, tmp / "articles")
    shutil.copytree(_built_template.index, tmp / "index")
    with serve(tmp / "articles", tmp / "index", tmp, "--no-index", env={"QA_MAX_UPLOAD_BYTES": "100000"}) as s:
        from gradio_client import Client

        s.client = Client(s.url, verbose=False)
        s.index = tmp / "index"
        yield s


def test_worker_killed_is_restarted_and_answers(server, engine_models, _built_template):
    fact = FACTS[0]
    assert fact.answer in (server.client.predict(fact.question, api_name="/ask")["answer"] or "")
    first = engine_worker_pid(server)
    kill_and_wait(first)
    # The next question starts a new engine process and is answered by it.
    result = server.client.predict(fact.question, api_name="/ask")
    assert fact.answer in (result["answer"] or "")
    assert engine_worker_pid(server) != first
    assert "starting a new one" in server.output()
    # The chat (HTML) answers too, and the index is as it was.
    html = server.client.predict(FACTS[1].question, [], api_name="/chat")
    assert FACTS[1].answer in html.replace("<mark>", "").replace("</mark>", "")  # in the cited passage
    assert_nothing_lost(server.index, _built_template.before, engine_models.embedder)


@pytest.mark.parametrize("api", ["/ask", "/chat"])
def test_question_whose_worker_dies_twice_gets_a_message(server, api):
    from gradio_client.exceptions import AppError

    kill_and_wait(engine_worker_pid(server))
    seen: list = []

    def ask():
        try:
            seen.append(server.client.predict(FACTS[0].question, [], api_name=api))
        except Exception as e:
            seen.append(e)

    t = threading.Thread(target=ask)
    t.start()
    # The question starts a new engine process; kill that one too while it loads the models.
    pid = engine_worker_pid(server)
    kill_and_wait(pid)
    t.join(120)
    assert len(seen) == 1, seen
    if api == "/ask":  # the API's error carries the message (it was {"error": null})
        assert isinstance(seen[0], AppError), seen
    message = str(seen[0])
    assert "stopped twice" in message and "please ask again" in message, message
    # And the server answers the next question.
    assert FACTS[0].answer in (server.client.predict(FACTS[0].question, api_name="/ask")["answer"] or "")


def test_upload_route_refuses_files_over_the_limit(server):
    import httpx

    url = server.url + "gradio_api/upload"
    big = httpx.post(url, files={"files": ("big.txt", b"x" * 200_000)})
    assert big.status_code == 413 and "maximum allowed size of 100000 bytes" in big.text, big.text[:300]
    small = httpx.post(url, files={"files": ("small.txt", b"x" * 1_000)})
    assert small.status_code == 200, small.text[:300]


def test_only_the_latest_history_turns_are_used(server):
    # A client sending a long conversation: only the last max_history_turns (20) are read, so a
    # malformed turn further back is not even looked at, and the question is answered.
    turn = {"question": FACTS[1].question, "answer": FACTS[1].answer}
    result = server.client.predict(FACTS[0].question, [42] + [turn] * 20, api_name="/ask")
    assert FACTS[0].answer in (result["answer"] or "")
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Each earlier turn must be a dict"):  # within the last 20: read, refused
        server.client.predict(FACTS[0].question, [42] + [turn] * 19, api_name="/ask")


def test_empty_question_over_the_api_gets_a_message(server):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="The question is empty"):
        server.client.predict("   ", api_name="/ask")


def test_questions_in_line_say_how_many_are_ahead(indexed):
    """A busy engine: each question knows its place in line, and the chat's reply says it while waiting."""
    from qa.config import Config
    from qa.web.app import _waiting_notes
    from qa.web.worker import ChatProcess

    chat = ChatProcess(Config(index_dir=str(indexed.index)))
    try:
        # The engine process is still loading its models (seconds): all three are in line.
        line = [chat.start("exchange", f.question, []) for f in (FACTS[0], FACTS[1], FACTS[0])]
        assert [p.ahead() for p in line] == [0, 1, 2]
        assert chat.waiting() == 3
        # The articles panel is read from the index by the web process: it never waits behind questions.
        page = chat.browse("", 1)
        assert page["total"] == len(indexed.before.article_ids) and page["matching"] == page["total"] and len(page["rows"]) == 1
        assert chat.waiting() == 3
        notes, waiting = [], _waiting_notes(line[2], poll_s=0.2)
        try:
            while True:
                notes.append(next(waiting))
        except StopIteration as done:
            html, turn = done.value
        assert notes[0] == ('<p class="qa-waiting">waiting: 2 questions ahead</p>', None)
        # Then (if polled in time) fewer ahead, then the answer itself.
        later = {'<p class="qa-waiting">waiting: 1 question ahead</p>', '<p class="qa-waiting">answering…</p>'}
        assert {n for n, _ in notes[1:]} <= later
        assert FACTS[0].answer in html and FACTS[0].answer in turn["answer"]
        assert FACTS[1].answer in line[1].result()[0].replace("<mark>", "").replace("</mark>", "")  # in the cited passage
        assert chat.waiting() == 0 and line[2].ahead() == 0
    finally:
        chat.close()


def test_several_answering_processes_share_the_line(indexed):
    """``workers=2``: two processes load the index and answer at once; a question waits only for those
    not being answered (2 in line at the start: none ahead of either), and every answer is right."""
    from qa.config import Config
    from qa.web.worker import ChatProcess

    chat = ChatProcess(Config(index_dir=str(indexed.index)), workers=2)
    try:
        line = [chat.start("exchange", f.question, []) for f in (FACTS[0], FACTS[1], FACTS[0], FACTS[1])]
        assert [p.ahead() for p in line] == [0, 0, 1, 2]
        for p, f in zip(line, (FACTS[0], FACTS[1], FACTS[0], FACTS[1])):
            assert f.answer in p.result()[0].replace("<mark>", "").replace("</mark>", "")
        processes = list(chat._pool._processes.values())
        assert len(processes) == 2 and all(p.is_alive() for p in processes)
        assert chat.waiting() == 0
    finally:
        chat.close()


def test_default_workers_follow_the_cores_and_milvus_lite_gets_one():
    from qa.web.worker import default_workers

    assert default_workers("index", 2) == 2 and default_workers("index", 1) == 1 and default_workers("index", 16) == 4
    assert default_workers("milvus:///tmp/x.db", 8) == 1
