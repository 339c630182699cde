"""Choosing, declining and the calibrated confidence (qa/answers.py), and the open-mode evaluation of false answers."""

import json
import math

import numpy as np
import pytest

from conftest import SEEDS, needs_reader
from qa.answers import Calibration, accept, choose, expected_calibration_error, fit_logistic, fit_platt, reliability
from qa.reader import Span, decode_window, merge_overlapping


def _window_spans(passage: int, start_logit: float, end_logit: float, cls: float, text: str) -> list[Span]:
    """Spans of one crafted window, through the reader's decoding: token 0 is [CLS], tokens 2-4 the passage."""
    n = 6
    offsets = [(0, 0), (0, 0), (0, 5), (6, 11), (12, 17), (0, 0)]
    mask = np.array([False, False, True, True, True, False])
    start, end = np.full(n, -5.0), np.full(n, -5.0)
    start[0] = end[0] = cls / 2  # the window's "no answer" score is start[0] + end[0]
    start[3], end[3] = start_logit, end_logit
    null = float(start[0] + end[0])
    return [Span(passage, s, e, text[s:e], score, null) for s, e, score in decode_window(start, end, offsets, mask)]


def test_choice_ranks_by_margin_across_passages_not_raw_score():
    text = "aaaaa Paris bbbbb"
    # Passage 0: high raw logits but an even higher "no answer" score (raw 12, margin -2).
    # Passage 1: low raw logits, clearly preferred over "no answer" (raw 6, margin 8).
    spans = _window_spans(0, 6.0, 6.0, 14.0, "xxxxx Lyons yyyyy") + _window_spans(1, 3.0, 3.0, -2.0, text)
    assert max(spans, key=lambda s: s.logit_sum).passage == 0  # raw score would pick passage 0
    choice = choose(spans)
    assert choice.best.passage == 1 and choice.text == "Paris" and choice.margin == pytest.approx(8.0)
    assert merge_overlapping(spans)[0].passage == 1  # the reader's own ranking uses the margin too
    assert choose([]) is None


def test_same_answer_in_several_passages_is_merged_on_the_margin():
    # "Paris" has the highest raw score in passage 0 (margin 1); "paris" in passage 1 has margin 5; "Lyon" margin 4.
    spans = [Span(0, 0, 5, "Paris", 10.0, 9.0), Span(1, 3, 8, "paris", 4.0, -1.0), Span(2, 0, 4, "Lyon", 5.0, 1.0)]
    choice = choose(spans)
    assert [s.passage for s in choice.same] == [1, 0]  # both citations, best margin first; Lyon not merged
    assert choice.text == "paris" and choice.margin == pytest.approx(5.0)


def test_accept_declines_below_the_probability_or_the_margin_override():
    choice = choose([Span(0, 0, 5, "Paris", 3.0, 1.0)])  # margin 2
    # The calibrated rule: the probability decides, whatever the margin.
    assert accept(choice, 0.30, 0.25, threshold=100.0) and accept(choice, 0.25, 0.25, threshold=100.0)
    assert not accept(choice, 0.24, 0.25, threshold=-100.0)
    # No probability threshold (a margin override, or a reader without one): the margin decides.
    assert accept(choice, 0.0, None, 1.9) and accept(choice, 0.0, None, 2.0)
    assert not accept(choice, 1.0, None, 2.1)
    assert not accept(None, 1.0, 0.0, -100.0) and not accept(None, 1.0, None, -100.0)


def test_shipped_confidence_depends_on_margin_and_cosine_and_is_monotone_in_each():
    from qa.reader import BUNDLED_READER

    settings = json.loads((BUNDLED_READER / "qa_reader.json").read_text())
    cal = Calibration.from_settings(settings.get("confidence"), 0.0)
    assert cal.method == "logistic" and 0.0 < settings["open_min_confidence"] < 1.0
    margins = np.linspace(-10, 20, 61)
    for cosine in (0.2, 0.6):
        probs = [cal.probability(m, cosine) for m in margins]
        assert all(0.0 <= p <= 1.0 for p in probs)
        assert all(b > a for a, b in zip(probs, probs[1:]))  # strictly increasing: a larger margin is surer
        assert sum(0.1 < p < 0.9 for p in probs) >= 5  # graded, not a 0/1 step
    cosines = np.linspace(0.0, 1.0, 21)
    by_cosine = [cal.probability(4.0, c) for c in cosines]
    assert all(b > a for a, b in zip(by_cosine, by_cosine[1:]))  # a passage closer to the question is surer
    assert by_cosine[-1] - by_cosine[0] > 0.2  # and the cosine matters, not just in the last digit
    assert cal.probability(-math.inf, 0.9) == 0.0


