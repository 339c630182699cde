"""`qa serve --watch`: a changed articles folder is re-indexed once it settles; files the page's
upload has already indexed are not re-indexed again."""

import threading
import time

from qa.watch import FolderWatcher


def watching(folder):
    calls = []
    changed = threading.Event()

    def on_change():
        calls.append(time.monotonic())
        changed.set()

    w = FolderWatcher(folder, on_change, interval=0.05)
    w.start()
    return w, calls, changed


def test_a_new_file_is_reindexed_once(tmp_path):
    (tmp_path / "a.txt").write_text("Alpha")
    w, calls, changed = watching(tmp_path)
    try:
        (tmp_path / "b.txt").write_text("Beta")
        assert changed.wait(5)
        time.sleep(0.3)
        assert len(calls) == 1  # settled, then quiet
    finally:
        w.stop()


def test_uploaded_files_are_not_reindexed_but_other_changes_are(tmp_path):
    (tmp_path / "a.txt").write_text("Alpha")
    w, calls, changed = watching(tmp_path)
    try:
        (tmp_path / "up.txt").write_text("Uploaded and indexed by the page")
        (tmp_path / "a.txt").write_text("Alpha, replaced by an upload")
        w.acknowledge([str(tmp_path / "up.txt"), str(tmp_path / "a.txt")])
        assert not changed.wait(0.5) and calls == []
        (tmp_path / "c.txt").write_text("Copied in by hand")
        assert changed.wait(5) and len(calls) == 1
    finally:
        w.stop()


def test_an_upload_through_the_library_is_acknowledged(tmp_path, embedder, monkeypatch):
    """The paths the upload reports are the ones the watcher sees (a relative articles folder too)."""
    from qa.config import Config
    from qa.engine import Engine
    from qa.web import library

    monkeypatch.chdir(tmp_path)
    (tmp_path / "arts").mkdir()
    (tmp_path / "arts" / "a.txt").write_text("Alpha\n\nAlpha particles are helium nuclei.")
    engine = Engine(Config(articles_dir="arts", index_dir="ix"))
    engine.embedder = embedder
    engine.index()
    engine.open()
    new = tmp_path / "incoming" / "b.txt"
    new.parent.mkdir()
    new.write_text("Beta\n\nBeta decay emits electrons.")
    w, calls, changed = watching("arts")
    try:
        result = library.add_files(engine, [str(new)])
        assert result["added"] and result["files"]
        w.acknowledge(result["files"])
        assert not changed.wait(0.5) and calls == []
        assert engine.search("beta decay electrons", 1)[0].citation.title == "Beta"
    finally:
        w.stop()
