"""Sentence splitting and chunking time against article size (it was quadratic: 8 MB took 37 s).

Run from the repository root:

    .venv/bin/python benchmarks/chunking.py            # writes benchmarks/results/chunking.{md,json}
    .venv/bin/python benchmarks/chunking.py --old REV  # also time qa/chunking.py as of git REV

Texts: the seed article repeated to each size (ordinary news prose), and for the largest size a
few shapes that used to be slow: many abbreviation periods in one long sentence ('the U.S. met
the U.N. and …'), a run of '!' with no space after it, and '. ' repeated.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "results"
SIZES_MB = (1, 2, 4, 8, 16)


def news(n: int) -> str:
    base = (ROOT / "seeds" / "russia-nato-clash-over-libya-campaign.txt").read_text()
    return (base * (n // len(base) + 1))[:n]


SHAPES = {
    "news prose": news,
    "abbreviations in one sentence": lambda n: ("the U.S. met the U.N. and " * (n // 26 + 1))[:n],
    "'!' run, no space after": lambda n: "!" * n + "x",
    "'. ' repeated": lambda n: ". " * (n // 2),
}


def timed(chunk_text, text: str) -> float:
    t0 = time.perf_counter()
    chunk_text(text)
    return time.perf_counter() - t0


def load_old(rev: str):
    source = subprocess.run(["git", "show", f"{rev}:qa/chunking.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "chunking_old.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("chunking_old", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["chunking_old"] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod.chunk_text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", help="git revision whose qa/chunking.py is timed too (news prose, up to 4 MB)")
    args = ap.parse_args()
    from qa.chunking import chunk_text

    rows = []
    for mb in SIZES_MB:
        rows.append({"shape": "news prose", "mb": mb, "seconds": round(timed(chunk_text, news(mb * 1_000_000)), 2)})
        print(rows[-1], flush=True)
    for shape, make in SHAPES.items():
        if shape != "news prose":
            rows.append({"shape": shape, "mb": 4, "seconds": round(timed(chunk_text, make(4_000_000)), 2)})
            print(rows[-1], flush=True)
    old_rows = []
    if args.old:
        old = load_old(args.old)
        for mb in (1, 2, 4):  # 8 MB takes minutes before the fix
            old_rows.append({"shape": "news prose", "mb": mb, "seconds": round(timed(old, news(mb * 1_000_000)), 2)})
            print("old", old_rows[-1], flush=True)
        for n in (10_000, 20_000):  # quadratic in the run: 40,000 took 38 s before the fix
            old_rows.append({"shape": "'!' run, no space after", "mb": n / 1e6, "seconds": round(timed(old, "!" * n + "x"), 2)})
            rows.append({"shape": "'!' run, no space after", "mb": n / 1e6, "seconds": round(timed(chunk_text, "!" * n + "x"), 3)})
            print("old", old_rows[-1], flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    result = {"measured": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": commit,
              "machine": platform.processor() or platform.machine(), "python": platform.python_version(),
              "load_average": [round(x, 1) for x in os.getloadavg()],
              "rows": rows, "old_revision": args.old, "old_rows": old_rows}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "chunking.json").write_text(json.dumps(result, indent=2))
    lines = ["# Chunking time against article size", "",
             f"`python benchmarks/chunking.py{' --old ' + args.old if args.old else ''}`, {result['measured']}, commit {commit}, "
             f"load average {result['load_average'][0]} (other jobs shared the 2 CPUs: the shape matters more than the seconds).", "",
             "| text | size | seconds (now) |" + (" seconds (before) |" if old_rows else ""),
             "|---|---|---|" + ("---|" if old_rows else "")]
    before = {(r["shape"], r["mb"]): r["seconds"] for r in old_rows}
    for r in rows:
        extra = f" {before.get((r['shape'], r['mb']), '')} |" if old_rows else ""
        lines.append(f"| {r['shape']} | {r['mb']} MB | {r['seconds']} |{extra}")
    for r in old_rows:
        if not any((x["shape"], x["mb"]) == (r["shape"], r["mb"]) for x in rows):
            lines.append(f"| {r['shape']} | {r['mb']} MB | | {r['seconds']} |")
    (OUT / "chunking.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
