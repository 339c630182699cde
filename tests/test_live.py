"""The live index: stable ids, updates that cost what changed, crash safety, and a chat that sees every change."""

import os
import random
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ROOT, SEEDS, free_port, needs_reader
from qa.articles import Article
from qa.config import ChunkingSettings
from qa.indexing import Indexer
from qa.stores import open_store
from qa.stores.local import current_generation


def art(i: int, extra: str = "", aid: str | None = None) -> Article:
    return Article(aid or f"a{i}.txt", f"Title {i}", f"Article {i} says the river number {i} is long. {extra}It has fish {i}.", "2020-01-01", f"a{i}.txt")


@pytest.fixture
def indexer(tmp_path, embedder):
    return Indexer(tmp_path / "index", embedder, ChunkingSettings(target_words=8, max_words=20))


# ---- stable identity ----------------------------------------------------------------------


def test_reorder_and_insert_at_top_touch_nothing_else(indexer):
    indexer.index([art(1), art(2), art(3)])
    assert not indexer.index([art(3), art(1), art(2)]).touched
    report = indexer.index([art(0, "Otters play. "), art(1), art(2), art(3)])  # a new first article
    assert report.added == ["a0.txt"] and report.changed == [] and sorted(report.unchanged) == ["a1.txt", "a2.txt", "a3.txt"]
    assert report.embedded == len(open_store(indexer.location).passages(["a0.txt:0", "a0.txt:1", "a0.txt:2"]))


def test_rename_costs_no_embedding(indexer):
    indexer.index([art(1, "Salmon swim. "), art(2)])
    store = open_store(indexer.location)
    before = store.passages(["a1.txt:0", "a1.txt:1"], with_vectors=True)
    moved = art(1, "Salmon swim. ", aid="archive/2020/a1.txt")
    report = indexer.index([moved, art(2)])
    assert report.added == ["archive/2020/a1.txt"] and report.removed == ["a1.txt"]
    assert report.embedded == 0 and report.reused == len(before) > 0
    store = open_store(indexer.location)
    after = store.passages(["archive/2020/a1.txt:0", "archive/2020/a1.txt:1"], with_vectors=True)
    assert [p.passage.text for p in after] == [p.passage.text for p in before]
    assert all((a.vector == b.vector).all() for a, b in zip(after, before))
    assert store.passages(["a1.txt:0"]) == []


def test_files_jsonl_insert_at_top_and_a_moved_file(tmp_path, embedder):
    import json

    arts = tmp_path / "arts"
    arts.mkdir()
    records = [{"title": f"Story {i}", "text": f"Story {i} is about the harbour number {i}. Boats {i} sail."} for i in range(3)]
    (arts / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    (arts / "one.txt").write_text("One\n\nThe first article is about apples. Apples are red.")
    ix = Indexer(tmp_path / "index", embedder)
    first = ix.index_folder(arts)
    assert len(first.added) == 4
    top = {"title": "Breaking", "text": "A new story about herons nesting by the harbour."}
    (arts / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in [top, *records]))  # inserted at the top
    report = ix.index_folder(arts)
    assert len(report.added) == 1 and report.changed == [] and report.removed == [] and len(report.unchanged) == 4
    assert report.embedded == 1
    (arts / "archive").mkdir()
    (arts / "one.txt").rename(arts / "archive" / "one.txt")  # moved: a new id, the same text
    report = ix.index_folder(arts)
    assert report.added == ["archive/one.txt"] and report.removed == ["one.txt"] and report.embedded == 0 and report.reused == 1


def test_passage_ids_survive_a_rebuild(indexer):
    indexer.index([art(1, "Salmon swim. "), art(2)])
    ids = ["a1.txt:0", "a1.txt:1", "a2.txt:0"]
    before = [(p.passage.id, p.passage.text) for p in open_store(indexer.location).passages(ids)]
    report = indexer.index([art(2), art(1, "Salmon swim. ")], rebuild=True)
    assert report.rebuilt and report.embedded == report.passages
    assert len(before) == 3
    assert [(p.passage.id, p.passage.text) for p in open_store(indexer.location).passages(ids)] == before


