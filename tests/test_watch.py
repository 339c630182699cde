"""`qa serve --watch`: a changed articles folder is re-indexed once it settles; files the page's
upload has already indexed are not re-indexed again."""

import threading
import time

from qa.watch import FolderWatcher


def watching(folder, interval=0.05):
    calls = []
    changed = threading.Event()

    def on_change():
        calls.append(time.monotonic())
        changed.set()

    w = FolderWatcher(folder, on_change, interval=interval)
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
    w, calls, changed = watching("arts", interval=1.0)  # longer than the upload's indexing takes on a busy machine
    try:
        result = library.add_files(engine, [str(new)])
        assert result["added"] and result["files"]
        w.acknowledge(result["files"])
        assert not changed.wait(2.5) and calls == []
        assert engine.search("beta decay electrons", 1)[0].source.title == "Beta"
    finally:
        w.stop()


def test_a_failed_reindex_is_tried_again_and_not_taken_as_done(tmp_path):
    """A pass that fails (another build held the lock) is not marked as seen: the same change is indexed again."""
    (tmp_path / "a.txt").write_text("Alpha")
    calls = []
    done = threading.Event()

    def on_change():
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("Another build is running")
        done.set()

    w = FolderWatcher(tmp_path, on_change, interval=0.05, max_retry_wait=0.2)
    w.start()
    try:
        (tmp_path / "b.txt").write_text("Beta")
        assert done.wait(5), "the failed pass was not tried again"
        time.sleep(0.3)
        assert len(calls) == 2  # then quiet: the second pass succeeded and was taken as done
    finally:
        w.stop()


def test_the_chats_index_jobs_run_one_at_a_time(monkeypatch):
    """The upload and the folder watch run `qa index` through one line: never two at once in the serving process."""
    import subprocess

    from qa import watch
    from qa.config import Config

    running, most = [], []

    def fake_run(cmd, **kwargs):
        running.append(1)
        most.append(len(running))
        time.sleep(0.2)
        running.pop()
        assert "--wait" in cmd and "--yes" in cmd
        return subprocess.CompletedProcess(cmd, 0, "ok\n", "")

    monkeypatch.setattr(watch.subprocess, "run", fake_run)
    threads = [threading.Thread(target=watch.run_index, args=(Config(),)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == [1, 1, 1]
