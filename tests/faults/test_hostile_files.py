"""Hostile files: small or ordinary-looking articles that would cost minutes or gigabytes to read.

A YAML "billion laughs" in Markdown front matter, front matter Python cannot build, an HTML tag
with 400,000 attributes, a huge <title>, a JSON number of 5,000 digits or a string of millions
of escapes, a Markdown table of 600,000 cells. Each is read in seconds and a few hundred MB at
most (measured in a child process under a memory limit), named once with its reason, and the
rest of the folder is read as before.
"""

import json
import resource
import subprocess
import sys
import time

import pytest

from conftest import ROOT, article_folder, named_once, qa_cli
from qa.articles import load_articles

STORY = "The harbour of Port Vell reopened on Monday after three months of repairs."


def yaml_bomb(levels: int = 10, width: int = 10) -> str:
    """A 0.6 KB Markdown article whose front matter expands to width**levels values ("billion laughs")."""
    lines = ["---", 'a0: &a0 "lol"']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    lines += [f"title: *a{levels - 1}", f"date: *a{levels - 1}", f"author: *a{levels - 1}", "---", "", "# Bomb story", "", STORY]
    return "\n".join(lines) + "\n"


def attribute_bomb(n: int = 400_000) -> str:
    """A 4.7 MB page with one tag of ``n`` attributes (lxml and trafilatura take time quadratic in them)."""
    attrs = " ".join(f'a{i}="v"' for i in range(n))
    return f"<html><head><title>Attributes</title></head><body><article><p {attrs}>{STORY}</p></article></body></html>"


def table_markdown(cells: int = 600_000) -> str:
    """3.6 MB of Markdown table (markdown-it: 26 s and 1.5 GB before the limit)."""
    return "# Table\n\n" + "|a" * cells + "|\n" + "|-" * cells + "|\n" + "|x" * cells + "|\n"


