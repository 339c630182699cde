"""`qa eval`: official SQuAD scoring, the threshold search, and the reader evaluation on a small file."""

import json

import numpy as np
import pytest

from qa.offline.evaluation import best_threshold, evaluate_reader, margin_auc
from qa.offline.squad import SquadExample, evaluate, score

PARAGRAPH = (
    "NATO Secretary-General Anders Fogh Rasmussen defended the alliance's Libya mission Monday during a visit "
    "to the Russian city of Sochi, where he discussed Libya with Russian President Dmitry Medvedev."
)


def test_official_normalisation():
    assert score("The Sochi!", ["sochi"]) == (1.0, 1.0)  # case, punctuation and articles ignored
    em, f1 = score("city of Sochi", ["Sochi"])
    assert em == 0.0 and f1 == pytest.approx(0.5)  # precision 1/3, recall 1
    assert score("", []) == (1.0, 1.0)  # declining an unanswerable question is right
    assert score("Sochi", []) == (0.0, 0.0)


def test_best_of_several_gold_answers():
    # SQuAD gives several annotators' answers; a prediction matching any of them is right (EM and F1 alike)
    assert score("Sochi", ["the Russian city of Sochi", "Sochi"]) == (1.0, 1.0)
    em, f1 = score("city of Sochi", ["Medvedev", "Sochi"])
    assert em == 0.0 and f1 == pytest.approx(0.5)


def test_hasans_and_noans_reported_separately():
    examples = [
        SquadExample("a", "t", "q1", "c", ["Sochi"], [0]),
        SquadExample("b", "t", "q2", "c"),  # unanswerable
    ]
    result = evaluate(examples, {"a": "Sochi", "b": "Sochi"})
    assert result["HasAns_exact"] == 100.0 and result["NoAns_exact"] == 0.0 and result["exact"] == 50.0
    assert "HasAns_exact" not in evaluate(examples[:1], {"a": "Sochi"})  # v1.1 files: totals only


def test_best_threshold_is_the_f1_optimum():
    examples = [
        SquadExample("1", "t", "q", "c", ["Sochi"], [0]),
        SquadExample("2", "t", "q", "c", ["Medvedev"], [0]),
        SquadExample("3", "t", "q", "c"),
        SquadExample("4", "t", "q", "c"),
    ]
    # Right answers have margins 5 and 3, the unanswerable ones 4 and -2.
    margins = [("Sochi", 5.0), ("Medvedev", 3.0), ("Libya", 4.0), ("NATO", -2.0)]
    threshold, f1 = best_threshold(examples, margins)

    def f1_at(t: float) -> float:
        preds = {ex.qid: (text if m >= t else "") for ex, (text, m) in zip(examples, margins)}
        return evaluate(examples, preds)["f1"]

    assert f1 == pytest.approx(f1_at(threshold))
    assert f1 == pytest.approx(max(f1_at(t) for t in (-3, 0, 3.5, 4.5, 6)))
    assert f1 == pytest.approx(75.0)  # answering only the top margin: 3 of 4 right
    # Pairs (answerable, unanswerable) ordered right: 5>4, 5>-2, 3>-2; wrong: 3<4.
    assert margin_auc(examples, margins) == pytest.approx(3 / 4)
    assert margin_auc(examples, [("", 1.0)] * 4) == pytest.approx(0.5)  # ties count half
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    many = [SquadExample(str(i), "t", "q", "c", *([["x"], [0]] if i % 3 else [])) for i in range(300)]
    noisy = [("x", float(v)) for v in rng.integers(0, 20, 300)]  # many ties
    assert margin_auc(many, noisy) == pytest.approx(roc_auc_score([not ex.is_impossible for ex in many], [m for _, m in noisy]))


def _squad_file(path, unanswerable: bool):
    qas = [{"id": "q1", "question": "In which Russian city did Rasmussen meet Medvedev?",
            "answers": [{"text": "Sochi", "answer_start": PARAGRAPH.index("Sochi")}]}]
    if unanswerable:
        qas.append({"id": "q2", "question": "How many NATO aircraft were lost over Libya?", "answers": [], "is_impossible": True})
    path.write_text(json.dumps({"data": [{"title": "Libya", "paragraphs": [{"context": PARAGRAPH, "qas": qas}]}]}))
    return path


def test_eval_reader_with_the_bundled_model(tmp_path):
    v2 = evaluate_reader(_squad_file(tmp_path / "v2.json", unanswerable=True))
    assert v2["total"] == 2 and v2["HasAns_total"] == 1 and v2["NoAns_total"] == 1
    assert v2["HasAns_exact"] == 100.0  # the shipped reader finds "Sochi"
    assert v2["threshold"] is not None  # v2.0: the calibrated threshold decides

    v1 = evaluate_reader(_squad_file(tmp_path / "v1.json", unanswerable=False))
    assert v1["threshold"] is None and v1["exact"] == 100.0  # v1.1: never declines, as the official script
    assert evaluate_reader(tmp_path / "v1.json", threshold=1e9)["exact"] == 0.0  # an explicit threshold still applies


def _articles_file(path, titles):
    data = [{"title": t, "paragraphs": [{"context": f"{t} is a place.", "qas": [
        {"id": f"{t}-q", "question": f"What is {t}?", "answers": [{"text": "a place", "answer_start": len(t) + 4}]}]}]}
        for t in titles]
    path.write_text(json.dumps({"version": "1.1", "data": data}))
    return str(path)


def test_trained_titles_follow_the_weights_a_reader_was_trained_from(tmp_path):
    """A reader trained further (--init) has seen what its starting weights saw: those articles
    must not be used to select or calibrate it, even though its own run never read them."""
    from qa.offline.evaluation import select_articles, trained_titles

    first = _articles_file(tmp_path / "first.json", ["Alpha", "Beta"])
    dev = _articles_file(tmp_path / "dev.json", ["Gamma", "Delta", "Epsilon"])  # articles 0 and 2 are "even"
    model = tmp_path / "reader"
    model.mkdir()
    older = {"train_files": [first], "negative_files": [dev], "negatives_split": "even"}
    (model / "training.json").write_text(json.dumps({"train_files": [first], "negative_files": [], "continued_from": older}))
    assert trained_titles(str(model)) == {"Alpha", "Beta", "Gamma", "Epsilon"}
    assert select_articles(["Gamma", "Delta", "Epsilon"], "untrained", str(model)) == ["Delta"]
    # An average of readers has seen what each of them saw.
    other = _articles_file(tmp_path / "other.json", ["Zeta"])
    (model / "training.json").write_text(json.dumps({"train_files": [], "averaged": {"weights": [0.5, 0.5], "readers": [
        {"path": "a", "training": {"train_files": [first], "continued_from": older}}, {"path": "b", "training": {"train_files": [other]}}]}}))
    assert trained_titles(str(model)) == {"Alpha", "Beta", "Gamma", "Epsilon", "Zeta"}
