"""Fit the quote answer's confidence (``qa.quotes.CALIBRATION``) on the development stories only.

For every development question, the engine's quote path is run up to its candidates: the
articles of the passages retrieved for the question (as ``qa.engine`` does), every quote of
them whose speaker shares a word with the question's speaker words, each with its features
(speaker match, topic similarity, topic word overlap, direct or reported). The fit sees every
such quote, so that a weaker speaker match costs probability; the answer is then chosen, as in
``qa.quotes``, among the quotes of the best-fitting speakers only. A candidate is right when the benchmark lists it
(``said/``, by offsets) as the asked speaker's words on the topic (``gold``). A logistic
regression on those rows gives P(right); it is compared with other topic measures (embedding of
the quote only, of its sentence only, word overlap) by leave-one-story-out log loss, and the
decline threshold is read off the development questions.

    PYTHONPATH=. .venv/bin/python benchmarks/quotes/fit.py            # prints the fit; paste it into qa/quotes.py
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402

from qa import quotes  # noqa: E402


def rows_for(split: str = "dev") -> list[dict]:
    """One row per candidate quote of each question of the split, with features and label."""
    out = []
    questions = bench.load_questions(split)
    for story, engine, qs in bench.story_engines(questions):
        quoted = bench.spans(bench.load_said(story), bench.texts(story))
        k = engine.config.top_k
        for q in qs:
            ask = quotes.parse_question(q["question"])
            assert ask is not None, q["question"]
            hits, _ = engine._search(q["question"], 4 * k)
            ids = list(dict.fromkeys(h.citation.article_id for h in hits))[: quotes.MAX_ARTICLES]
            articles = engine.store.articles(ids)
            cands = quotes.candidates(ask, q["question"], articles, engine.embedder.embed, best_speakers_only=False)
            top = max((s.match for s in cands), default=0.0)
            topic = ask.topic or q["question"]
            t, qq = engine.embedder.embed([topic, q["question"]])
            tw = set(quotes.words(topic, quotes._TOPIC_STOP))
            for s in cands:
                text = s.article.text
                ps = text.rfind("\n", 0, s.quote.start) + 1
                pe = text.find("\n", s.quote.end)
                pe = len(text) if pe < 0 else pe
                qv, cv, pv = engine.embedder.embed([s.quote.text, text[s.quote.context_start:s.quote.context_end], text[ps:pe]])
                ctx_words = set(quotes.words(s.article.text[s.quote.context_start:s.quote.context_end], quotes._TOPIC_STOP))
                row, covered = bench.locate(Path(s.article.source).stem, s.quote.start, s.quote.end, quoted)
                right = bool(row and row["speaker"] == q["speaker"] and row["text"] in q["gold"] and covered >= 1 / 3)
                out.append({
                    "id": q["id"], "story": story, "asked_speaker": q["speaker"], "top_tier": s.match == top, "declinable": not q["gold"], "quote": s.quote.text[:80],
                    "speaker": s.speaker, "true_speaker": row["speaker"] if row else None, "match": s.match,
                    "topic": s.topic, "topic_quote": float(qv @ t), "topic_context": float(cv @ t),
                    "overlap": len(tw & ctx_words) / max(len(tw), 1), "direct": s.direct, "right": right,
                    "overlap_stem": s.overlap, "question_context": float(cv @ qq),
                    "topic_para": float(pv @ t), "topic_best": max(float(qv @ t), float(cv @ t), float(pv @ t)),
                })
    return out


FEATURES = {
    "embedding max(quote, sentence)": ["match", "topic", "direct"],
    "embedding, quote only": ["match", "topic_quote", "direct"],
    "embedding, sentence only": ["match", "topic_context", "direct"],
    "word overlap": ["match", "overlap", "direct"],
    "embedding + word overlap": ["match", "topic", "overlap", "direct"],
    "embedding + stemmed overlap (qa.quotes)": ["match", "topic", "overlap_stem", "direct"],
    "stemmed overlap": ["match", "overlap_stem", "direct"],
    "question to sentence": ["match", "question_context", "direct"],
    "embedding incl. paragraph": ["match", "topic_best", "direct"],
    "embedding incl. paragraph + stemmed overlap": ["match", "topic_best", "overlap_stem", "direct"],
}


def _fit(rows: list[dict], cols: list[str]):
    from sklearn.linear_model import LogisticRegression

    x = np.array([[float(r[c]) for c in cols] for r in rows])
    y = np.array([int(r["right"]) for r in rows])
    return LogisticRegression(C=1.0).fit(x, y)


def _prob(model, rows: list[dict], cols: list[str]) -> np.ndarray:
    return model.predict_proba(np.array([[float(r[c]) for c in cols] for r in rows]))[:, 1]


def compare(rows: list[dict]) -> dict:
    """Leave-one-story-out: log loss over candidates and outcomes of the chosen candidate per question."""
    stories = sorted({r["story"] for r in rows})
    out = {}
    for name, cols in FEATURES.items():
        probs = np.zeros(len(rows))
        for story in stories:
            train = [r for r in rows if r["story"] != story]
            test = [i for i, r in enumerate(rows) if r["story"] == story]
            probs[test] = _prob(_fit(train, cols), [rows[i] for i in test], cols)
        y = np.array([r["right"] for r in rows], dtype=float)
        p = np.clip(probs, 1e-6, 1 - 1e-6)
        loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
        out[name] = {"log_loss": round(loss, 4), **outcomes(rows, probs, 0.5)}
    return out


def outcomes(rows: list[dict], probs, threshold: float) -> dict:
    """Per question: the most probable candidate, answered at or above ``threshold``: right / wrong / wrong speaker / declined."""
    best: dict[str, tuple[float, dict]] = {}
    for r, p in zip(rows, probs):
        if not r["top_tier"]:
            continue  # qa.quotes answers only with the quotes of the speakers that fit best
        if r["id"] not in best or p > best[r["id"]][0]:
            best[r["id"]] = (float(p), r)
    c = {"right": 0, "wrong": 0, "wrong-speaker": 0, "declined": 0, "wrong_at_50": 0}
    for p, r in best.values():
        if p < threshold:
            c["declined"] += 1
        elif r["right"]:
            c["right"] += 1
        else:
            c["wrong-speaker" if r["true_speaker"] and r["true_speaker"] != r["asked_speaker"] else "wrong"] += 1
            c["wrong_at_50"] += p >= 0.5
    c["no_candidate"] = len({r["id"] for r in rows}) - len(best)
    return c


def main() -> None:
    rows = rows_for("dev")
    print(f"{len(rows)} candidates of {len({r['id'] for r in rows})} development questions "
          f"({sum(r['right'] for r in rows)} right)", file=sys.stderr)
    print(json.dumps(compare(rows), indent=1))
    cols = FEATURES["embedding + stemmed overlap (qa.quotes)"]
    model = _fit(rows, cols)
    coef = dict(zip(cols, model.coef_[0]))
    print(f"CALIBRATION = Calibration(speaker={coef['match']:.3f}, topic={coef['topic']:.3f}, overlap={coef['overlap_stem']:.3f}, "
          f"direct={coef['direct']:.3f}, intercept={model.intercept_[0]:.3f})")
    # The threshold, read off leave-one-story-out probabilities (each story judged by a fit without it).
    stories = sorted({r["story"] for r in rows})
    probs = np.zeros(len(rows))
    for story in stories:
        test = [i for i, r in enumerate(rows) if r["story"] == story]
        probs[test] = _prob(_fit([r for r in rows if r["story"] != story], cols), [rows[i] for i in test], cols)
    for t in (0.3, 0.35, 0.4, 0.45, 0.5, 0.6):
        print(f"threshold {t}: {outcomes(rows, probs, t)}")
    Path("/tmp/quotes-fit-rows.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