def _read_in_child(folder, limit_mb: int = 1536, timeout: float = 60) -> dict:
    """``load_articles(folder)`` in a child process with at most ``limit_mb`` of address space.

    Returns:
        {'seconds': time in load_articles, 'peak_mb': the child's peak RSS, 'articles': [[id, title, text]...],
        'warnings': [...]}. A child that runs out of memory fails the test; one past ``timeout`` is killed.
    """
    # The peak is VmHWM after a reset (clear_refs 5): ru_maxrss would also count the moment between
    # fork and exec, when the child still maps the test process (hundreds of MB once models are loaded).
    code = (
        "import json, re, sys, time\n"
        "from qa.articles import load_articles\n"
        "open('/proc/self/clear_refs', 'w').write('5')\n"
        "start = time.perf_counter()\n"
        "articles, warnings = load_articles(sys.argv[1])\n"
        "seconds = time.perf_counter() - start\n"
        "peak_kb = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "print(json.dumps({'seconds': seconds, 'peak_mb': peak_kb / 1024,\n"
        "                  'articles': [[a.id, a.title, a.text] for a in articles], 'warnings': warnings}))\n"
    )

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))

    r = subprocess.run([sys.executable, "-c", code, str(folder)], check=False, capture_output=True, text=True, cwd=ROOT,
                       preexec_fn=limit, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout)


def test_yaml_alias_bomb_in_front_matter_is_read_as_text_in_seconds(tmp_path):
    """Ten levels of ten aliases: 40-55 s and 3-6 GB when anything formatted the date; now ignored at once."""
    arts = article_folder(tmp_path)
    (arts / "bomb.md").write_text(yaml_bomb())
    assert (arts / "bomb.md").stat().st_size < 700
    out = _read_in_child(arts)
    assert out["seconds"] < 5, out["seconds"]
    assert out["peak_mb"] < 300, out["peak_mb"]
    by_id = {i: (title, text) for i, title, text in out["articles"]}
    assert by_id["bomb.md"] == ("Bomb story", STORY)  # still indexed, as the Markdown it is
    assert "good.txt" in by_id
    assert named_once(out["warnings"], "bomb.md") == (
        "bomb.md: front matter uses a YAML alias (*a0) at line 3: ignored (aliases are not read in article metadata)"
    )


def test_front_matter_python_cannot_build_is_a_note_never_a_crash(tmp_path):
    """Deep nesting (RecursionError), 5,000 digits and 30 February (ValueError) stopped the whole folder."""
    arts = article_folder(tmp_path)
    body = "\n\n# {}\n\n" + STORY + " ({})\n"
    (arts / "deep.md").write_text("---\ntitle: " + "[" * 20_000 + "]" * 20_000 + "\n---" + body.format("Deep", 1))
    (arts / "digits.md").write_text("---\ntitle: Digits\nid: " + "7" * 5_000 + "\n---" + body.format("Digits", 2))
    (arts / "feb30.md").write_text("---\ntitle: Leap\ndate: 2024-02-30\n---" + body.format("Leap", 3))
    (arts / "large.md").write_text("---\n" + "".join(f"key{i}: value {i}\n" for i in range(5_000)) + "---" + body.format("Large", 4))
    (arts / "fine.md").write_text("---\ntitle: Fine\ndate: 2024-02-03\nid: 17\n---" + body.format("Fine", 5))
    articles, warnings = load_articles(arts)
    by_source = {a.source: a for a in articles}
    assert sorted(by_source) == ["deep.md", "digits.md", "feb30.md", "fine.md", "good.txt", "large.md"]
    assert (by_source["fine.md"].id, by_source["fine.md"].date) == ("17", "2024-02-03")
    assert by_source["feb30.md"].title == "Leap" and by_source["feb30.md"].date == ""  # the rest of its front matter kept
    assert by_source["digits.md"].id == "digits.md" and by_source["digits.md"].title == "Digits"
    assert named_once(warnings, "deep.md") == "deep.md: front matter nests more than 32 levels deep at line 2: ignored"
    assert named_once(warnings, "digits.md") == "digits.md: 'id' is 5,000 characters, more than the limit of 1,000: ignored"
    assert named_once(warnings, "feb30.md") == "feb30.md: front matter date '2024-02-30' is not a date: ignored"
    assert named_once(warnings, "large.md").endswith("characters, more than the limit of 65,536: ignored")
    assert len(warnings) == 4


def test_html_tag_with_400000_attributes_is_refused_before_it_is_parsed(tmp_path):
    """lxml and trafilatura took more than 5 minutes on this 4.7 MB page; it is now named and skipped."""
    arts = article_folder(tmp_path)
    (arts / "attrs.html").write_text(attribute_bomb())
    out = _read_in_child(arts)
    assert out["seconds"] < 10, out["seconds"]
    assert out["peak_mb"] < 300, out["peak_mb"]
    assert [a[0] for a in out["articles"]] == ["good.txt"]
    assert out["warnings"] == ["skipped attrs.html: a tag on line 1 has more than 1,000 attributes: not read"]


_MANY = " ".join(f"b{i}" for i in range(2_100))  # more than the limit (a tag of over 2,002 is always found)
_TAG = f"<p {_MANY}>bomb</p>"
# The page constructs where a scan could read a tag differently from libxml2: whether the tag
# is real is decided by lxml itself, and the scan must agree (else a hostile page could hide it).
_CONSTRUCTS = {
    "plain": _TAG,
    "quoted >": f'<p a=">" {_MANY}>x</p>',
    "apostrophe in a name": f"<p 'x {_MANY}>x</p>",
    "nbsp before =": f'<p x\xa0=\xa0"{_TAG}"></p>',
    **{f"in {name}": f"<div><{name}>{_TAG}</{name}></div>" for name in
       ("script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "plaintext", "noscript", "template", "svg")},
    **{f"after {name}": f'<div><{name}><x y="</{name}>{_TAG}"</{name}></div>' for name in
       ("script", "style", "title", "textarea", "iframe", "noscript")},
    "script closed by </SCRIPT >": f"<script>a<b</SCRIPT >{_TAG}",
    "script not closed by </scriptx>": f"<script></scriptx>{_TAG}</script>",
    "in a comment": f"<!-- {_TAG} -->",
    "after a comment": f'<!-- <x y=" -->{_TAG}" -->',
    "after --!>": f'<!-- <x y=" --!>{_TAG}" -->',
    "after <!-->": f"<!-->{_TAG}",
    "in a comment to the end": f"<!-- {_TAG}",
    "in <!doctype>": f'<!x y="{_TAG}">',
    "after <!x": f'<!x <x y=">{_TAG}"',
    "after <?x": f'<?x <x y=">{_TAG}"',
    "after CDATA": f'<svg><![CDATA[ <x y="]]>{_TAG}"]]></svg>',
    "in an end tag's value": f'</div y="{_TAG}">',
    # ordinary pages with long tags: never refused
    "data URI": '<img src="data:image/png;base64,' + "QUJD" * 100_000 + '" alt="a b c d">' + "<p>x</p>",
    "svg path": '<svg><path d="' + "M 1 2 L 3 4 " * 20_000 + '"/></svg>',
    "script with a<b": "<script>" + "if (a<b && c) { x = y + z; } " * 5_000 + "</script><p>x</p>",
}


@pytest.mark.parametrize("name", list(_CONSTRUCTS))
def test_the_attribute_scan_reads_tags_as_lxml_does(name):
    import lxml.html

    from qa.formats.html import MAX_HTML_ATTRIBUTES, too_many_attributes

    page = "<div>x</div>" + _CONSTRUCTS[name]
    most = max(len(e.attrib) for e in lxml.html.document_fromstring(page).iter() if isinstance(e.tag, str))
    assert bool(too_many_attributes(page)) == (most > MAX_HTML_ATTRIBUTES), (most, too_many_attributes(page))


def test_huge_metadata_values_are_left_out_with_a_note(tmp_path):
    """A 5,000-character <title> or url, JSON title or number, a list of 300 authors: not kept, printed or stored."""
    arts = article_folder(tmp_path)
    (arts / "page.html").write_text(
        "<html><head><title>" + "t" * 5_000 + "</title><link rel='canonical' href='https://example.com/" + "u" * 5_000
        + "'></head><body><article><p>" + STORY + "</p></article></body></html>"
    )
    (arts / "feed.jsonl").write_text(json.dumps({"title": "T" * 5_000, "id": 10 ** 2_000, "text": STORY + " (feed)"}) + "\n")
    (arts / "names.md").write_text("---\ntitle: Names\nauthor: [" + ", ".join(["A. Name"] * 300) + "]\n---\n\n" + STORY + " (names)\n")
    articles, warnings = load_articles(arts)
    for a in articles:
        for value in (a.id, a.title, a.url, a.author):
            assert len(value) <= 1_000, (a.source, value[:80])
    by_source = {a.source: a for a in articles}
    assert (by_source["page.html"].title, by_source["page.html"].url) == ("page", "")
    assert by_source["feed.jsonl"].title == "feed"
    assert by_source["names.md"].author == ""
    assert warnings == [
        "feed.jsonl line 1: 'title' is 5,000 characters, more than the limit of 1,000: ignored",
        "feed.jsonl line 1: 'id' is a number of more than 1,000 digits: ignored",
        "names.md: 'author' is 2,698 characters, more than the limit of 1,000: ignored",
        "page.html: 'title' is 5,000 characters, more than the limit of 1,000: ignored",
        "page.html: 'url' is 5,020 characters, more than the limit of 1,000: ignored",
    ]


def test_json_number_too_long_for_python_is_skipped_never_a_crash(tmp_path):
    """json.loads raises ValueError (not JSONDecodeError) past 4,300 digits: it stopped the whole folder."""
    arts = article_folder(tmp_path)
    number = "1" * 5_000
    (arts / "one.json").write_text('{"text": "Story.", "id": ' + number + "}")
    (arts / "feed.jsonl").write_text('{"text": "Line one.", "id": ' + number + '}\n{"text": "Line two."}\n')
    articles, warnings = load_articles(arts)
    assert sorted(a.text for a in articles) == ["A good story about the harbour.", "Line two."]
    too_long = "JSON holds a number too long to read (Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits)"
    assert warnings == [f"skipped feed.jsonl line 1: {too_long}", f"skipped one.json: {too_long}"]


def test_json_string_of_millions_of_escapes_costs_its_own_size(tmp_path):
    """Measuring its depth took 320 MB for 4.8 MB ('\\n' x 2.4 million); now ~65 MB."""
    arts = article_folder(tmp_path)
    (arts / "escapes.json").write_text('{"title": "Escapes", "text": "' + "\\n" * 2_400_000 + STORY + '"}')
    out = _read_in_child(arts)
    assert out["peak_mb"] < 200, out["peak_mb"]
    assert sorted(a[1] for a in out["articles"]) == ["Escapes", "Good title"] and out["warnings"] == []


def test_markdown_past_the_limit_is_read_as_plain_text(tmp_path):
    """3.6 MB of table cells: markdown-it took 26 s and 1.5 GB; now read as plain text, with a note."""
    arts = article_folder(tmp_path)
    (arts / "table.md").write_text(table_markdown())
    out = _read_in_child(arts)
    assert out["seconds"] < 5, out["seconds"]
    assert out["peak_mb"] < 300, out["peak_mb"]
    by_id = {i: (title, text) for i, title, text in out["articles"]}
    assert by_id["table.md"][0] == "Table" and by_id["table.md"][1].startswith("|a|a|a")
    size = len(table_markdown())
    assert out["warnings"] == [f"table.md: {size:,} characters of Markdown, more than the limit of 500,000: read as plain text"]


def test_cli_index_reads_a_folder_of_hostile_files(tmp_path):
    """One real `qa index`: every hostile file named once with its reason, the rest indexed."""
    arts = article_folder(tmp_path)
    (arts / "bomb.md").write_text(yaml_bomb())
    (arts / "attrs.html").write_text(attribute_bomb())
    (arts / "table.md").write_text(table_markdown())
    (arts / "digits.json").write_text('{"text": "Story.", "id": ' + "1" * 5_000 + "}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.monotonic()
    r = qa_cli("index", "--articles", str(arts), "--index", str(tmp_path / "ix"), timeout=300)
    seconds = time.monotonic() - start
    assert r.returncode == 0, r.stderr[-3000:]
    assert seconds < 120, seconds  # mostly loading the embedding model; the bomb alone took 40-55 s
    # ru_maxrss of children is the largest child's so far: this one's when it grew
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after > before:
        assert after / 1024 < 2_500, after / 1024  # the model and torch are ~1 GB; the bomb alone took 3-6 GB
    assert "3 added" in r.stdout, r.stdout  # good.txt, bomb.md and table.md
    for name, reason in [("bomb.md", "YAML alias"), ("attrs.html", "more than 1,000 attributes"),
                         ("table.md", "read as plain text"), ("digits.json", "number too long to read")]:
        assert r.stderr.count(name) == 1 and reason in r.stderr, (name, r.stderr)