def test_update_writes_only_the_change(indexer):
    indexer.index([art(i) for i in range(20)])
    gen = current_generation(indexer.location)
    segments_before = {p.name for p in (gen / "segments").iterdir()}
    report = indexer.apply(upsert=[art(99, "Otters play. ")])
    new_passages = open_store(indexer.location).passages([f"a99.txt:{n}" for n in range(10)])
    assert report.added == ["a99.txt"] and report.embedded == len(new_passages) > 0
    assert segments_before <= {p.name for p in (gen / "segments").iterdir()}  # the old segment is kept as it is
    new = {p.name for p in (gen / "segments").iterdir()} - segments_before
    assert len(new) == 1  # one small segment holds the new vectors
    import numpy as np

    assert len(np.load(gen / "segments" / new.pop() / "ids.npy")) == report.embedded


def test_a_deleted_article_is_never_found_while_its_vectors_remain(indexer):
    indexer.index([art(i) for i in range(12)])
    indexer.apply(delete=["a3.txt"])
    store = open_store(indexer.location)
    assert store.stats().details["deleted_vectors"] > 0  # few deleted: the segment is kept, its vectors skipped
    found = store.dense_search(indexer.embedder.embed(["Article 3 says the river number 3 is long."])[0], 5)
    # k live passages, none of the deleted article (whose vectors would be the nearest)
    assert len(found) == 5 and not [pid for pid, _ in found if pid.startswith("a3.txt")]
    assert not [pid for pid, _ in store.keyword_search("article 3 river number 3", 30) if pid.startswith("a3.txt")]


# ---- kill -9 ------------------------------------------------------------------------------


def _qa_index(arts, index, crash_at=None, *extra):
    env = {**os.environ, "QA_CRASH_AT": crash_at or ""}
    return subprocess.run([sys.executable, "-m", "qa.cli", "index", "--articles", str(arts), "--index", str(index), *extra],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)


def _state(index, embedder):
    store = open_store(index)
    hashes = store.article_hashes()
    top = [pid for pid, _ in store.dense_search(embedder.embed(["river fish"])[0], 5)]
    kw = [pid for pid, _ in store.keyword_search("otters salmon river", 5)]
    store.close()
    return hashes, top, kw


def test_kill_9_during_update_keeps_the_index_and_the_next_run_finishes_it(tmp_path, embedder):
    arts, index = tmp_path / "arts", tmp_path / "index"
    arts.mkdir()
    for i in range(4):
        (arts / f"a{i}.txt").write_text(f"Title {i}\n\nArticle {i} says the river number {i} is long. It has fish {i}.")
    ix = Indexer(index, embedder)
    ix.index_folder(arts)
    for i in range(4, 7):  # three small segments, so the next update also merges (a fourth of that size)
        (arts / f"a{i}.txt").write_text(f"Title {i}\n\nArticle {i} is about salmon {i}.")
        ix.index_folder(arts)
    before = _state(index, embedder)
    (arts / "a0.txt").unlink()
    (arts / "a1.txt").write_text("Title 1\n\nArticle 1 now says otters live by the river.")
    (arts / "new.txt").write_text("New\n\nOtters play by the river all day.")

    for point in ("segment-written", "before-commit"):
        r = _qa_index(arts, index, point)
        assert r.returncode == -9, r.stderr
        assert _state(index, embedder) == before, point  # opens and answers as before the interrupted update
    r = _qa_index(arts, index, "before-publish", "--rebuild")
    assert r.returncode == -9 and _state(index, embedder) == before
    assert len(list(index.glob("gen-*"))) == 2  # the killed rebuild's partial generation, until the next run

    r = _qa_index(arts, index, "merge-before-commit")  # the update commits, then its merge is killed
    assert r.returncode == -9
    after = _state(index, embedder)
    assert set(after[0]) == {"a1.txt", "a2.txt", "a3.txt", "a4.txt", "a5.txt", "a6.txt", "new.txt"}
    assert any(pid.startswith("new.txt") for pid in after[2])

    # A kill at a random moment of another update: the index opens either as before or after it.
    (arts / "a2.txt").write_text("Title 2\n\nArticle 2 is now about herons.")
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "index", "--articles", str(arts), "--index", str(index)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(random.uniform(1.0, 6.0))
    proc.kill()
    proc.wait()
    assert open_store(index).article_hashes().keys() == after[0].keys()

    ix.index_folder(arts)  # the next run finishes it and tidies up
    assert open_store(index).article_hashes()["a2.txt"] != after[0]["a2.txt"]
    gen = current_generation(index)
    assert [g.name for g in index.glob("gen-*")] == [gen.name]
    store = open_store(index)
    listed = set(store.stats().details["segment_names"])
    assert {p.name for p in (gen / "segments").iterdir()} == listed
    assert not ix.index_folder(arts).touched


