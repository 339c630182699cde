"""SQuAD-format data: loading examples and the official EM / F1 scoring.

The normalisation and metrics follow the official SQuAD v1.1 / v2.0 evaluation
scripts, so the numbers we report are comparable with published ones.
"""

from __future__ import annotations

import collections
import gzip
import json
import lzma
from dataclasses import dataclass, field
from pathlib import Path

from qa.text import normalize_answer


@dataclass
class SquadExample:
    """One question over one paragraph.

    Attributes:
        qid: Question id.
        title: Title of the article the paragraph comes from.
        question: The question text.
        context: The paragraph.
        answers: Gold answer texts (empty when the question is unanswerable).
        answer_starts: Character offsets of the answers in ``context``.
    """

    qid: str
    title: str
    question: str
    context: str
    answers: list[str] = field(default_factory=list)
    answer_starts: list[int] = field(default_factory=list)

    @property
    def is_impossible(self) -> bool:
        return not self.answers


def _open_json(path: str | Path):
    """Open a JSON file, or its xz / gzip compressed form (how data travels to a GPU machine)."""
    name = str(path)
    if name.endswith(".xz"):
        return lzma.open(path, "rt", encoding="utf-8")
    if name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def load_squad(path: str | Path) -> list[SquadExample]:
    """Read a SQuAD v1.1 / v2.0 JSON file (``.json``, ``.json.xz`` or ``.json.gz``) into a flat list of examples.

    Args:
        path: The JSON file.

    Returns:
        One example per question, in file order.
    """
    with _open_json(path) as f:
        data = json.load(f)["data"]
    examples = []
    for article in data:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                examples.append(
                    SquadExample(
                        qid=str(qa["id"]),
                        title=article.get("title", ""),
                        question=qa["question"],
                        context=para["context"],
                        answers=[a["text"] for a in answers],
                        answer_starts=[int(a["answer_start"]) for a in answers],
                    )
                )
    return examples


def load_squad_articles(path: str | Path) -> list[tuple[str, list[str]]]:
    """Read the articles of a SQuAD file as (title, paragraphs) pairs."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    return [(a.get("title", ""), [p["context"] for p in a["paragraphs"]]) for a in data]


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        # v2.0 rule: both empty (correctly declined) is a match.
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(pred_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def score(prediction: str, golds: list[str]) -> tuple[float, float]:
    """EM and F1 of one prediction against its gold answers ('' means no answer).

    Returns:
        (em, f1), each 0..1, the best over the gold answers.
    """
    golds = golds or [""]
    return (
        max(exact_match(prediction, g) for g in golds),
        max(f1_score(prediction, g) for g in golds),
    )


def evaluate(examples: list[SquadExample], predictions: dict[str, str]) -> dict[str, float]:
    """Official-style totals: EM / F1 in percent, split by HasAns / NoAns where both occur.

    Args:
        examples: The gold examples.
        predictions: Predicted answer text per question id; '' declines.

    Returns:
        A dict with ``exact``, ``f1``, ``total`` and, where present, ``HasAns_*`` / ``NoAns_*``.
    """
    groups: dict[str, list[tuple[float, float]]] = {"all": [], "HasAns": [], "NoAns": []}
    for ex in examples:
        em, f1 = score(predictions.get(ex.qid, ""), ex.answers)
        groups["all"].append((em, f1))
        groups["NoAns" if ex.is_impossible else "HasAns"].append((em, f1))

    def totals(rows: list[tuple[float, float]]) -> tuple[float, float]:
        n = max(len(rows), 1)
        return 100 * sum(r[0] for r in rows) / n, 100 * sum(r[1] for r in rows) / n

    out: dict[str, float] = {}
    out["exact"], out["f1"] = totals(groups["all"])
    out["total"] = len(groups["all"])
    if groups["NoAns"]:
        for name in ("HasAns", "NoAns"):
            out[f"{name}_exact"], out[f"{name}_f1"] = totals(groups[name])
            out[f"{name}_total"] = len(groups[name])
    return out
