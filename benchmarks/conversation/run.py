"""Multi-turn conversation benchmark: is each last question read right, and answered right?

Cases (``cases.jsonl``): a conversation of questions over the articles in ``articles/``
(the shipped seed article, two SQuAD v1.1 *validation* articles' first paragraphs, and
one news article written for this benchmark). Earlier turns are asked live, so a wrong
earlier answer carries into later turns as it would in the chat. For the last question:

* ``read_as``: null -> the question must be read as asked; a list -> the reading used
  (``Answer.resolved_question``) must be a rewrite containing one of these strings.
* ``answer``: null -> the articles do not answer it and the engine must decline; a list
  -> the answer must reach F1 >= 0.5 against one of these.

``--resolver old`` runs the resolver qa had before (``old_followup.py``, kept verbatim
from git history: first pronoun -> previous answer or last name, one reading); ``new``
runs ``Engine.ask(question, history=earlier_answers)``.

    PYTHONPATH=. .venv/bin/python benchmarks/conversation/run.py            # both, table
    PYTHONPATH=. .venv/bin/python benchmarks/conversation/run.py --resolver new -o results.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CATEGORIES = ["follow-up", "elliptical", "standalone-pronoun", "topic-change", "unanswerable-follow-up"]


def load_cases(path: Path = HERE / "cases.jsonl") -> list[dict]:
    """The benchmark's cases, one JSON object a line."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def ask_old(engine, question: str, history: list):
    """One turn the way qa answered before: old_followup.resolve, then one reading."""
    from old_followup import Turn as OldTurn, resolve

    from qa.conversation import Reading

    turns = [OldTurn(a.resolved_question, a.answer) for a in history]
    r = resolve(question, turns)
    return engine._answer(question, Reading(r.question, r.query, r.changed))


def judge(case: dict, answer) -> dict:
    """Whether the last question was read right and answered right."""
    from qa.squad import f1_score

    asked = " ".join(case["turns"][-1].split())
    used = answer.resolved_question
    if case["read_as"] is None:
        read_ok = used == asked
    else:
        read_ok = used != asked and any(s.lower() in used.lower() for s in case["read_as"])
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
            key = ("any" if i == 0 else resolver, tuple(case["turns"][: i + 1]))
            if key not in cache:
                cache[key] = engine.ask(q, history) if resolver == "new" else ask_old(engine, q, history)
            history.append(cache[key])
        out.append({"id": case["id"], "category": case["category"], **judge(case, history[-1])})
        print(f"[{resolver}] {case['id']:>3} {'R' if out[-1]['read_ok'] else '-'}{'A' if out[-1]['answer_ok'] else '-'} "
              f"{out[-1]['resolved_question']!r} -> {out[-1]['answer']!r}", file=sys.stderr, flush=True)
    return out


def table(results: dict[str, list[dict]]) -> str:
    """A Markdown table: per category, read right and answered right, for each resolver."""
    names = list(results)
    head = "| category | cases | " + " | ".join(f"read right ({n}) | answer right ({n})" for n in names) + " |"
    lines = [head, "|" + "---|" * (2 + 2 * len(names))]
    for cat in CATEGORIES + ["all"]:
        row = [cat, None]
        for n in names:
            rs = [r for r in results[n] if cat == "all" or r["category"] == cat]
            row[1] = len(rs)
            row += [f"{sum(r['read_ok'] for r in rs)}/{len(rs)}", f"{sum(r['answer_ok'] for r in rs)}/{len(rs)}"]
        if row[1]:
            lines.append("| " + " | ".join(str(x) for x in row) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--resolver", choices=["old", "new", "both"], default="both")
    parser.add_argument("--output", "-o", type=Path, help="write per-case results and the table as JSON")
    args = parser.parse_args()

    from qa import Engine

    cases = load_cases()
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine()
        engine.config.index_dir = str(Path(tmp) / "index")
        engine.index(HERE / "articles")
        engine.warm_up()
        results, cache = {}, {}
        t0 = time.perf_counter()
        for name in (["old", "new"] if args.resolver == "both" else [args.resolver]):
            results[name] = run(engine, cases, name, cache)
        seconds = time.perf_counter() - t0
    text = table(results)
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout.strip()
        args.output.write_text(json.dumps({"cases": len(cases), "commit": commit, "seconds": round(seconds, 1), "table": text,
                                           "results": results}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
