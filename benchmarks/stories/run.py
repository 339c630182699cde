"""Stories over time: a folder of dated articles following one evolving story, asked questions of every kind.

Each story (``articles/<story>/``, 6-10 dated articles in .txt, .md, .html and .json) is
indexed on its own, as a newsroom's folder on one story would be, and asked the questions
of ``questions/<story>.jsonl``. Each question has a kind (what it asks about time):

* ``current``: a state that changes, asked now ("How many have died?"): the newest value is right.
* ``period``: the state in a named period ("in April 2024", "since March"): that period's value.
* ``event``: the state at an event of the story ("when the ferry sank"): the value then.
* ``fixed``: a fact or event that does not change ("Who built it?", "When did it capsize?").
* ``relative``: an answer written relatively ("on Tuesday"): right only with the right ``answer_date``.
* ``unanswerable``: no article answers it: right only when declined.

Each answer is graded ``right``, ``stale`` (a value that held at another time: ``stale`` in
the question), ``wrong`` or ``declined``. Stories whose questions say ``"split": "heldout"``
(or ``heldout3`` to ``heldout5``: written later, blind) are never looked at while tuning; they are reported apart.

    PYTHONPATH=. .venv/bin/python benchmarks/stories/run.py -o benchmarks/results/stories.json
    PYTHONPATH=/tmp/before .venv/bin/python benchmarks/stories/run.py ...   # another checkout's qa, for "before"
    PYTHONPATH=. .venv/bin/python benchmarks/stories/run.py --rescore OUT.json -o OUT.json   # its summary with today's types
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = ["current", "period", "event", "fixed", "relative", "unanswerable"]
OUTCOMES = ["right", "stale", "wrong", "declined"]


def load_questions(folder: Path = HERE / "questions") -> list[dict]:
    """Every story's questions, story by story (file name order)."""
    out = []
    for path in sorted(folder.glob("*.jsonl")):
        out += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return out


def _tokens(text: str) -> list[str]:
    from qa.text import normalize_answer

    return normalize_answer(text).split()


def _contains(longer: list[str], shorter: list[str]) -> bool:
    n = len(shorter)
    return n > 0 and any(longer[i:i + n] == shorter for i in range(len(longer) - n + 1))


def matches(prediction: str, gold: str) -> bool:
    """Whether an answer says a gold value: the same words, or the gold inside a short answer (or most of it).

    Token F1 would take "38 people" for "41 people" (F1 0.5); a figure must be the same figure.
    """
    p, g = _tokens(prediction), _tokens(gold)
    if not p or not g:
        return False
    if p == g:
        return True
    if _contains(p, g) and len(p) <= len(g) + 4:
        return True
    # Part of the gold: enough of it, and every number the answer has is the gold's.
    return _contains(g, p) and 2 * len(p) >= len(g) and not (set(re.findall(r"\d+", " ".join(p))) - set(re.findall(r"\d+", " ".join(g))))


def grade(question: dict, answer: dict) -> str:
    """right / stale / wrong / declined for one answer (``Answer.to_dict()``)."""
    text = answer["answer"]
    if question["answer"] is None:
        return "right" if text is None else "wrong"
    if text is None:
        return "declined"
    if any(matches(text, g) for g in question["answer"]):
        if question["kind"] == "relative" and question.get("date") and answer.get("answer_date") != question["date"]:
            return "wrong"
        return "right"
    if any(matches(text, s) for s in question.get("stale") or []):
        return "stale"
    return "wrong"


def _marked(c: dict) -> str:
    """The cited passage with the answer in [brackets] (to read why an answer was given)."""
    s, e = c["answer_start"] - c["passage_start"], c["answer_end"] - c["passage_start"]
    return c["passage"][:s] + "[" + c["passage"][s:e] + "]" + c["passage"][e:]


def story_engines(questions: list[dict]):
    """Yield ``(story, engine, its questions)``: each story of the questions indexed on its own (models loaded once)."""
    from qa import Engine

    by_story = defaultdict(list)
    for q in questions:
        by_story[q["story"]].append(q)
    models = Engine()
    models.warm_up()
    with tempfile.TemporaryDirectory() as tmp:
        for story in sorted(by_story):
            folder = HERE / "articles" / story
            engine = Engine()
            engine.embedder, engine.reader = models.embedder, models.reader  # loaded once for all stories
            engine.config.index_dir = str(Path(tmp) / story)
            engine.config.articles_dir = str(folder)
            engine.index(folder)
            yield story, engine, by_story[story]


def run(stories: list[str] | None = None) -> list[dict]:
    """Index each story on its own and ask its questions; one row a question."""
    rows = []
    for story, engine, questions in story_engines([q for q in load_questions() if not stories or q["story"] in stories]):
        for q in questions:
            t0 = time.perf_counter()
            a = engine.ask(q["question"]).to_dict()
            outcome = grade(q, a)
            rows.append({
                "id": q["id"], "story": story, "split": q.get("split", "dev"), "kind": q["kind"], "type": q.get("type"),
                "question": q["question"], "gold": q["answer"], "answer": a["answer"],
                "confidence": round(a["confidence"], 4), "margin": a["margin"],
                "cosine": a["citations"][0]["cosine"] if a["citations"] else None, "answer_date": a.get("answer_date"),
                "time_kind": a.get("time_kind"), "over_time": [o["answer"] for o in a.get("over_time") or []],
                "cited": [c["article_id"] for c in a["citations"]][:3], "outcome": outcome,
                "marked": _marked(a["citations"][0]) if a["citations"] else None,
                "seconds": round(time.perf_counter() - t0, 3),
            })
            print(f"{outcome:9} {a['confidence']:.2f} [{q['kind']}] {q['question']} -> {a['answer']!r} (gold {q['answer']})",
                  file=sys.stderr)
    return rows


