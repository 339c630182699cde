"""What finding quotations costs: ``qa.quotes.extract`` per article, on the quote benchmark's and the stories benchmark's articles.

Pure text processing (no model): the time is CPU time of one process, best of 5 runs per
article (the machine is shared), reported per article and per 1,000 characters.

    PYTHONPATH=. .venv/bin/python benchmarks/quotes/cost.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from qa.articles import load_articles
from qa.quotes import extract

ROOT = Path(__file__).resolve().parent.parent


def measure(folders: list[Path]) -> dict:
    """Per-article extraction time (ms, best of 5) over every article of the folders."""
    rows = []
    for folder in folders:
        articles, _ = load_articles(folder)
        for a in articles:
            best = min(_time(a.text) for _ in range(5))
            rows.append({"article": a.source, "chars": len(a.text), "ms": best * 1000, "quotes": len(extract(a.text).quotes)})
    ms = [r["ms"] for r in rows]
    return {
        "articles": len(rows), "chars_median": statistics.median(r["chars"] for r in rows),
        "ms_median": round(statistics.median(ms), 3), "ms_p95": round(sorted(ms)[int(0.95 * (len(ms) - 1))], 3),
        "ms_max": round(max(ms), 3), "ms_per_1000_chars": round(sum(ms) / sum(r["chars"] for r in rows) * 1000, 3),
        "quotes_per_article": round(statistics.mean(r["quotes"] for r in rows), 2),
    }


def _time(text: str) -> float:
    t0 = time.process_time()
    extract(text)
    return time.process_time() - t0


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    quotes = sorted((ROOT / "quotes" / "articles").iterdir())
    stories = sorted((ROOT / "stories" / "articles").iterdir())
    out = {"quote benchmark": measure(quotes), "stories benchmark": measure(stories)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
