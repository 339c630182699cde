"""kill -9 of a real ``qa index --store milvus:///…`` at random points, then ``qa index`` again: the
index must equal a fresh build of the folder (issue 23). Each round edits the folder (an article
shrunk, one grown, one deleted, one added, non-ASCII names among them), kills a run at a random
moment of its second half (where it writes), or, every other round, at a random step of its write
(``QA_CRASH_AT``: the write is a small part of a run, so timed kills alone rarely land in it), and
runs it again.

Rounds: ``QA_CRASH_ROUNDS`` (default 2: one timed kill, one at a step of the write). The benchmark is the same test with more rounds::

    QA_CRASH_ROUNDS=50 HF_HUB_OFFLINE=1 .venv/bin/python -m pytest tests/faults/test_milvus_crash.py -s
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time

import pytest
from conftest import ROOT, SEEDS

pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install 'qa[milvus]')")
pytest.importorskip("milvus_lite", reason="milvus-lite is not installed")
pytestmark = pytest.mark.faults

ROUNDS = int(os.environ.get("QA_CRASH_ROUNDS", "2"))


def _sentences(tag: str, n: int) -> str:
    return " ".join(f"Report {tag} line {i}: the harbour pilots counted {i} ferries and {i + 3} tugs today." for i in range(n))


def _write(folder, name: str, title: str, body: str) -> None:
    (folder / name).write_text(f"{title}\n\n{body}\n", encoding="utf-8")


STEPS = ["milvus-pending-written", "milvus-passages-written", "milvus-passages-deleted", "milvus-surplus-deleted",
         "milvus-articles-written", "milvus-deleted"]


def _qa_index(loc: str, folder, crash_at: str = "") -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("QA_CRASH_AT", None)
    if crash_at:
        env["QA_CRASH_AT"] = crash_at
    return subprocess.Popen([sys.executable, "-m", "qa.cli", "index", "--articles", str(folder), "--store", loc],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _snapshot(loc: str) -> dict:
    from qa.stores import open_store

    store = open_store(loc)
    try:
        ids = [a.id for a in store.list_articles()]
        rows = store._scan(store._passages, 'article_id != ""', ["id", "article_id", "start", "end", "passage", "content_hash"])
        return {
            "articles": [(a.id, a.title, a.date, a.text) for a in store.articles(ids)],
            "hashes": store.article_hashes(),
            "passages": sorted((r["id"], r["article_id"], r["start"], r["end"], r["passage"], r["content_hash"]) for r in rows),
        }
    finally:
        store.close()


def _pending(loc: str) -> bool:
    """True when the last write was killed half way (its pending list is still in the settings row)."""
    from qa.stores import open_store

    store = open_store(loc)
    try:
        return bool((store._read_settings() or {}).get("pending"))
    finally:
        store.close()


def test_kill_9_during_qa_index_on_milvus_lite_is_repaired_by_the_next_run(tmp_path, embedder):
    from qa.indexing import Indexer

    folder = tmp_path / "news"
    shutil.copytree(SEEDS, folder)
    names = ["café.txt", "naïve.txt", "新闻.txt", "emoji 🎉.txt", "O'Brien \"quoted\".txt"]
    for i, name in enumerate(names):
        _write(folder, name, f"Harbour {i}", _sentences(f"{i}", 8))
    loc = f"milvus://{tmp_path}/crash.db"
    t0 = time.monotonic()
    first = _qa_index(loc, folder)
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-2000:]
    t0 = time.monotonic()
    again = _qa_index(loc, folder)
    again.communicate(timeout=600)
    duration = time.monotonic() - t0  # an update that writes nothing: what a run costs before its write
    rng = random.Random(int(os.environ.get("QA_CRASH_SEED", "23")))
    stats = {"rounds": 0, "killed": 0, "timed": 0, "mid_write": 0, "equal": 0}
    for n in range(ROUNDS):
        # Edit the folder: shrink one, grow one, delete one, add one (non-ASCII names among them).
        present = sorted(p.name for p in folder.iterdir() if p.name in names or p.name.startswith("extra"))
        if present:
            _write(folder, rng.choice(present), f"Harbour short {n}", f"Only a note {n}.")
        if present:
            _write(folder, rng.choice(present), f"Harbour long {n}", _sentences(f"g{n}", rng.randint(6, 14)))
        if len(present) > 2:
            (folder / rng.choice(present)).unlink()
        _write(folder, f"extra-{n}-ünï.txt", f"Extra {n}", _sentences(f"x{n}", rng.randint(2, 6)))
        if n % 2:
            proc = _qa_index(loc, folder, crash_at=rng.choice(STEPS))
            proc.communicate(timeout=600)
        else:
            stats["timed"] += 1
            proc = _qa_index(loc, folder)
            time.sleep(rng.uniform(0.6, 1.2) * duration)
            proc.kill()
            proc.communicate()
        stats["rounds"] += 1
        stats["killed"] += proc.returncode == -9
        stats["mid_write"] += _pending(loc)
        again = _qa_index(loc, folder)
        _, err = again.communicate(timeout=600)
        assert again.returncode == 0, err[-2000:]
        fresh = f"milvus://{tmp_path}/fresh{n}.db"
        Indexer(fresh, embedder).index_folder(folder)
        got, want = _snapshot(loc), _snapshot(fresh)
        assert got == want, f"round {n}: the index differs from a fresh build ({len(got['passages'])} vs {len(want['passages'])} passages)"
        stats["equal"] += 1
    print(f"\nkill -9 of qa index on Milvus Lite: {stats} (a run takes {duration:.1f} s)")
