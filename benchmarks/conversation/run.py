"""Multi-turn conversation benchmark: is each last question read right, and answered right?

Cases (``cases.jsonl``): a conversation of questions over the articles in ``articles/``
(the shipped seed article, two SQuAD v1.1 *validation* articles' first paragraphs, and
one news article written for this benchmark). Earlier turns are asked live, so a wrong
earlier answer carries into later turns as it would in the chat. For the last question:

* ``read_as``: null -> the question must be read as asked; a list -> the reading used
  (``Answer.resolved_question``) must be a rewrite containing one of these strings.
* ``answer``: null -> the articles do not answer it and the engine must decline; a list
  -> the answer must reach F1 >= 0.5 against one of these.
* ``articles`` (optional): the folders to index for the case, relative to ``benchmarks/``
  (default ``conversation/articles``). Cases of one set of folders share one index.
* ``split`` (optional): ``dev`` or ``heldout``. The first 51 cases have none (``original``:
  written with the resolver and tuned on). Cases 52 on (issue 22: referents that fit) are
  over a newsroom folder of two or three stories (``stories/articles/*`` and one article
  written for the benchmark, ``articles-dev/`` or ``articles-heldout/``): ``dev`` cases may be
  looked at while changing the resolver, ``heldout`` cases (other stories) never are; each
  split is reported apart.

``--resolver old`` runs the resolver qa had before (``old_followup.py``, kept verbatim
from git history: first pronoun -> previous answer or last name, one reading); ``new``
runs ``Engine.ask(question, history=earlier_answers)``.

    PYTHONPATH=. .venv/bin/python benchmarks/conversation/run.py            # both, table
    PYTHONPATH=. .venv/bin/python benchmarks/conversation/run.py --resolver new -o results.json
    PYTHONPATH=. .venv/bin/python benchmarks/conversation/run.py --resolver new --split dev   # tuning: dev cases only
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

BENCHMARKS = HERE.parent
CATEGORIES = ["follow-up", "elliptical", "standalone-pronoun", "topic-change", "unanswerable-follow-up",
              "role-noun", "kind-fit", "last-answer", "short-name"]
SPLITS = ["original", "dev", "heldout"]
DEFAULT_ARTICLES = ("conversation/articles",)


def split_of(case: dict) -> str:
    return case.get("split", "original")


def articles_of(case: dict) -> tuple[str, ...]:
    return tuple(case.get("articles") or DEFAULT_ARTICLES)


def load_cases(path: Path = HERE / "cases.jsonl") -> list[dict]:
    """The benchmark's cases, one JSON object a line."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ask_old(engine, question: str, history: list):
    """One turn the way qa answered before: old_followup.resolve, then one reading."""
    from old_followup import Turn as OldTurn
    from old_followup import resolve

    from qa.conversation import Reading

    turns = [OldTurn(a.resolved_question, a.answer) for a in history]
    r = resolve(question, turns)
    return engine._answer(question, Reading(r.question, r.query, r.changed))


def rejudge(path: Path) -> None:
    """Judge a saved result again against the cases as they are now (the readings and answers it recorded)."""
    from types import SimpleNamespace

    saved = json.loads(path.read_text())
    cases = {c["id"]: c for c in load_cases()}
    for rs in saved["results"].values():
        for r in rs:
            r.update(judge(cases[r["id"]], SimpleNamespace(resolved_question=r["resolved_question"], answer=r["answer"])))
    saved["table"] = table(saved["results"])
    path.write_text(json.dumps(saved, indent=1, ensure_ascii=False))
    print(saved["table"])


def judge(case: dict, answer) -> dict:
    """Whether the last question was read right and answered right."""
    from qa.offline.squad import f1_score

    asked = " ".join(case["turns"][-1].split())
    used = answer.resolved_question
    if case["read_as"] is None:
        read_ok = used == asked
    else:  # whole words: "US" is not in "status", "Ng" not in "during"
        read_ok = used != asked and any(re.search(rf"(?<!\w){re.escape(s)}(?!\w)", used, re.IGNORECASE) for s in case["read_as"])
    if case["answer"] is None:
        answer_ok = answer.answer is None
    else:
        answer_ok = answer.answer is not None and max(f1_score(answer.answer, g) for g in case["answer"]) >= 0.5
    return {"read_ok": read_ok, "answer_ok": answer_ok, "resolved_question": used, "answer": answer.answer}


