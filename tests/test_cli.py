import json
import os
import subprocess
import sys

from conftest import ROOT


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
