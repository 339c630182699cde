"""Uploads and the folder watch of a running `qa serve` share one line of index jobs (issue 23).

A file dropped in the folder while an upload is indexed is indexed too (it once stayed unindexed:
the watch's `qa index` was refused by the upload's build and the change taken as done), and an
upload made while the watch re-indexes waits for it and is indexed (it once said "Answering this
question failed (IndexStoreError ...)").
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from conftest import serve
from qa.stores import open_store

pytestmark = pytest.mark.faults


def _run_event(client: httpx.Client, fn_name: str, data: list) -> dict:
    deps = client.get("config").json()["dependencies"]
    dep = next(d for d in deps if d.get("api_name") == fn_name)
    session = f"test-{fn_name}-{time.monotonic_ns()}"
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


def _add(client: httpx.Client, name: str, text: str) -> str:
    path = client.post("gradio_api/upload", files={"files": (name, text.encode())}).json()[0]
    return json.dumps(_run_event(client, "add_files", [[{"path": path, "meta": {"_type": "gradio.FileData"}}], ""]))


def _indexed(index, wait_s: float, *names: str) -> set[str]:
    """Wait until the index holds these articles (read from disk, no models); returns what it holds."""
    deadline = time.monotonic() + wait_s
    while True:
        store = open_store(index)
        try:
            ids = set(store.article_hashes())
        finally:
            store.close()
        if set(names) <= ids or time.monotonic() > deadline:
            return ids
        time.sleep(1.0)


def _wait_for_a_build(index, wait_s: float = 120) -> None:
    """Wait until a build holds the index's lock (it has read the articles folder by then)."""
    import fcntl

    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        with open(index / ".lock", "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return
        time.sleep(0.1)
    raise AssertionError("no build started")


def _long(title: str, n: int, thing: str) -> str:
    """An article long enough that indexing it takes seconds (n lines to embed); ``thing`` keeps two apart (not duplicates)."""
    return f"{title}\n\n" + "\n\n".join(f"{thing} {i}: number {i * 7 % 91} passed mark {i % 5} in {40 + i % 17} minutes."
                                         for i in range(n))


def test_uploads_and_the_folder_watch_wait_for_each_other(indexed, tmp_path):
    with serve(indexed.articles, indexed.index, tmp_path) as server:  # the watch on (the index is up to date)
        client = httpx.Client(base_url=server.url, timeout=300)
        # 1. A file dropped in the folder while an upload is being indexed.
        import threading

        out: dict = {}
        adding = threading.Thread(target=lambda: out.update(first=_add(client, "regatta.txt", _long("Regatta results", 1500, "Boat"))))
        adding.start()
        _wait_for_a_build(indexed.index)  # the upload's `qa index` has read the folder: it will not index this file
        (indexed.articles / "dropped.txt").write_text("Ferry timetable\n\nThe ferry to Valdoria leaves at nine.")
        adding.join(300)
        assert "Added 1 article: regatta.txt" in out["first"], out["first"]
        ids = _indexed(indexed.index, 120, "dropped.txt")
        assert "dropped.txt" in ids, "the file dropped during an upload was never indexed:\n" + server.output()[-3000:]
        # 2. An upload while the watch re-indexes a file dropped in the folder.
        (indexed.articles / "tides.txt").write_text(_long("Tide tables", 800, "Tide"))
        time.sleep(7.0)  # the watch has seen it settle and runs `qa index` now
        second = _add(client, "harbour.txt", "Harbour reopens\n\nThe harbour of Port Vell reopened on Monday.")
        assert "Added 1 article: harbour.txt" in second, second
        assert "failed" not in second and "IndexStoreError" not in second
        ids = _indexed(indexed.index, 120, "tides.txt", "harbour.txt")
        assert {"tides.txt", "harbour.txt", "regatta.txt", "dropped.txt"} <= ids, server.output()[-4000:]
        assert "Another build is running" not in server.output()
