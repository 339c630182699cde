"""A chat for a team, probed as an outsider would: a real `qa serve` and a plain HTTP client (httpx), no browser.

Sign-in covers every route; a reader cannot upload, an editor can; an upload never replaces an
article's file; limits answer 429 with a message; bound beyond loopback without sign-in, the
server refuses to start; a reverse proxy's user header is trusted from the proxy only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import httpx
import pytest

from conftest import FACTS, ROOT, needs_reader, serve
from qa.users import Users

pytestmark = needs_reader

PASSWORDS = {"alice": ("editor", "alice-secret-1"), "bob": ("reader", "bob-secret-22"), "carol": ("reader", "carol-secret-3"),
             "dave": ("editor", "dave-secret-44"), "erin": ("editor", "erin-secret-55"), "frank": ("reader", "frank-secret-6"),
             "gina": ("editor", "gina-secret-77")}
# Every route a client could use to read or change anything, each refused without sign-in.
ROUTES = [("GET", "config"), ("GET", "gradio_api/info"), ("GET", "gradio_api/openapi.json"),
          ("GET", "gradio_api/file=README.md"), ("POST", "gradio_api/upload"), ("POST", "gradio_api/queue/join"),
          ("POST", "gradio_api/call/ask"), ("POST", "gradio_api/run/ask"), ("GET", "gradio_api/queue/data")]


@pytest.fixture(scope="module")
def team(tmp_path_factory, _built_template):
    tmp = tmp_path_factory.mktemp("team")
    shutil.copytree(_built_template.articles, tmp / "articles")
    shutil.copytree(_built_template.index, tmp / "index")
    users = Users(tmp / "users.json")
    for name, (role, password) in PASSWORDS.items():
        users.add(name, password, role)
    env = {"QA_USERS_FILE": str(tmp / "users.json"), "QA_AUDIT_FILE": str(tmp / "audit.jsonl"),
           "QA_MAX_REQUESTS_PER_MINUTE": "6", "QA_MAX_UPLOADS_PER_MINUTE": "3", "QA_MAX_PENDING_QUESTIONS": "2"}
    with serve(tmp / "articles", tmp / "index", tmp, "--no-index", "--no-watch", env=env) as s:
        s.tmp = tmp
        yield s


def signed_in(server, name: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=120)
    r = client.post("login", data={"username": name, "password": PASSWORDS[name][1]})
    assert r.status_code == 200, r.text
    return client


def run_event(client: httpx.Client, fn_name: str, data: list) -> dict:
    """Call one of the page's events by its function name, as the page (or any client) does: queue/join, then the result stream."""
    deps = client.get("config").json()["dependencies"]
    dep = next(d for d in deps if d.get("api_name") == fn_name)
    session = f"test-{fn_name}-{id(data)}"
    r = client.post("gradio_api/queue/join", json={"data": data, "fn_index": dep["id"], "session_hash": session,
                                                   "trigger_id": dep["targets"][0][0], "event_data": None})
    assert r.status_code == 200, r.text
    with client.stream("GET", "gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("no result")


def upload(client: httpx.Client, name: str, text: str) -> httpx.Response:
    return client.post("gradio_api/upload", files={"files": (name, text.encode())})


def test_every_route_needs_sign_in(team):
    for method, path in ROUTES:
        r = httpx.request(method, team.url + path, timeout=30)
        assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
    bad = httpx.post(team.url + "login", data={"username": "bob", "password": "wrong-password"})
    assert bad.status_code == 400


def test_a_reader_asks_but_cannot_add_articles(team):
    bob = signed_in(team, "bob")
    event = bob.post("gradio_api/call/ask", json={"data": [FACTS[0].question, []]})
    assert event.status_code == 200, event.text
    result = bob.get(f"gradio_api/call/ask/{event.json()['event_id']}").text
    assert FACTS[0].answer in result
    r = upload(bob, "sneaky.txt", "Sneaky\n\nA reader's article.")
    assert r.status_code == 403 and "Only editors" in r.json()["error"]
    # Given a file an editor uploaded, the page's add event still refuses a reader, whatever the client.
    path = upload(signed_in(team, "dave"), "sneaky.txt", "Sneaky\n\nA reader's article.").json()[0]
    out = run_event(bob, "add_files", [[{"path": path, "meta": {"_type": "gradio.FileData"}}], ""])
    assert "Only editors can add articles" in json.dumps(out)
    assert not (team.tmp / "articles" / "sneaky.txt").exists()


def test_an_editor_adds_but_never_replaces_an_article(team):
    alice = signed_in(team, "alice")
    existing = team.tmp / "articles" / FACTS[0].file
    before = existing.read_bytes()
    r = upload(alice, "harbour.txt", "Harbour reopens\n\nPosted March 3, 2024\n\nThe harbour of Port Vell reopened on Monday.")
    assert r.status_code == 200, r.text
    out = run_event(alice, "add_files", [[{"path": r.json()[0], "meta": {"_type": "gradio.FileData"}}], ""])
    assert "Added 1 article: harbour.txt" in json.dumps(out)
    assert not os.path.exists(r.json()[0]), "the temporary upload is removed"
    # The same name as an existing article: refused with a message, the file untouched.
    r = upload(alice, FACTS[0].file, "Replaced\n\nThe lighthouse keeper of Port Vell is Nobody.")
    out = run_event(alice, "add_files", [[{"path": r.json()[0], "meta": {"_type": "gradio.FileData"}}], ""])
    assert "already in the folder and was left as it is" in json.dumps(out)
    assert existing.read_bytes() == before
    r = upload(alice, ".hidden.txt", "Hidden\n\nA hidden article.")  # the folder's indexing skips such names
    out = run_event(alice, "add_files", [[{"path": r.json()[0], "meta": {"_type": "gradio.FileData"}}], ""])
    assert "hidden file name" in json.dumps(out) and not (team.tmp / "articles" / ".hidden.txt").exists()
    # The audit log says who did what; the admin reads it with `qa audit`.
    entries = [json.loads(line) for line in (team.tmp / "audit.jsonl").read_text().splitlines()]
    assert {"user": "alice", "action": "added", "file": "harbour.txt"}.items() <= entries[-3].items()
    assert entries[-2]["action"] == "refused" and entries[-2]["file"] == FACTS[0].file
    shown = subprocess.run([sys.executable, "-m", "qa.cli", "audit", "--file", str(team.tmp / "audit.jsonl")],
                           capture_output=True, text=True, cwd=ROOT)
    assert "alice  added  file: harbour.txt" in shown.stdout, shown.stdout


def test_questions_are_answered_while_an_upload_is_indexed(team):
    """The upload is indexed in a `qa index` process: the engine keeps answering meanwhile."""
    import threading
    import time

    erin, bob = signed_in(team, "erin"), signed_in(team, "bob")
    # Long enough that embedding it takes seconds (about 150 passages): in the engine's process it held up every question.
    filler = "\n\n".join(f"Race {i}: boat {i * 7 % 91} rounded mark {i % 5} in {40 + i % 17} minutes, crew of {3 + i % 4}."
                         for i in range(4000))
    path = upload(erin, "regatta.txt", "Regatta results\n\nPosted June 2, 2024\n\nThe Port Vell regatta was won by "
                                      "the sailor Nuria Roca after a close final race.\n\n" + filler).json()[0]
    done: dict = {}

    def add():
        done["out"] = run_event(erin, "add_files", [[{"path": path, "meta": {"_type": "gradio.FileData"}}], ""])
        done["at"] = time.monotonic()

    adding = threading.Thread(target=add)
    adding.start()
    started = time.monotonic()
    time.sleep(1.0)  # the upload is being read and indexed now
    asked = time.monotonic()
    event = bob.post("gradio_api/call/ask", json={"data": [FACTS[1].question, []]}).json()["event_id"]
    answer = bob.get(f"gradio_api/call/ask/{event}").text
    waited = time.monotonic() - asked
    adding.join(300)
    assert FACTS[1].answer in answer
    assert waited < (done["at"] - started) / 3, "the question waited for the upload"
    assert "Added 1 article: regatta.txt" in json.dumps(done["out"])
    event = bob.post("gradio_api/call/ask", json={"data": ["Who won the Port Vell regatta?", []]}).json()["event_id"]
    assert "Nuria Roca" in bob.get(f"gradio_api/call/ask/{event}").text  # and the new article is answered from


def test_one_user_cannot_fill_the_line(team):
    """Questions fired at once by one client: two wait in the engine's line, the rest get a message at once."""
    from concurrent.futures import ThreadPoolExecutor

    frank = signed_in(team, "frank")

    def ask(_):
        r = frank.post("gradio_api/call/ask", json={"data": [FACTS[0].question, []]})
        if r.status_code == 429:  # refused at the door
            return r.json()["error"]
        return frank.get(f"gradio_api/call/ask/{r.json()['event_id']}").text

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(ask, range(6)))
    assert sum(FACTS[0].answer in r for r in results) >= 2, results
    assert any("questions waiting for answers" in r for r in results), results