def test_older_platt_settings_still_read_and_ignore_the_cosine():
    cal = Calibration.from_settings({"method": "platt", "coef": 0.4, "intercept": -2.0}, 0.0)
    assert cal.method == "platt" and cal.probability(5.0, 0.1) == cal.probability(5.0, 0.9) == pytest.approx(0.5)
    fallback = Calibration.from_settings(None, 3.0)  # no fit shipped: a logistic around the margin threshold
    assert fallback.method == "uncalibrated" and fallback.probability(3.0, 0.5) == pytest.approx(0.5)
    round_trip = Calibration(0.3, -4.0, 3.0, "logistic")
    assert Calibration.from_settings(round_trip.to_settings(), 0.0) == round_trip


def test_platt_fit_recovers_a_known_mapping():
    rng = np.random.default_rng(0)
    x = rng.uniform(-10, 10, 20000)
    y = rng.random(20000) < 1 / (1 + np.exp(-(0.7 * x - 1.5)))
    cal = fit_platt(x, y)
    assert cal.coef == pytest.approx(0.7, abs=0.05) and cal.intercept == pytest.approx(-1.5, abs=0.1)
    assert cal.probability(1.5 / 0.7, 0.0) == pytest.approx(0.5, abs=0.02)


def test_two_feature_fit_recovers_a_known_logistic():
    rng = np.random.default_rng(1)
    margin, cosine = rng.uniform(-5, 15, 30000), rng.uniform(0.0, 1.0, 30000)
    y = rng.random(30000) < 1 / (1 + np.exp(-(0.35 * margin + 3.0 * cosine - 4.0)))
    cal = fit_logistic(margin, cosine, y)
    assert cal.method == "logistic"
    assert cal.coef == pytest.approx(0.35, abs=0.03) and cal.cosine_coef == pytest.approx(3.0, abs=0.25)
    assert cal.intercept == pytest.approx(-4.0, abs=0.25)
    assert cal.probability(4.0, 0.8) == pytest.approx(1 / (1 + np.exp(-(1.4 + 2.4 - 4.0))), abs=0.02)


def test_ece_against_a_hand_computed_example():
    probs = [0.05, 0.15, 0.85, 0.95, 0.95, 1.0]
    right = [False, True, True, True, False, True]
    # bins: [0,.1): .05 vs 0 -> .05; [.1,.2): .15 vs 1 -> .85; [.8,.9): .85 vs 1 -> .15;
    # [.9,1]: mean(.95,.95,1.0)=.9667 vs 2/3 -> .3; ECE = (.05 + .85 + .15 + 3 * .3) / 6
    assert expected_calibration_error(probs, right) == pytest.approx((0.05 + 0.85 + 0.15 + 0.9) / 6)
    rows = reliability(probs, right)
    assert [r["count"] for r in rows] == [1, 1, 1, 3] and rows[-1]["hi"] == 1.0
    assert expected_calibration_error([0.7] * 10, [True] * 7 + [False] * 3) == pytest.approx(0.0)


def test_choose_threshold_keeps_false_answers_under_the_limit():
    from qa.offline.evaluation import choose_threshold

    rows = [{"indexed": True, "answers": ["a"], "choice": "a"}] * 4 + [{"indexed": False, "answers": ["z"], "choice": "b"}] * 4
    margins = [5.0, 4.0, 3.0, 1.0, 4.5, 2.0, 0.5, 0.0]
    assert choose_threshold(margins, rows, 0.0) == 5.0  # answering 4.0 would also answer the 4.5 unindexed one
    assert choose_threshold(margins, rows, 0.25) == 3.0  # one false answer of four allowed (4.5)
    assert choose_threshold(margins, rows, 1.0) == 1.0


def test_held_out_articles_take_the_same_share_of_each_group():
    from qa.offline.evaluation import held_out_articles

    titles = [f"t{i}" for i in range(20)]
    fit, report = titles[:8], titles[8:12]
    out = held_out_articles(titles, 0.5, 13, [fit, report])
    assert len(out & set(fit)) == 4 and len(out & set(report)) == 2 and len(out) == 10
    assert out == held_out_articles(titles, 0.5, 13, [fit, report])  # seeded
    with pytest.raises(ValueError):
        held_out_articles(titles, 1.0)


def test_calibration_split_halves_indexed_and_unindexed_articles_alike():
    from qa.offline.evaluation import calibration_split

    titles = [f"t{i}" for i in range(10)]
    rows = [{"title": t, "indexed": i in (0, 1, 2, 5)} for i, t in enumerate(titles) if i != 9]  # t9: no question asked
    fit, report = calibration_split(titles, rows)
    assert set(fit).isdisjoint(report) and set(fit) | set(report) == set(titles[:9])
    assert fit == ["t0", "t2", "t3", "t6", "t8"] and report == ["t1", "t5", "t4", "t7"]


