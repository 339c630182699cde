"""Deciding the answer from the reader's candidates: choose, merge, decline, and a calibrated confidence.

All decisions use one statistic, a span's margin over its window's "no answer" ([CLS])
score. Raw start + end logits of different windows and passages are on different
scales (each window has its own offset), so ranking by them and then declining by
margin picked one span and judged another; the margin compares across windows.

The confidence shown is P(answer is right), right meaning F1 >= 0.5 against a gold
answer: a logistic in the margin and the cosine similarity of the answer's passage to the
question (a question the articles do not answer retrieves passages of other articles, less
similar to it), fitted on validation questions asked the way the engine runs: retrieved
passages from an index, with questions the corpus answers and questions whose article is
not indexed. The engine declines below a probability fitted the same way. See the model
card for the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from qa.reader import Span
from qa.squad import normalize_answer


@dataclass
class Choice:
    """The best answer among the candidates and every span that says the same.

    Attributes:
        best: The span with the highest margin.
        same: All candidate spans whose normalised text equals ``best``'s, best margin first
            (the same answer found in several passages: each is cited).
    """

    best: Span
    same: list[Span] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.best.text

    @property
    def margin(self) -> float:
        """The answer's margin: the best of its spans (merged answers are judged on the same scale)."""
        return self.best.margin


def choose(spans: Sequence[Span]) -> Choice | None:
    """The answer to give: the candidate with the highest margin over "no answer", across all windows and passages.

    Args:
        spans: Candidate spans from :meth:`qa.reader.Reader.read` (any order).

    Returns:
        The choice, or None when there are no candidates.
    """
    if not spans:
        return None
    ranked = sorted(spans, key=lambda s: -s.margin)
    key = normalize_answer(ranked[0].text)
    return Choice(ranked[0], [s for s in ranked if normalize_answer(s.text) == key])


def accept(choice: Choice | None, confidence: float, min_confidence: float | None, threshold: float) -> bool:
    """Answer (True) or decline (False).

    Args:
        choice: The chosen answer (None: no candidate, always declined).
        confidence: Its P(right) (:meth:`Calibration.probability`).
        min_confidence: Decline below this probability; None: decide on the margin instead.
        threshold: The margin to reach when ``min_confidence`` is None (a user's margin
            override, or a reader that ships no 2-feature calibration).

    Returns:
        Whether to give the answer.
    """
    if choice is None:
        return False
    if min_confidence is not None:
        return confidence >= min_confidence
    return choice.margin >= threshold


@dataclass
class Calibration:
    """Maps a margin and a passage cosine to P(answer is right): ``sigmoid(coef * margin + cosine_coef * cosine + intercept)``.

    Attributes:
        coef: Slope on the margin (positive: a larger margin is more often right).
        intercept: Offset.
        cosine_coef: Slope on the cosine similarity of the answer's passage to the question
            (0 for a margin-only fit).
        method: How it was fitted: 'logistic' (margin and cosine), 'platt' (margin only, as
            older ``qa_reader.json`` files hold), or 'uncalibrated' (a logistic around the
            threshold, for readers that ship no fitted calibration).
    """

    coef: float
    intercept: float
    cosine_coef: float = 0.0
    method: str = "logistic"

    def probability(self, margin: float, cosine: float) -> float:
        """P(right) of an answer with this margin, found in a passage with this cosine similarity to the question.

        Args:
            margin: The answer's margin over "no answer" (-inf: no candidate, probability 0).
            cosine: ``Citation.retrieval_score`` of the answer's passage.

        Returns:
            A probability within [0, 1].
        """
        if margin == -math.inf:
            return 0.0
        z = self.coef * margin + self.cosine_coef * cosine + self.intercept
        # Written to stay finite for very large |z|.
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    @classmethod
    def from_settings(cls, settings: dict | None, threshold: float) -> "Calibration":
        """The reader's fitted calibration (``qa_reader.json`` key ``confidence``), or a logistic around the threshold."""
        if settings and settings.get("method") == "logistic":
            return cls(float(settings["coef"]), float(settings["intercept"]), float(settings["cosine_coef"]), "logistic")
        if settings and settings.get("method") == "platt":
            return cls(float(settings["coef"]), float(settings["intercept"]), 0.0, "platt")
        return cls(1.0, -threshold, 0.0, "uncalibrated")

    def to_settings(self) -> dict:
        out = {"method": self.method, "coef": round(self.coef, 6), "intercept": round(self.intercept, 6)}
        if self.method == "logistic":
            out["cosine_coef"] = round(self.cosine_coef, 6)
        return out


def fit_platt(margins: Sequence[float], right: Sequence[bool]) -> Calibration:
    """Fit P(right | margin) by logistic regression (Platt scaling).

    Args:
        margins: The chosen answer's margin per question.
        right: Whether that answer was right (F1 >= 0.5).

    Returns:
        The fitted calibration.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(margins, dtype=float).reshape(-1, 1)
    y = np.asarray(right, dtype=int)
    # A weak penalty: with thousands of points this is plain maximum likelihood.
    model = LogisticRegression(C=1e4).fit(x, y)
    return Calibration(float(model.coef_[0, 0]), float(model.intercept_[0]), 0.0, "platt")


def fit_logistic(margins: Sequence[float], cosines: Sequence[float], right: Sequence[bool]) -> Calibration:
    """Fit P(right | margin, cosine of the answer's passage) by logistic regression.

    Args:
        margins: The chosen answer's margin per question.
        cosines: The cosine similarity of that answer's passage to the question.
        right: Whether that answer was right (F1 >= 0.5).

    Returns:
        The fitted calibration.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.column_stack([np.asarray(margins, dtype=float), np.asarray(cosines, dtype=float)])
    y = np.asarray(right, dtype=int)
    model = LogisticRegression(C=1e4).fit(x, y)  # weak penalty, as in fit_platt
    return Calibration(float(model.coef_[0, 0]), float(model.intercept_[0]), float(model.coef_[0, 1]), "logistic")


def reliability(probs: Sequence[float], right: Sequence[bool], bins: int = 10) -> list[dict]:
    """Equal-width confidence bins: count, mean confidence and accuracy of each non-empty bin.

    Hand-written: scikit-learn's ``calibration_curve`` drops the bin counts that ECE weighs by.

    Args:
        probs: Predicted P(right), each in [0, 1].
        right: Outcomes.
        bins: Number of equal-width bins over [0, 1] (the last includes 1.0).

    Returns:
        One dict per non-empty bin: ``lo``, ``hi``, ``count``, ``confidence``, ``accuracy``.
    """
    p = np.asarray(probs, dtype=float)
    y = np.asarray(right, dtype=float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        sel = idx == b
        if sel.any():
            out.append({"lo": b / bins, "hi": (b + 1) / bins, "count": int(sel.sum()),
                        "confidence": float(p[sel].mean()), "accuracy": float(y[sel].mean())})
    return out


def expected_calibration_error(probs: Sequence[float], right: Sequence[bool], bins: int = 10) -> float:
    """ECE: the count-weighted mean gap between confidence and accuracy over equal-width bins (Guo et al. 2017)."""
    rows = reliability(probs, right, bins)
    n = sum(r["count"] for r in rows)
    return sum(r["count"] * abs(r["confidence"] - r["accuracy"]) for r in rows) / max(n, 1)