# ---- the chat sees every change -----------------------------------------------------------


def _wait_for(url, proc, log, seconds=300):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("qa serve exited:\n" + log.read_text())
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(1)
    raise RuntimeError("qa serve did not start:\n" + log.read_text())


@needs_reader
@pytest.mark.e2e
def test_serve_picks_up_rebuilds_and_folder_changes_without_restart(tmp_path, embedder):
    from gradio_client import Client

    arts, index = tmp_path / "arts", tmp_path / "index"
    shutil.copytree(SEEDS, arts)
    for i in range(80):  # enough text that the rebuild below takes several seconds
        (arts / f"filler-{i:02d}.txt").write_text(
            f"Filler {i}\n\nThe village of Norby {i} held its market on day {i}. " * 3 + f"Farmers sold {i} sacks of grain.")
    Indexer(index, embedder).index_folder(arts)
    port = free_port()
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--articles", str(arts), "--index", str(index), "--port", str(port)],
                            cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait_for(url, proc, log)
        client = Client(url, verbose=False)
        assert client.predict("Who is the NATO Secretary-General?", api_name="/ask")["answer"]
        seeds = client.predict(api_name="/stats")["articles"]
        old_gen = current_generation(index)

        (arts / "lighthouse.txt").write_text("Lighthouse\n\nThe lighthouse keeper of Port Vell is Marta Puig, appointed in 2009.")
        rebuild = subprocess.Popen([sys.executable, "-m", "qa.cli", "index", "--rebuild", "--articles", str(arts), "--index", str(index)],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(3)
        during = client.predict("Who is the NATO Secretary-General?", api_name="/ask")  # answered while it rebuilds
        assert during["answer"] and rebuild.poll() is None, "the rebuild ended before the question was answered"
        assert rebuild.wait(timeout=600) == 0, rebuild.stdout.read()
        assert old_gen.exists()  # the chat's worker still holds it: not removed under it

        after = client.predict("Who is the lighthouse keeper of Port Vell?", api_name="/ask")
        assert "Marta Puig" in after["answer"] and after["citations"][0]["article_id"] == "lighthouse.txt"
        assert client.predict(api_name="/stats")["articles"] == seeds + 1

        # The folder watch: a deleted file is re-indexed away, and the chat stops citing it.
        (arts / "lighthouse.txt").unlink()
        deadline = time.time() + 240
        while client.predict(api_name="/stats")["articles"] != seeds and time.time() < deadline:
            time.sleep(2)
        assert client.predict(api_name="/stats")["articles"] == seeds
        gone = client.predict("Who is the lighthouse keeper of Port Vell?", api_name="/ask")
        assert all(c["article_id"] != "lighthouse.txt" for c in gone["citations"] + gone["sources"])
        assert not old_gen.exists()  # released by the worker, removed by the watch's update
    finally:
        proc.terminate()
        proc.wait(timeout=60)
