"""An index remembers the folder it was built from (issue 23, item 4): `qa index` without --articles
refreshes that folder, not the default one, and a run that would remove more than half of the
index's articles stops and says so unless confirmed (--yes)."""

from __future__ import annotations

import pytest

from conftest import qa_cli
from qa.stores import open_store

pytestmark = pytest.mark.faults


def _ids(index) -> set[str]:
    store = open_store(index)
    try:
        return set(store.article_hashes())
    finally:
        store.close()


def test_qa_index_refreshes_the_folder_it_was_built_from_and_guards_removals(tmp_path):
    news, other, index = tmp_path / "news", tmp_path / "other", tmp_path / "index"
    news.mkdir()
    other.mkdir()
    for i in range(4):
        (news / f"n{i}.txt").write_text(f"Story {i}\n\nThe council of town {i} met on Monday about the bridge number {i}.")
    (other / "n0.txt").write_text((news / "n0.txt").read_text())
    r = qa_cli("index", "--articles", str(news), "--index", str(index))
    assert r.returncode == 0, r.stderr
    (news / "n4.txt").write_text("Story 4\n\nThe harbour of town 4 reopened after the storm.")
    # Run from the repository root, whose default folder (seeds/) is another collection altogether.
    r = qa_cli("index", "--index", str(index))
    assert r.returncode == 0, r.stderr
    assert "1 added, 0 changed, 0 removed, 4 unchanged" in r.stdout, r.stdout + r.stderr
    assert f"{news}/ (the folder this index was built from" in r.stderr
    # Another folder holding 1 of the 5 articles: refused, nothing changed, the way out said.
    r = qa_cli("index", "--articles", str(other), "--index", str(index))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "would remove 4 of the 5 articles" in r.stderr and "--yes" in r.stderr and f"--articles {news}" in r.stderr, r.stderr
    assert _ids(index) == {f"n{i}.txt" for i in range(5)}
    r = qa_cli("index", "--articles", str(other), "--index", str(index), "--yes")
    assert r.returncode == 0 and "4 removed" in r.stdout, r.stderr
    assert _ids(index) == {"n0.txt"}
