"""Reading articles: seconds to read large or many articles (before any embedding).

Synthetic files in ``benchmarks/work/reading/`` (not committed): one ~4.5 MB article as
.txt, .md (bold and links in every paragraph) and .html; a .json list of 8,500 records;
a .jsonl feed of 50,000 records with ISO dates; a .json nested 100,000 levels deep (refused).

    .venv/bin/python benchmarks/reading.py      # writes results/reading.md
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = ROOT / "benchmarks" / "work" / "reading"


def make() -> dict[str, Path]:
    """The input files, one folder each (written once)."""
    rnd = random.Random(0)
    words = "the council voted on tuesday to build a new tram line linking the central station with the university campus".split()
    paras = [" ".join(rnd.choice(words) for _ in range(80)).capitalize() + "." for _ in range(9000)]
    files = {
        "big.txt": "Big\n\n" + "\n\n".join(paras),
        "big.md": "---\ntitle: Big\n---\n" + "\n\n".join(f"**{p}** [link](http://x.example)" for p in paras[:8000]),
        "big.html": "<html><head><title>Big</title></head><body><article><h1>Big page</h1>"
        + "".join(f"<p>{p}</p>" for p in paras) + "</article></body></html>",
        "list.json": json.dumps([{"title": f"T{i}", "text": p} for i, p in enumerate(paras[:8500])]),
        "feed.jsonl": "".join(
            json.dumps({"title": f"Story {i}", "text": f"Body number {i} of the feed.", "date": f"2024-01-{i % 28 + 1:02d}",
                        "url": f"https://x.example/{i}"}) + "\n" for i in range(50_000)
        ),
        "deep.json": "[" * 100_000 + "]" * 100_000,
    }
    folders = {}
    for name, text in files.items():
        folder = WORK / name.replace(".", "-")
        if not (folder / name).exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            (folder / name).write_text(text)
        folders[name] = folder
    return folders


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    from qa.articles import load_articles

    rows = []
    for name, folder in make().items():
        size = (folder / name).stat().st_size
        load_articles(folder)  # warm: imports
        start = time.perf_counter()
        articles, warnings = load_articles(folder)
        seconds = time.perf_counter() - start
        outcome = f"{len(articles):,} article(s)" if articles else warnings[0][:70]
        rows.append(f"| {name} | {size / 1e6:.1f} MB | {seconds:.2f} | {outcome} |")
    text = "\n".join([
        "# Reading articles",
        "",
        "`.venv/bin/python benchmarks/reading.py`: `load_articles` on one file, wall seconds after a warm-up run.",
        "",
        "| file | size | seconds | result |",
        "|---|---|---|---|",
        *rows,
        "",
    ])
    print(text)
    (ROOT / "benchmarks" / "results" / "reading.md").write_text(text)


if __name__ == "__main__":
    main()
