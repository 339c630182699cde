"""kill -9 of a real ``qa index`` at random points, on the local store and on Milvus Lite, then
``qa index`` again: the index must equal a fresh build of the folder (issue 23). Each round edits
the folder (an article shrunk, one grown, one deleted, one added, non-ASCII names among them), kills
a run at a random moment of its second half (where it writes), or, every other round, at a random
step of its write (``QA_CRASH_AT``: the write is a small part of a run, so timed kills alone rarely
land in it), and runs it again. Equal means the same articles, text, hashes, passages and offsets,
every passage found by dense search, and the same keyword hits.

Rounds: ``QA_CRASH_ROUNDS`` (default 2 per store: one timed kill, one at a step of the write). The
benchmark is the same test with more rounds (results: benchmarks/results/crash.md)::

    QA_CRASH_ROUNDS=50 HF_HUB_OFFLINE=1 .venv/bin/python -m pytest tests/faults/test_kill_index.py -s
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT, SEEDS

pytestmark = pytest.mark.faults

ROUNDS = int(os.environ.get("QA_CRASH_ROUNDS", "2"))

# Where a write can be cut (QA_CRASH_AT in qa/stores/local.py and qa/stores/milvus.py).
STEPS = {
    "local": ["segment-written", "before-commit", "merge-before-commit"],
    "milvus": ["milvus-pending-written", "milvus-passages-written", "milvus-passages-deleted",
               "milvus-surplus-deleted", "milvus-articles-written", "milvus-deleted"],
}


def _sentences(tag: str, n: int) -> str:
    return " ".join(f"Report {tag} line {i}: the harbour pilots counted {i} ferries and {i + 3} tugs today." for i in range(n))


def _write(folder, name: str, title: str, body: str) -> None:
    (folder / name).write_text(f"{title}\n\n{body}\n", encoding="utf-8")


def _location(kind: str, tmp_path, name: str) -> str:
    return f"milvus://{tmp_path}/{name}.db" if kind == "milvus" else str(tmp_path / name)


def _qa_index(kind: str, loc: str, folder, crash_at: str = "") -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("QA_CRASH_AT", None)
    if crash_at:
        env["QA_CRASH_AT"] = crash_at
    where = ["--store", loc] if kind == "milvus" else ["--index", loc]
    return subprocess.Popen([sys.executable, "-m", "qa.cli", "index", "--articles", str(folder), *where, "--yes"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _snapshot(loc: str, dim: int) -> dict:
    """What a store holds, through the store protocol: articles, hashes, passages with offsets,
    what dense search finds, and what keyword search finds for a word every article has."""
    from qa.stores import open_store

    store = open_store(loc)
    try:
        ids = [a.id for a in store.list_articles()]
        found = sorted(pid for pid, _ in store.dense_search(np.ones(dim, dtype=np.float32) / np.sqrt(dim), 10_000))
        stored = store.passages(found)
        return {
            "articles": [(a.id, a.title, a.date, a.text) for a in store.articles(ids)],
            "hashes": store.article_hashes(),
            "passages": sorted((p.passage.id, p.passage.article_id, p.passage.start, p.passage.end, p.passage.text) for p in stored),
            "keyword": sorted(pid for pid, _ in store.keyword_search("harbour pilots", 10_000)),
            "counts": (store.stats().articles, store.stats().passages),
        }
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["local", "milvus"])
def test_kill_9_during_qa_index_is_repaired_by_the_next_run(kind, tmp_path, embedder):
    if kind == "milvus":
        pytest.importorskip("pymilvus", reason="pymilvus is not installed (pip install 'qa[milvus]')")
        pytest.importorskip("milvus_lite", reason="milvus-lite is not installed")
    from qa.indexing import Indexer

    dim = embedder.dimension
    folder = tmp_path / "news"
    shutil.copytree(SEEDS, folder)
    names = ["café.txt", "naïve.txt", "新闻.txt", "emoji 🎉.txt", "O'Brien \"quoted\".txt"]
    for i, name in enumerate(names):
        _write(folder, name, f"Harbour {i}", _sentences(f"{i}", 8))
    loc = _location(kind, tmp_path, "crash")
    first = _qa_index(kind, loc, folder)
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-2000:]
    t0 = time.monotonic()
    again = _qa_index(kind, loc, folder)
    again.communicate(timeout=600)
    duration = time.monotonic() - t0  # an update that writes nothing: what a run costs before its write
    rng = random.Random(int(os.environ.get("QA_CRASH_SEED", "23")))
    stats = {"rounds": 0, "killed": 0, "timed": 0, "at_step": 0, "equal": 0}
    for n in range(ROUNDS):
        # Edit the folder: shrink one, grow one, delete one, add one (non-ASCII names among them).
        present = sorted(p.name for p in folder.iterdir() if p.name in names or p.name.startswith("extra"))
        if present:
            _write(folder, rng.choice(present), f"Harbour short {n}", f"Only a note {n}: harbour pilots idle.")
        if present:
            _write(folder, rng.choice(present), f"Harbour long {n}", _sentences(f"g{n}", rng.randint(6, 14)))
        if len(present) > 2:
            (folder / rng.choice(present)).unlink()
        _write(folder, f"extra-{n}-ünï.txt", f"Extra {n}", _sentences(f"x{n}", rng.randint(2, 6)))
        if n % 2:
            stats["at_step"] += 1
            proc = _qa_index(kind, loc, folder, crash_at=rng.choice(STEPS[kind]))
            proc.communicate(timeout=600)
        else:
            stats["timed"] += 1
            proc = _qa_index(kind, loc, folder)
            time.sleep(rng.uniform(0.6, 1.2) * duration)
            proc.kill()
            proc.communicate()
        stats["rounds"] += 1
        stats["killed"] += proc.returncode == -9
        again = _qa_index(kind, loc, folder)
        _, err = again.communicate(timeout=600)
        assert again.returncode == 0, err[-2000:]
        fresh = _location(kind, tmp_path, f"fresh{n}")
        Indexer(fresh, embedder).index_folder(folder)
        got, want = _snapshot(loc, dim), _snapshot(fresh, dim)
        assert got == want, f"round {n}: the index differs from a fresh build ({got['counts']} vs {want['counts']} articles, passages)"
        stats["equal"] += 1
    print(f"\nkill -9 of qa index on the {kind} store: {stats} (a run takes {duration:.1f} s)")
