"""Bad input in an articles folder: each file named once with its reason, nothing else lost.

Links outside the folder, loops, broken links, unreadable folders, UTF-16, JSON nested
thousands deep, oversized files and lines, non-text JSON fields, empty article lists.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from conftest import GOOD, ROOT, article_folder, named_once
from qa.articles import load_articles


def test_link_outside_the_folder_is_not_followed_unless_asked(tmp_path):
    arts = article_folder(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("Secret\n\nPrivate notes that are not an article.")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "far.txt").write_text("Far\n\nA story kept elsewhere.")
    os.symlink(secret, arts / "link.txt")
    os.symlink(tmp_path / "outside", arts / "linked-folder")
    articles, warnings = load_articles(arts)
    assert [a.id for a in articles] == ["good.txt"]
    assert "outside the articles folder (use --follow-links" in named_once(warnings, "link.txt")
    assert "outside the articles folder" in named_once(warnings, "linked-folder")
    articles, warnings = load_articles(arts, follow_links=True)
    assert sorted(a.id for a in articles) == ["good.txt", "link.txt", "linked-folder/far.txt"] and warnings == []


def test_links_inside_the_folder_are_read_once(tmp_path):
    arts = article_folder(tmp_path)
    (arts / "real").mkdir()
    (arts / "real" / "story.txt").write_text("Story\n\nInside the folder.")
    os.symlink(arts / "real" / "story.txt", arts / "alias.txt")
    os.symlink(arts / "real", arts / "alias-dir")
    articles, warnings = load_articles(arts)
    assert sorted(a.id for a in articles) == ["good.txt", "real/story.txt"]  # under its own name
    assert warnings == [
        "skipped alias-dir/: link to real/, which is read under that name",
        "same text in real/story.txt and alias.txt: indexed once, as real/story.txt",
    ]


def test_loops_and_broken_links_are_named_with_their_reason(tmp_path):
    arts = article_folder(tmp_path)
    os.symlink("loop-b.txt", arts / "loop-a.txt")
    os.symlink("loop-a.txt", arts / "loop-b.txt")
    os.symlink("missing.txt", arts / "dangling.txt")
    (arts / "sub").mkdir()
    os.symlink("..", arts / "sub" / "up")
    articles, warnings = load_articles(arts, follow_links=True)
    assert [a.id for a in articles] == ["good.txt"]
    assert "link loop" in named_once(warnings, "loop-a.txt") and "link loop" in named_once(warnings, "loop-b.txt")
    assert "broken link" in named_once(warnings, "dangling.txt")
    assert named_once(warnings, "sub/up") == "skipped sub/up/: link loop (it points to ./, a folder that holds it)"
    assert len(warnings) == 4


def test_a_pipe_is_named_not_waited_on(tmp_path):
    arts = article_folder(tmp_path)
    os.mkfifo(arts / "pipe.txt")
    result = []
    reading = threading.Thread(target=lambda: result.append(load_articles(arts)), daemon=True)
    reading.start()
    reading.join(30)
    if reading.is_alive():  # opening the pipe blocks until someone writes: unblock it, then fail
        os.close(os.open(arts / "pipe.txt", os.O_WRONLY | os.O_NONBLOCK))
        reading.join(5)
        pytest.fail("load_articles waited on a named pipe")
    articles, warnings = result[0]
    assert [a.id for a in articles] == ["good.txt"]
    assert "not a regular file" in named_once(warnings, "pipe.txt")


def _without_root_powers() -> list[str] | None:
    """A command prefix that runs without the powers that let root read any file."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv"):
        caps = "-dac_override,-dac_read_search"
        return ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"]
    return None


