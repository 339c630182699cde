"""Fit the engine's confidence and decline for passages of one evolving story, on the development stories only.

On a folder of dated articles about one story every passage is close to the question and a
same-kind distractor (another day's figure, another official) is always at hand, so the
confidence fitted on SQuAD (unrelated articles) is too high there: of unanswerable questions
it declined 30%, against about 95% on unrelated articles. This fits the same two-feature
logistic (margin, cosine of the answer's passage) on the candidate the engine picks for each
development-split question, right meaning the benchmark's grade, and chooses the decline
probability that makes the most questions right (an unanswerable one is right when declined).
The held-out stories are never read here.

    PYTHONPATH=. .venv/bin/python benchmarks/stories/fit.py                      # report
    PYTHONPATH=. .venv/bin/python benchmarks/stories/fit.py --write qa/models/reader
    PYTHONPATH=. .venv/bin/python benchmarks/stories/fit.py --ceiling --write qa/models/reader   # the ceiling only
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import grade, load_questions, story_engines  # noqa: E402


def collect() -> list[dict]:
    """For each development question: the picked candidate's margin, cosine and whether it is right."""
    from qa import answers, news

    picked: list = []
    original = answers.pick

    def recording_pick(cands, ask):
        chosen = original(cands, ask)
        picked.append(chosen)
        return chosen

    answers.pick = recording_pick
    out = []
    try:
        for _, engine, questions in story_engines([q for q in load_questions() if q.get("split", "dev") == "dev"]):
            for q in questions:
                picked.clear()
                a = engine.ask(q["question"])
                chosen = picked[-1] if picked else None
                if chosen is None or not chosen.fits:  # none of the kind asked: declined at 0, whatever the fit
                    out.append({"id": q["id"], "margin": None, "cosine": None, "right": False, "story": a.sources != []})
                    continue
                published = news.parse_iso(chosen.source.date)
                relative = news.resolve_relative(chosen.span.text, published) if published else None
                right = grade(q, {"answer": chosen.span.text, "answer_date": relative.iso if relative else None}) == "right"
                out.append({"id": q["id"], "kind": q["kind"], "margin": chosen.span.margin,
                            "cosine": chosen.source.cosine, "right": right,
                            "story": answers.is_story(a.sources)})
    finally:
        answers.pick = original
    return out


def fit(rows: list[dict]) -> dict:
    """The logistic and the decline probability that makes the most development questions right."""
    from qa.answers import expected_calibration_error, fit_logistic

    usable = [r for r in rows if r["margin"] is not None and r["story"]]
    cal = fit_logistic([r["margin"] for r in usable], [r["cosine"] for r in usable], [r["right"] for r in usable])
    probs = [cal.probability(r["margin"], r["cosine"]) for r in usable]

    def right_share(t: float) -> float:
        # Answered and right, or unanswerable and declined (a declined answerable question is not right).
        ok = sum((p >= t and r["right"]) or (p < t and r["kind"] == "unanswerable") for p, r in zip(probs, usable))
        return ok / len(usable)

    grid = [round(0.05 * i, 2) for i in range(1, 19)]
    best = max(grid, key=lambda t: (right_share(t), -abs(t - 0.5)))
    shown = [(p, r["right"]) for p, r in zip(probs, usable) if p >= best]
    return {
        **cal.to_settings(),
        "min_confidence": best,
        "features": "margin, cosine of the answer's passage",
        "right": "graded right by benchmarks/stories/run.py (an unanswerable question: never)",
        "fitted_on": f"{len(usable)} questions of the development stories of benchmarks/stories (held-out stories not used)",
        "command": "PYTHONPATH=. .venv/bin/python benchmarks/stories/fit.py --write qa/models/reader",
        "dev_right_share": round(right_share(best), 3),
        "dev_ece_shown": round(expected_calibration_error([p for p, _ in shown], [y for _, y in shown]), 3) if shown else None,
        "curve": {str(t): round(right_share(t), 3) for t in grid},
    }


def newer_ceiling() -> dict:
    """How often a current state is right when a newer article read does not give it, on the development stories.

    The engine shows such an answer as at most this sure (``story_confidence.newer_ceiling``): the reader may be
    sure of an old figure's span while the newer article says the figure in words it reads less well.
    """
    from qa import news

    rows = []
    for _, engine, questions in story_engines([q for q in load_questions() if q.get("split", "dev") == "dev"]):
        for q in questions:
            a = engine.ask(q["question"])
            if a.answer is None or a.time_kind != "current" or not news.parse_iso(a.citations[0].date):
                continue
            rows.append((a.newer_read is not None, grade(q, a.to_dict()) == "right"))  # set by qa.answers.decide
    with_newer = [right for newer, right in rows if newer]
    return {"newer_ceiling": round(sum(with_newer) / len(with_newer), 2),
            "newer_ceiling_fitted_on": f"{len(with_newer)} current-state answers of the development stories with a newer "
                                       f"article read ({sum(with_newer)} right); {len(rows) - len(with_newer)} others"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", type=Path, help="a reader folder: store the fit in its qa_reader.json as story_confidence")
    parser.add_argument("--ceiling", action="store_true", help="only the ceiling of a current state's confidence when a "
                        "newer article read does not give it (story_confidence.newer_ceiling); the logistic is kept")
    args = parser.parse_args()
    if args.ceiling:
        result = newer_ceiling()
        print(json.dumps(result, indent=1))
        if args.write:
            path = args.write / "qa_reader.json"
            settings = json.loads(path.read_text())
            settings["story_confidence"].update(result)
            path.write_text(json.dumps(settings, indent=2) + "\n")
        return
    result = fit(collect())
    print(json.dumps(result, indent=1))
    if args.write:
        path = args.write / "qa_reader.json"
        settings = json.loads(path.read_text())
        kept = {k: v for k, v in settings.get("story_confidence", {}).items() if k.startswith("newer_ceiling")}  # --ceiling's
        settings["story_confidence"] = {**{k: v for k, v in result.items() if k != "curve"}, **kept}
        path.write_text(json.dumps(settings, indent=2) + "\n")


if __name__ == "__main__":
    main()