def test_limits_answer_429_with_a_message(team):
    carol = signed_in(team, "carol")  # a user of her own: the other tests' calls do not count against her
    codes = []
    for _ in range(8):  # one after another, each answered before the next: only the rate counts
        r = carol.post("gradio_api/call/ask", json={"data": ["Who is the keeper?", []]})
        codes.append(r.status_code)
        if r.status_code == 200:
            carol.get(f"gradio_api/call/ask/{r.json()['event_id']}")
    assert codes[:6] == [200] * 6 and codes[6:] == [429, 429], codes
    r = carol.post("gradio_api/call/ask", json={"data": ["Who?", []]})
    assert "at most 6 a minute" in r.json()["error"]
    gina = signed_in(team, "gina")  # no upload before (another user's earlier uploads may have left the minute on a slow machine)
    sizes = [upload(gina, f"n{i}.txt", "Note\n\nText.").status_code for i in range(4)]
    assert sizes == [200, 200, 200, 429], sizes  # three a minute are allowed
    assert "files a minute" in upload(gina, "again.txt", "Note\n\nText.").json()["error"]


def test_a_network_address_without_sign_in_is_refused(tmp_path):
    r = subprocess.run([sys.executable, "-m", "qa.cli", "serve", "--host", "0.0.0.0", "--no-index",
                        "--users", str(tmp_path / "none.json")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 2
    assert "qa users add" in r.stderr and "--no-auth" in r.stderr and "--proxy-header" in r.stderr


def test_a_proxys_user_header_is_trusted_from_the_proxy_only(tmp_path, _built_template):
    shutil.copytree(_built_template.articles, tmp_path / "articles")
    shutil.copytree(_built_template.index, tmp_path / "index")
    env = {"QA_USERS_FILE": str(tmp_path / "users.json")}
    with serve(tmp_path / "articles", tmp_path / "index", tmp_path, "--no-index", "--no-watch",
               "--proxy-header", "X-Forwarded-User", env=env) as s:
        assert httpx.get(s.url + "config").status_code == 401
        signed = httpx.get(s.url + "config", headers={"X-Forwarded-User": "dana"})
        assert signed.status_code == 200
        r = httpx.post(s.url + "gradio_api/upload", headers={"X-Forwarded-User": "dana"}, files={"files": ("a.txt", b"A\n\nB")})
        assert r.status_code == 403  # a proxy user not in the users file is a reader
    with serve(tmp_path / "articles", tmp_path / "index", tmp_path, "--no-index", "--no-watch",
               "--proxy-header", "X-Forwarded-User", "--trusted-proxy", "192.0.2.1", env=env) as s:
        # The header from an address that is not the proxy's: anyone could send it, so it counts for nothing.
        assert httpx.get(s.url + "config", headers={"X-Forwarded-User": "dana"}).status_code == 401
