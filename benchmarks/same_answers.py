"""Same answers before and after a change that should not change them (a refactor, a rename).

Indexes the first articles of SQuAD validation v1.1 (open mode: the engine retrieves its own
passages), asks their first questions, and writes each answer with its confidence and first
citation. Run it in a checkout of each commit (it uses only the public API, so an older
commit runs it too), then compare the two files::

    PYTHONPATH=. .venv/bin/python benchmarks/same_answers.py run -o /tmp/after.json
    (cd /tmp/before && PYTHONPATH=. /path/to/.venv/bin/python /path/to/benchmarks/same_answers.py run -o /tmp/before.json)
    .venv/bin/python benchmarks/same_answers.py diff /tmp/before.json /tmp/after.json

Validation questions only (never the test files): nothing is tuned on them here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "squad" / "validation-v1.1.json"


def run(articles: int, questions: int, out: Path, data: Path = DATA) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from qa import Article, Config, Engine

    data = json.loads(data.read_text(encoding="utf-8"))["data"][:articles]
    asked = [(qa["id"], qa["question"]) for a in data for p in a["paragraphs"] for qa in p["qas"]][::7][:questions]
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(Config(index_dir=str(Path(tmp) / "index"), articles_dir=tmp))
        engine.indexer().index([Article(a["title"], a["title"].replace("_", " "), "\n\n".join(p["context"] for p in a["paragraphs"]),
                                        source=a["title"]) for a in data])
        rows = []
        for qid, question in asked:
            a = engine.ask(question)
            c = a.citations[0] if a.citations else None
            rows.append({"id": qid, "question": question, "answer": a.answer, "confidence": round(a.confidence, 4),
                         "cited": [c.article_id, c.passage_number, c.answer_start] if c else None})
    out.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(rows)} questions, {sum(r['answer'] is not None for r in rows)} answered -> {out}")


def diff(before: Path, after: Path) -> int:
    old = {r["id"]: r for r in json.loads(before.read_text())}
    new = {r["id"]: r for r in json.loads(after.read_text())}
    changed = [(old[i], new[i]) for i in old if i in new and
               (old[i]["answer"], old[i]["cited"]) != (new[i]["answer"], new[i]["cited"])]
    moved = [i for i in old if i in new and abs(old[i]["confidence"] - new[i]["confidence"]) > 1e-3]
    print(f"{len(old)} questions: {len(changed)} answers or citations differ, {len(moved)} confidences moved by more than 0.001")
    for o, n in changed:
        print(f"  {o['question']}\n    before: {o['answer']!r} {o['cited']}\n    after:  {n['answer']!r} {n['cited']}")
    return 1 if changed else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="answer the questions and write them")
    r.add_argument("--articles", type=int, default=12)
    r.add_argument("--questions", type=int, default=150)
    r.add_argument("-o", "--out", type=Path, required=True)
    r.add_argument("--data", type=Path, default=DATA, help="SQuAD validation file (default: ../shared/data/squad/validation-v1.1.json)")
    d = sub.add_parser("diff", help="compare two runs")
    d.add_argument("before", type=Path)
    d.add_argument("after", type=Path)
    args = ap.parse_args()
    if args.command == "run":
        run(args.articles, args.questions, args.out, args.data)
    else:
        sys.exit(diff(args.before, args.after))


if __name__ == "__main__":
    main()