def _of_kind(kind: str, answer: str, question: str) -> bool:
    from qa.answer_types import fits

    return fits({"organisation": "person"}.get(kind, kind), answer, question)


def summary(rows: list[dict]) -> dict:
    """Counts per split and kind, with the share right and the stale answers shown at >= 80%."""
    out = {}
    for split in sorted({r["split"] for r in rows}):
        part = [r for r in rows if r["split"] == split]
        table = {}
        for kind in KINDS + ["all"]:
            sel = [r for r in part if kind == "all" or r["kind"] == kind]
            if not sel:
                continue
            c = Counter(r["outcome"] for r in sel)
            table[kind] = {"n": len(sel), **{o: c.get(o, 0) for o in OUTCOMES}, "right_share": round(c["right"] / len(sel), 3)}
        unans = [r for r in part if r["kind"] == "unanswerable"]
        # What the engine took each question to ask about time, against the kind it was written as
        # (a relative-date question asks when something happened: a fixed fact).
        expected = {"relative": "fixed"}
        judged = [r for r in part if r["kind"] != "unanswerable" and r.get("time_kind")]
        confusion = Counter(f"{expected.get(r['kind'], r['kind'])}->{r['time_kind']}" for r in judged)
        # Answer kinds (the question's ``type``): wrong answers of another kind than asked, judged with
        # qa.answer_types' rules (the same rules the engine uses: read the listed answers, not only the count).
        types = {}
        for t in sorted({r["type"] for r in part if r.get("type")}):
            c = Counter(r["outcome"] for r in part if r.get("type") == t)
            types[t] = {"n": sum(c.values()), **{o: c.get(o, 0) for o in OUTCOMES}}
        wrong_kind = [r for r in part if r.get("type") and r["answer"] and r["outcome"] in ("wrong", "stale")
                      and not _of_kind(r["type"], r["answer"], r["question"])]
        out[split] = {
            "types": types,
            "wrong_kind": len(wrong_kind),
            "wrong_kind_at_50": sum(r["confidence"] >= 0.5 for r in wrong_kind),
            "wrong_kind_answers": [f"{r['question']} -> {r['answer']}" for r in wrong_kind],
            # None: an engine that does not say (qa before time kinds)
            "time_kind_right": round(sum(expected.get(r["kind"], r["kind"]) == r["time_kind"] for r in judged) / len(judged), 3) if judged else None,
            "time_kind_confusion": dict(sorted(confusion.items())),
            "stories": sorted({r["story"] for r in part}),
            "kinds": table,
            "stale_at_80": sum(r["outcome"] == "stale" and r["confidence"] >= 0.8 for r in part),
            "unanswerable_declined": round(sum(r["answer"] is None for r in unans) / max(len(unans), 1), 3),
        }
    return out


def markdown(result: dict) -> str:
    lines = []
    for split, s in result["summary"].items():
        lines += [f"### {split} ({len(s['stories'])} stories: {', '.join(s['stories'])})", "",
                  "| kind | questions | right | stale | wrong | declined | right share |", "|---|---|---|---|---|---|---|"]
        for kind, t in s["kinds"].items():
            lines.append(f"| {kind} | {t['n']} | {t['right']} | {t['stale']} | {t['wrong']} | {t['declined']} | {t['right_share']:.1%} |")
        lines += ["", f"Stale answers shown at >= 80% confidence: {s['stale_at_80']}; unanswerable declined: "
                  f"{s['unanswerable_declined']:.1%}."]
        if s.get("time_kind_right") is not None:
            wrong = ", ".join(f"{k} {n}" for k, n in s["time_kind_confusion"].items() if k.split("->")[0] != k.split("->")[1])
            lines.append(f"Question kind read right: {s['time_kind_right']:.1%} (written as -> read as: {wrong or 'none'}).")
        if s.get("types"):
            lines += ["", "| answer type | questions | right | stale | wrong | declined |", "|---|---|---|---|---|---|"]
            for t, c in s["types"].items():
                lines.append(f"| {t} | {c['n']} | {c['right']} | {c['stale']} | {c['wrong']} | {c['declined']} |")
            lines += ["", f"Wrong answers of another kind than asked: {s['wrong_kind']} ({s['wrong_kind_at_50']} at >= 50%)"
                      + "".join(f"\n- {a}" for a in s["wrong_kind_answers"])]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", type=Path, help="write rows and summary as JSON here")
    parser.add_argument("--split", choices=sorted({q.get("split", "dev") for q in load_questions()}) + ["all"], default="all")
    parser.add_argument("--story", action="append", help="only these stories (repeatable)")
    parser.add_argument("--rescore", type=Path, help="no run: summarise the rows of this earlier output again (with today's "
                        "question types), e.g. an output written by another checkout")
    args = parser.parse_args()
    if args.rescore:
        rows = json.loads(args.rescore.read_text())["rows"]
        types = {q["id"]: q.get("type") for q in load_questions()}
        rows = [{**r, "type": types.get(r["id"])} for r in rows]
        result = {"summary": summary(rows), "rows": rows}
        print(markdown(result))
        if args.output:
            args.output.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        return
    stories = args.story
    if args.split != "all":
        stories = sorted({q["story"] for q in load_questions() if q.get("split", "dev") == args.split} & set(stories or
                         {q["story"] for q in load_questions()}))
    rows = run(stories)
    if args.output:  # the rows first: another checkout's qa may lack what the summary uses (rescore them then)
        args.output.write_text(json.dumps({"rows": rows}, indent=1, ensure_ascii=False) + "\n")
    result = {"summary": summary(rows), "rows": rows}
    print(markdown(result))
    if args.output:
        args.output.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