PARAGRAPHS = {
    "Libya": "NATO Secretary-General Anders Fogh Rasmussen visited the Russian city of Sochi on Monday, "
             "where he discussed Libya with Russian President Dmitry Medvedev.",
    "Rivers": "The Volga is the longest river in Europe. It flows through central Russia into the Caspian Sea.",
}
QUESTIONS = {
    "Libya": [("In which Russian city did Rasmussen meet Medvedev?", "Sochi"), ("Who is the Russian President?", "Dmitry Medvedev")],
    "Rivers": [("Into which sea does the Volga flow?", "Caspian Sea"), ("What is the longest river in Europe?", "The Volga")],
}


@pytest.fixture(scope="module")
def squad_file(tmp_path_factory):
    data = [{"title": t, "paragraphs": [{"context": p, "qas": [
        {"id": f"{t}{i}", "question": q, "answers": [{"text": a, "answer_start": p.index(a)}]} for i, (q, a) in enumerate(QUESTIONS[t])]}]}
        for t, p in PARAGRAPHS.items()]
    path = tmp_path_factory.mktemp("squad") / "two.json"
    path.write_text(json.dumps({"data": data}))
    return path


@needs_reader
@pytest.mark.e2e
def test_eval_open_unindexed_counts_false_answers(squad_file, tmp_path):
    from qa.offline.evaluation import evaluate_open, held_out_articles, read_cache

    held = held_out_articles(list(PARAGRAPHS), 0.5, 13, [list(PARAGRAPHS)])
    assert len(held) == 1
    cache = tmp_path / "cache.jsonl"
    always = evaluate_open(squad_file, unindexed=0.5, threshold=-1e9, cache=cache)
    assert always["unindexed_questions"] == 2 and always["total"] == 2
    assert always["false_answer_rate"] == 100.0  # every answer to an unindexed article's question is false
    assert always["f1"] > 50  # the indexed article's questions are answered from it
    settings, rows = read_cache(cache)
    assert settings["unindexed"] == 0.5 and len(rows) == 4
    assert {r["title"] for r in rows if not r["indexed"]} == held
    assert all(r["sources"] and all(s[0] not in held for s in r["sources"]) for r in rows)  # held-out article not indexed
    assert all(r["spans"] and {"score", "null", "text"} <= set(r["spans"][0]) for r in rows)
    never = evaluate_open(squad_file, unindexed=0.5, threshold=1e9)
    assert never["false_answer_rate"] == 0.0 and never["answered"] == 0.0


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from qa import Engine

    eng = Engine()
    eng.config.index_dir = str(tmp_path_factory.mktemp("answers") / "index")
    eng.index(SEEDS)
    return eng


@needs_reader
@pytest.mark.e2e
def test_engine_confidence_is_the_calibrated_probability_and_the_threshold_is_honoured(engine):
    question = "Who is the NATO Secretary-General?"
    engine.config.threshold = None
    result = engine.ask(question)
    assert result.found and "Rasmussen" in result.answer
    assert engine.calibration.method == "logistic" and engine.min_confidence == engine.reader.open_min_confidence
    cosine = result.citations[0].cosine  # the answer's passage, as retrieved
    assert 0.0 < cosine < 1.0
    assert result.confidence == pytest.approx(engine.calibration.probability(result.margin, cosine))
    assert 0.0 < result.confidence < 1.0
    assert result.confidence >= engine.min_confidence
    shipped = engine.reader.settings["open_min_confidence"]
    try:
        engine.reader.settings["open_min_confidence"] = result.confidence + 1e-6  # just above: declined on the probability
        declined = engine.ask(question)
        assert not declined.found and declined.citations == []
        assert declined.confidence == pytest.approx(result.confidence)  # the best span's probability, not shown
        engine.reader.settings["open_min_confidence"] = result.confidence - 1e-6
        assert engine.ask(question).answer == result.answer
        # A configured threshold is a margin and overrides the probability rule.
        engine.reader.settings["open_min_confidence"] = 1.0
        engine.config.threshold = result.margin + 0.01  # just above this answer's margin: declined
        assert not engine.ask(question).found
        engine.config.threshold = result.margin - 0.01
        assert engine.ask(question).answer == result.answer
    finally:
        engine.reader.settings["open_min_confidence"] = shipped
        engine.config.threshold = None


@needs_reader
@pytest.mark.e2e
def test_same_answer_in_two_articles_is_cited_from_both(tmp_path):
    from qa import Engine

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("Rasmussen in Russia\n\nNATO Secretary-General Anders Fogh Rasmussen met Russian President "
                                  "Dmitry Medvedev on Monday in Sochi, a Russian city on the Black Sea.\n")
    (folder / "b.txt").write_text("Talks on Libya\n\nRussian President Dmitry Medvedev received NATO Secretary-General Anders "
                                  "Fogh Rasmussen in Sochi, a Russian city, for talks on Libya.\n")
    eng = Engine()
    eng.config.index_dir = str(tmp_path / "index")
    eng.index(folder)
    result = eng.ask("In which Russian city did Rasmussen meet Medvedev?")
    assert result.answer == "Sochi"
    assert len({c.article_id for c in result.citations}) == 2  # merged: one answer, cited from both articles