def test_unreadable_folder_and_file_are_named(tmp_path):
    prefix = _without_root_powers()
    if prefix is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    arts = article_folder(tmp_path)
    (arts / "locked").mkdir()
    (arts / "locked" / "inside.txt").write_text(GOOD.replace("good", "hidden"))
    (arts / "private.txt").write_text("Private\n\nText nobody may read.")
    os.chmod(arts / "locked", 0)
    os.chmod(arts / "private.txt", 0)
    try:
        code = f"import json; from qa.articles import load_articles; a, w = load_articles({str(arts)!r}); print(json.dumps([[x.id for x in a], w]))"
        r = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    finally:
        os.chmod(arts / "locked", 0o755)
        os.chmod(arts / "private.txt", 0o644)
    assert r.returncode == 0, r.stderr
    ids, warnings = json.loads(r.stdout)
    assert ids == ["good.txt"]
    assert warnings == ["skipped folder locked/: permission denied", "skipped private.txt: permission denied"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_read(tmp_path, encoding):
    arts = tmp_path / "arts"
    arts.mkdir()
    bom = {"utf-16": b"", "utf-16-be": b"\xfe\xff", "utf-32": b""}[encoding]
    (arts / "wide.txt").write_bytes(bom + "Caf\u00e9 title\n\nA story \u2014 in wide characters.".encode(encoding))
    (arts / "wide.jsonl").write_bytes(bom + (json.dumps({"title": "J", "text": "Wide JSON line."}) + "\n").encode(encoding))
    articles, warnings = load_articles(arts)
    assert warnings == []
    assert sorted((a.title, a.text) for a in articles) == [("Café title", "A story — in wide characters."), ("J", "Wide JSON line.")]


def test_utf16_without_a_byte_order_mark_is_named(tmp_path):
    arts = article_folder(tmp_path)
    (arts / "wide.txt").write_bytes("Title\n\nBody".encode("utf-16-le"))
    articles, warnings = load_articles(arts)
    assert "binary file (or UTF-16 text without a byte-order mark)" in named_once(warnings, "wide.txt")


def test_deeply_nested_json_is_refused_per_file(tmp_path):
    arts = article_folder(tmp_path)
    deep = "[" * 5000 + "]" * 5000
    (arts / "deep.json").write_text(deep)
    (arts / "deep.jsonl").write_text(json.dumps({"title": "Fine", "text": "A fine record."}) + "\n" + '{"text": ' + deep + "}\n")
    (arts / "strings.json").write_text(json.dumps({"title": "Brackets", "text": "[[[[" * 50 + " in a string are text."}))
    articles, warnings = load_articles(arts)
    assert sorted(a.title for a in articles) == ["Brackets", "Fine", "Good title"]
    assert named_once(warnings, "deep.json:") == (
        "skipped deep.json: JSON nested 5000 levels deep, more than the limit of 100 (Config.max_json_depth)"
    )
    assert named_once(warnings, "deep.jsonl").startswith("skipped deep.jsonl line 2: JSON nested 5001 levels deep")
    assert load_articles(arts, max_json_depth=10_000)[1][0].startswith("skipped deep.json: JSON nested too deeply for Python")


def test_article_over_the_size_limit_is_skipped_with_a_message(tmp_path):
    arts = article_folder(tmp_path)
    (arts / "huge.txt").write_text("Huge\n\n" + "word " * 2000)
    lines = [{"title": "Small", "text": "Short."}, {"title": "Big", "text": "x" * 5000}, {"title": "After", "text": "Kept."}]
    (arts / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    start = time.monotonic()
    articles, warnings = load_articles(arts, max_article_bytes=1000)
    assert time.monotonic() - start < 30
    assert sorted(a.title for a in articles) == ["After", "Good title", "Small"]
    assert named_once(warnings, "huge.txt") == (
        "skipped huge.txt: 10,006 bytes, larger than the limit of 1,000 bytes (Config.max_article_bytes)"
    )
    (arts / "list.json").write_text(json.dumps(lines))
    articles, warnings = load_articles(arts, max_article_bytes=1000)
    assert named_once(warnings, "list.json").endswith("as .jsonl (one article a line) it would be read line by line")
    big_line = len(json.dumps(lines[1])) + 1
    assert named_once(warnings, "feed.jsonl line 2") == (
        f"skipped feed.jsonl line 2: {big_line:,} bytes, larger than the limit of 1,000 bytes (Config.max_article_bytes)"
    )


def test_jsonl_lines_that_cannot_be_read_are_skipped_the_rest_kept(tmp_path):
    arts = tmp_path / "arts"
    arts.mkdir()
    good = [json.dumps({"title": t, "text": f"{t} text."}).encode() for t in ("One", "Two", "Three")]
    latin1 = json.dumps({"title": "Caf\u00e9", "text": "x"}, ensure_ascii=False).encode("latin-1")
    (arts / "feed.jsonl").write_bytes(b"\n".join([good[0], latin1, good[1], b'{"text": "a\x00b"}', good[2]]) + b"\n")
    articles, warnings = load_articles(arts)
    assert sorted(a.title for a in articles) == ["One", "Three", "Two"]
    assert warnings == [
        "skipped feed.jsonl line 2: not UTF-8 text (invalid continuation byte at byte 14 of the line)",
        "skipped feed.jsonl line 4: binary data (a NUL byte)",
    ]


def test_empty_article_lists_are_named(tmp_path):
    arts = article_folder(tmp_path)
    (arts / "wrapped.json").write_text('{"articles": []}')
    (arts / "list.json").write_text("[]")
    (arts / "blank.jsonl").write_text("\n\n")
    articles, warnings = load_articles(arts)
    assert [a.id for a in articles] == ["good.txt"]
    assert "no articles in it ('articles' is an empty list)" in named_once(warnings, "wrapped.json")
    assert "no articles in it (an empty list)" in named_once(warnings, "list.json")
    assert named_once(warnings, "blank.jsonl") == "skipped blank.jsonl: no records in it (only blank lines)"


def test_non_string_json_fields_are_converted_or_refused_never_reprs(tmp_path):
    arts = tmp_path / "arts"
    arts.mkdir()
    records = [
        {"id": 17, "title": 2024, "text": ["First paragraph.", "Second paragraph."], "author": ["Ann", "Bo"]},
        {"title": {"en": "Nested"}, "text": "Body kept.", "url": ["a", 1], "date": 20240101},
        {"title": "Object text", "text": {"body": "x"}},
        {"title": "Number text", "text": 42},
    ]
    (arts / "f.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    articles, warnings = load_articles(arts)
    by_text = {a.text: a for a in articles}
    a = by_text["First paragraph.\n\nSecond paragraph."]
    assert (a.id, a.title, a.author) == ("17", "2024", "Ann, Bo")
    b = by_text["Body kept."]
    assert (b.title, b.url, b.date) == ("f", "", "")
    for art in articles:
        for value in (art.title, art.text, art.url, art.author, art.id, art.date):
            assert "{" not in value and "[" not in value
    assert warnings == [
        "skipped f.jsonl line 3: 'text' is an object, not text",
        "skipped f.jsonl line 4: 'text' is a number, not text",
        "f.jsonl line 2: 'date' is a number, not a written date: left out",
        "f.jsonl line 2: 'title' is an object, not text: ignored",
        "f.jsonl line 2: 'url' is a list, not text: ignored",
    ]


def test_every_skipped_file_is_named_exactly_once(tmp_path):
    arts = article_folder(tmp_path)
    (arts / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (arts / "latin1.txt").write_bytes("Caf\xe9 title\n\nbody".encode("latin-1"))
    (arts / "empty.md").write_text("   \n")
    (arts / "broken.json").write_text("{not json")
    (arts / "notext.json").write_text(json.dumps({"title": "no text"}))
    (arts / "title-only.txt").write_text("Just a title\n")
    (arts / "image.png").write_bytes(b"\x89PNG")
    (arts / "all-bad.jsonl").write_text("{x\n[]\n")
    articles, warnings = load_articles(arts)
    assert [a.id for a in articles] == ["good.txt"]
    assert len(warnings) == 8
    for name, reason in [
        ("binary.txt", "binary file"), ("latin1.txt", "not UTF-8 text"), ("empty.md", "empty file"),
        ("broken.json", "invalid JSON"), ("notext.json", "no article text"), ("title-only.txt", "no article text after the title"),
        ("image.png", "unsupported file type"),
        ("all-bad.jsonl", "no article could be read from it: line 1: invalid JSON"),
    ]:
        assert reason in named_once(warnings, name), name


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_articles(tmp_path / "nope")


def test_cli_index_follow_links(tmp_path):
    """`qa index` names the link it did not follow (once) and reads it with --follow-links."""
    arts = article_folder(tmp_path)
    (tmp_path / "elsewhere.txt").write_text("Elsewhere\n\nThe lighthouse keeper retired after forty years.")
    os.symlink(tmp_path / "elsewhere.txt", arts / "linked.txt")
    run = [sys.executable, "-m", "qa.cli", "index", "--articles", str(arts), "--index", str(tmp_path / "ix")]
    r = subprocess.run(run, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "1 added" in r.stdout
    assert r.stderr.count("linked.txt") == 1 and "--follow-links" in r.stderr
    r = subprocess.run([*run, "--follow-links"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "1 added, 0 changed, 0 removed, 1 unchanged" in r.stdout and "linked.txt" not in r.stderr
    help_text = subprocess.run([sys.executable, "-m", "qa.cli", "serve", "--help"], capture_output=True, text=True, cwd=ROOT).stdout
    assert "--follow-links" in help_text


def test_relative_paths_in_messages_are_deterministic(tmp_path):
    """Warnings come in folder order, so that a rerun prints the same lines."""
    arts = article_folder(tmp_path)
    for name in ("b.png", "a.png", "c/d.png"):
        (arts / name).parent.mkdir(exist_ok=True)
        (arts / name).write_bytes(b"x")
    assert [w.split(":")[0] for w in load_articles(arts)[1]] == ["skipped a.png", "skipped b.png", "skipped c/d.png"]



@pytest.mark.parametrize("text", [
    "The council of Port Vell approved the harbour budget on Monday after a long debate.",
    "Harbour budget approved\nThe council of Port Vell approved the harbour budget on Monday.",
])
def test_a_one_paragraph_markdown_article_is_indexed(tmp_path, text):
    """A .md file of one paragraph (no blank line, no front matter) is an article, not "no article text after the title"."""
    from qa.articles import load_articles

    (tmp_path / "note.md").write_text(text)
    found, warnings = load_articles(tmp_path)
    assert [a.id for a in found] == ["note.md"] and warnings == []
    assert "approved the harbour budget on Monday" in found[0].text and found[0].title