def run(engine, cases: list[dict], resolver: str, cache: dict) -> list[dict]:
    """Every case through the engine; returns per-case results.

    ``cache`` keeps answers by the conversation so far: cases that open alike are not asked twice,
    and a first question (no history: both resolvers read it as asked) is shared between resolvers.
    """
    out = []
    for case in cases:
        history = []
        for i, q in enumerate(case["turns"]):
            key = ("any" if i == 0 else resolver, articles_of(case), tuple(case["turns"][: i + 1]))
            if key not in cache:
                cache[key] = engine.ask(q, history) if resolver == "new" else ask_old(engine, q, history)
            history.append(cache[key])
        out.append({"id": case["id"], "category": case["category"], "split": split_of(case), **judge(case, history[-1])})
        print(f"[{resolver}] {case['id']:>3} {'R' if out[-1]['read_ok'] else '-'}{'A' if out[-1]['answer_ok'] else '-'} "
              f"{out[-1]['resolved_question']!r} -> {out[-1]['answer']!r}", file=sys.stderr, flush=True)
    return out


def table(results: dict[str, list[dict]]) -> str:
    """A Markdown table: per category, read right and answered right, for each resolver (one table a split)."""
    names = list(results)
    head = "| category | cases | " + " | ".join(f"read right ({n}) | answer right ({n})" for n in names) + " |"
    present = [sp for sp in SPLITS if any(r["split"] == sp for rs in results.values() for r in rs)]
    tables = []
    for split in present:
        lines = [f"{split}:", "", head, "|" + "---|" * (2 + 2 * len(names))]
        lines += _rows({n: [r for r in rs if r["split"] == split] for n, rs in results.items()})
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


def _rows(results: dict[str, list[dict]]) -> list[str]:
    names = list(results)
    lines = []
    for cat in CATEGORIES + ["all"]:
        row = [cat, None]
        for n in names:
            rs = [r for r in results[n] if cat == "all" or r["category"] == cat]
            row[1] = len(rs)
            row += [f"{sum(r['read_ok'] for r in rs)}/{len(rs)}", f"{sum(r['answer_ok'] for r in rs)}/{len(rs)}"]
        if row[1]:
            lines.append("| " + " | ".join(str(x) for x in row) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resolver", choices=["old", "new", "both"], default="both")
    parser.add_argument("--output", "-o", type=Path, help="write per-case results and the table as JSON")
    parser.add_argument("--split", choices=SPLITS + ["all"], default="all", help="run only these cases")
    parser.add_argument("--rejudge", type=Path, help="judge a saved result file again (no engine), rewriting it")
    args = parser.parse_args()
    if args.rejudge:
        return rejudge(args.rejudge)

    from qa import Engine

    cases = [c for c in load_cases() if args.split in ("all", split_of(c))]
    resolvers = ["old", "new"] if args.resolver == "both" else [args.resolver]
    results: dict[str, list[dict]] = {name: [] for name in resolvers}
    seconds = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        # One index per set of article folders, built in its own engine (old cases keep their folder as it was).
        for n, folders in enumerate(dict.fromkeys(articles_of(c) for c in cases)):
            articles = BENCHMARKS / folders[0]
            if len(folders) > 1:  # a newsroom folder: each story a subfolder
                articles = Path(tmp) / f"articles-{n}"
                for folder in folders:
                    shutil.copytree(BENCHMARKS / folder, articles / Path(folder).name)
            engine = Engine()
            engine.config.index_dir = str(Path(tmp) / f"index-{n}")
            engine.index(articles)
            engine.warm_up()
            group, cache = [c for c in cases if articles_of(c) == folders], {}
            t0 = time.perf_counter()
            for name in resolvers:
                results[name] += run(engine, group, name, cache)
            seconds += time.perf_counter() - t0
    order = {c["id"]: i for i, c in enumerate(cases)}
    for rs in results.values():
        rs.sort(key=lambda r: order[r["id"]])
    text = table(results)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True, cwd=HERE).stdout.strip()
        args.output.write_text(json.dumps({"cases": len(cases), "split": args.split, "commit": commit, "seconds": round(seconds, 1), "table": text,
                                           "results": results}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
