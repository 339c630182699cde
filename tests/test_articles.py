import json

from qa.articles import load_articles, parse_plain, read_file

from conftest import SEEDS


def test_seed_article_title_date_and_no_boilerplate():
    articles, warnings = load_articles(SEEDS)
    assert warnings == []
    seed = [a for a in articles if a.id == "russia-nato-clash-over-libya-campaign.txt"][0]
    assert seed.title == "Russia, NATO Clash Over Libya Campaign"
    assert seed.date == "2011-07-04"
    assert "Leave a comment" not in seed.text
    assert "Posted" not in seed.text
    assert seed.text.startswith("Russia and NATO have failed")
    assert len(seed.hash) == 32


def test_markdown_title_and_hash_changes_with_text():
    title, date, body = parse_plain("# My title\n\nPublished: 2020-03-01\n\nBody text here.\n\nShare\n")
    assert (title, date, body) == ("My title", "2020-03-01", "Body text here.")


def test_html_uses_parser_and_drops_scripts(tmp_path):
    (tmp_path / "a.html").write_text(
        "<html><head><title>T</title><style>.x{color:red}</style><script>alert('x')</script></head>"
        "<body><nav>Home | News</nav><article><h1>Real title</h1><time datetime='2021-05-06'>May 6</time>"
        "<p>First &amp; foremost paragraph.</p><p>Second <b>bold</b> one.</p></article>"
        "<footer>Copyright</footer></body></html>"
    )
    [a] = read_file(tmp_path / "a.html", "a.html")
    assert a.title == "Real title"
    assert a.date == "2021-05-06"
    assert a.text == "First & foremost paragraph.\n\nSecond bold one."
    assert "alert" not in a.text and "color" not in a.text and "Copyright" not in a.text and "Home" not in a.text


def test_json_and_jsonl(tmp_path):
    (tmp_path / "one.json").write_text(json.dumps({"title": "J", "text": "Json body.", "date": "2019-01-02", "url": "http://x"}))
    (tmp_path / "many.jsonl").write_text(
        json.dumps({"title": "L1", "text": "First."}) + "\n\n" + json.dumps({"title": "L2", "text": "Second."}) + "\n"
    )
    articles, warnings = load_articles(tmp_path)
    assert warnings == []
    by_id = {a.id: a for a in articles}
    assert by_id["one.json"].url == "http://x" and by_id["one.json"].date == "2019-01-02"
    assert by_id["many.jsonl#0"].title == "L1" and by_id["many.jsonl#1"].text == "Second."


def test_bad_files_are_named_and_skipped(tmp_path):
    (tmp_path / "good.txt").write_text("Good title\n\nGood body text.")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 title\n\nbody".encode("latin-1"))
    (tmp_path / "empty.md").write_text("   \n")
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "notext.json").write_text(json.dumps({"title": "no text"}))
    (tmp_path / "title-only.txt").write_text("Just a title\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    articles, warnings = load_articles(tmp_path)
    assert [a.id for a in articles] == ["good.txt"]
    text = "\n".join(warnings)
    for name in ("binary.txt", "latin1.txt", "empty.md", "broken.json", "notext.json", "title-only.txt", "image.png"):
        assert name in text, name
    assert "binary" in text and "UTF-8" in text and "empty" in text


def test_missing_folder_is_an_error(tmp_path):
    import pytest

    with pytest.raises(FileNotFoundError):
        load_articles(tmp_path / "nope")
