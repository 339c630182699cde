import json
import os
import subprocess
import sys

from conftest import ROOT, needs_reader


def qa(*args, cwd=None, env=None):
    e = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True, cwd=cwd or ROOT, env=e, timeout=600)


def test_ask_without_index_explains(tmp_path):
    r = qa("ask", "anything", "--index", str(tmp_path / "nothing"))
    assert r.returncode != 0
    assert "No index" in r.stderr and "qa index" in r.stderr


def test_index_bad_folder_and_empty_folder(tmp_path):
    r = qa("index", "--articles", str(tmp_path / "missing"), "--index", str(tmp_path / "ix"))
    assert r.returncode != 0 and "not found" in r.stderr
    (tmp_path / "arts").mkdir()
    (tmp_path / "arts" / "bad.txt").write_bytes(b"\x00\x00")
    r = qa("index", "--articles", str(tmp_path / "arts"), "--index", str(tmp_path / "ix"))
    assert r.returncode != 0 and "bad.txt" in r.stderr


def test_index_summary_and_incremental(tmp_path):
    arts = tmp_path / "arts"
    arts.mkdir()
    (arts / "one.txt").write_text("One\n\nThe first article is about apples. Apples are red.")
    (arts / "two.txt").write_text("Two\n\nThe second article is about pears. Pears are green.")
    r = qa("index", "--articles", str(arts), "--index", str(tmp_path / "ix"))
    assert r.returncode == 0, r.stderr
    assert "2 added, 0 changed, 0 removed, 0 unchanged" in r.stdout
    (arts / "two.txt").unlink()
    (arts / "one.txt").write_text("One\n\nThe first article is about apples. Apples are red and sweet.")
    r = qa("index", "--articles", str(arts), "--index", str(tmp_path / "ix"))
    assert "0 added, 1 changed, 1 removed, 0 unchanged" in r.stdout
    r = qa("search", "pears", "--index", str(tmp_path / "ix"), "--json")
    hits = json.loads(r.stdout)
    assert [h["article_id"] for h in hits] == ["one.txt"]


def test_serve_refuses_missing_or_damaged_index_clearly(tmp_path):
    from conftest import free_port

    r = qa("serve", "--no-index", "--index", str(tmp_path / "nothing"), "--port", str(free_port()))
    assert r.returncode != 0 and "No index" in r.stderr and "qa index" in r.stderr
    arts = tmp_path / "arts"
    arts.mkdir()
    (arts / "one.txt").write_text("One\n\nThe first article is about apples. Apples are red.")
    assert qa("index", "--articles", str(arts), "--index", str(tmp_path / "ix")).returncode == 0
    seg = next((tmp_path / "ix").glob("gen-*/segments/seg-*"))
    (seg / "vectors.npy").write_bytes(b"not vectors")
    # The engine loads in a child process; its complaint reaches the user, and nothing is left running.
    r = qa("serve", "--no-index", "--index", str(tmp_path / "ix"), "--port", str(free_port()))
    assert r.returncode != 0 and "damaged" in r.stderr and "qa index --rebuild" in r.stderr
    assert "Traceback" not in r.stderr


BRIDGE = """---
title: Harbour bridge reopens after repairs
author: Jane Doe
date: 2024-05-02
---
The harbour bridge in Port Vell reopened to traffic on Thursday after two years of repairs.

The repairs cost 40 million euros, the city council said. The engineer Marta Puig led the work, which replaced the bridge's steel cables.
"""
MARKET = "Fish market moves\n\nThe old fish market of Port Vell will move to the eastern docks next spring, the port authority announced.\n"
WHO = "Who led the repair work on the harbour bridge?"
SENTENCE = "The engineer Marta Puig led the work, which replaced the bridge's steel cables."


def _bylined(tmp_path):
    arts = tmp_path / "arts"
    arts.mkdir()
    (arts / "bridge.md").write_text(BRIDGE)
    (arts / "market.txt").write_text(MARKET)
    return arts


@needs_reader
def test_ask_prints_the_sentence_behind_the_answer_and_the_byline(tmp_path):
    arts, index = _bylined(tmp_path), str(tmp_path / "ix")
    assert qa("index", "--articles", str(arts), "--index", index).returncode == 0
    r = qa("ask", WHO, "--index", index)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "Marta Puig"
    assert lines[1].strip() == '"The engineer [Marta Puig] led the work, which replaced the bridge\'s steel cables."'  # under the answer
    assert "[1] Harbour bridge reopens after repairs, 2024-05-02, by Jane Doe (bridge.md, passage 1" in r.stdout
    r = qa("ask", WHO, "--index", index, "--json")
    data = json.loads(r.stdout)
    ev = data["evidence"]
    assert ev["text"] == SENTENCE and ev["text"][ev["answer_start"]:ev["answer_end"]] == data["answer"] == "Marta Puig"
    assert [c["author"] for c in data["citations"]] == ["Jane Doe"]
    assert {c["source"]: c["author"] for c in data["sources"]} == {"bridge.md": "Jane Doe", "market.txt": ""}


@needs_reader
def test_an_index_built_before_bylines_answers_and_qa_index_adds_them_without_embedding(tmp_path):
    from test_store import _as_built_before_bylines

    arts, index = _bylined(tmp_path), str(tmp_path / "ix")
    assert qa("index", "--articles", str(arts), "--index", index).returncode == 0
    _as_built_before_bylines(tmp_path / "ix")
    r = qa("ask", WHO, "--index", index)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Marta Puig\n") and "[1] Harbour bridge reopens after repairs, 2024-05-02 (bridge.md" in r.stdout
    r = qa("index", "--articles", str(arts), "--index", index)
    assert "0 added, 1 changed, 0 removed, 1 unchanged articles; 2 passages (0 embedded, 1 reused" in r.stdout, r.stdout + r.stderr
    r = qa("ask", WHO, "--index", index)
    assert "[1] Harbour bridge reopens after repairs, 2024-05-02, by Jane Doe (bridge.md" in r.stdout
