"""HTML article extraction: which text a method keeps from realistic news pages, and how fast.

Pages: ``benchmarks/data/html/*.html`` (written for this: WordPress with sidebar widgets and
comments, a div layout without ``<article>``, teaser cards that are ``<article>`` elements,
comments and share bars inside ``<article>``, a headline outside the ``<article>``, an
``<article>`` holding only the headline, schema.org ``articleBody`` beside "recommended"
cards, a short brief, a results table, figures and related links). Each page has the story's text
(``.txt``). Scores are word-level (multiset of lower-cased words): precision = share of the
extracted words that are story words, recall = share of the story's words extracted.

    .venv/bin/python benchmarks/html_extraction.py     # writes results/html_extraction.md

Methods:
  hand-written   the extractor qa had before (BeautifulSoup: drop nav/header/footer/aside,
                 then the first <article>, else <main>, else <body>; its p/li/h2-h4 blocks).
  traf-default   trafilatura on the whole page, its default settings.
  traf-qa        trafilatura as qa runs it (qa.formats.html.parse_html: minimum text size 1).
  traf-qa-scope  the same, given only the page's one itemprop="articleBody" element, else
                 the <article> holding its <h1>, else <main>, when there is one: the
                 "<article> fast path" kept as a hint to trafilatura.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PAGES = ROOT / "benchmarks" / "data" / "html"


def hand_written(text: str) -> str:
    """qa's extractor before trafilatura (commit 064ed82, qa/articles.py parse_html), body only."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe", "svg"]):
        tag.decompose()
    h1 = soup.find("h1")
    root = soup.find("article") or soup.find("main") or soup.body or soup
    if h1:
        h1.decompose()
    blocks = []
    for el in root.find_all(["p", "li", "h2", "h3", "h4", "blockquote", "pre"]):
        if el.find_parent(["p", "li", "blockquote", "pre"]):
            continue
        block = " ".join(el.get_text(" ", strip=True).split())
        if block:
            blocks.append(block)
    return "\n\n".join(blocks)


def traf_default(text: str) -> str:
    import lxml.html
    import trafilatura

    doc = trafilatura.bare_extraction(lxml.html.document_fromstring(text), include_comments=False, favor_precision=True)
    return doc.text if doc else ""


def traf_qa(text: str) -> str:
    from qa.formats.html import parse_html

    return parse_html(text).text


def traf_qa_scope(text: str) -> str:
    import lxml.html
    import trafilatura

    from qa.formats.html import _config

    tree = lxml.html.document_fromstring(text)
    trafilatura.extract_metadata(tree, extensive=False)  # as qa does, so that times compare
    body = tree.xpath("//*[@itemprop='articleBody']")
    with_h1 = [a for a in tree.iter("article") if a.find(".//h1") is not None]
    scope = body[0] if len(body) == 1 else with_h1[0] if len(with_h1) == 1 else tree.find(".//main")
    if scope is not None:
        tree = lxml.html.document_fromstring("<html><body>" + lxml.html.tostring(scope, encoding="unicode") + "</body></html>")
    doc = trafilatura.bare_extraction(tree, include_comments=False, favor_precision=True, include_tables=True, config=_config())
    return doc.text if doc else ""


METHODS = {"hand-written": hand_written, "traf-default": traf_default, "traf-qa": traf_qa, "traf-qa-scope": traf_qa_scope}


def words(text: str) -> Counter:
    return Counter(re.findall(r"\w+", text.lower()))


def score(got: str, gold: str, title: str) -> tuple[float, float]:
    lines = [line.strip() for line in got.split("\n") if line.strip()]
    if lines and lines[0].casefold() == title.casefold():
        lines = lines[1:]  # every method may repeat the headline: qa drops it, so it is not counted
    g, w = words(gold), words("\n".join(lines))
    both = sum((g & w).values())
    return both / max(1, sum(w.values())), both / max(1, sum(g.values()))


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    pages = sorted(PAGES.glob("*.html"))
    rows, totals = [], {m: [] for m in METHODS}
    for page in pages:
        html, gold = page.read_text(), page.with_suffix(".txt").read_text()
        title = dict(line.split("=", 1) for line in page.with_suffix(".meta").read_text().splitlines())["title"]
        cells = []
        for name, fn in METHODS.items():
            fn(html)  # warm: imports, caches
            times = []
            for _ in range(15):
                t = time.process_time()
                got = fn(html)
                times.append(time.process_time() - t)
            p, r = score(got, gold, title)
            ms = min(times) * 1000  # CPU time, fastest of 15: other processes share the machine
            totals[name].append((p, r, ms))
            cells.append(f"{p:.2f} / {r:.2f} / {ms:.1f}")
        rows.append(f"| {page.stem} | " + " | ".join(cells) + " |")
    mean = [
        f"**{statistics.mean(x[0] for x in v):.2f} / {statistics.mean(x[1] for x in v):.2f} / {statistics.mean(x[2] for x in v):.1f}**"
        for v in totals.values()
    ]
    out = [
        "# HTML extraction: story words kept",
        "",
        f"`.venv/bin/python benchmarks/html_extraction.py` ({len(pages)} pages in `benchmarks/data/html/`).",
        "Each cell: word precision / word recall / CPU ms per page (fastest of 15 runs, after one warm-up).",
        "A first line equal to the page's headline is not counted (qa uses it as the title).",
        "",
        "| page | " + " | ".join(METHODS) + " |",
        "|---|" + "---|" * len(METHODS),
        *rows,
        "| **mean** | " + " | ".join(mean) + " |",
        "",
    ]
    text = "\n".join(out)
    print(text)
    (ROOT / "benchmarks" / "results" / "html_extraction.md").write_text(text)


if __name__ == "__main__":
    main()
