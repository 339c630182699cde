"""Evaluation: the reader on gold paragraphs, and the whole system over a corpus."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from qa.offline.squad import evaluate, load_squad_articles, load_squad, normalize_answer, score


def _reader(model: str, quantize: bool = False, precision: str = "fp32"):
    from qa.reader import Reader

    reader = Reader(model, quantize=quantize, precision=precision)
    reader.warm_up()
    return reader


def reader_margins(reader, examples, show_progress: bool = True, chunk: int = 64) -> list[tuple[str, float]]:
    """Best span and its margin over 'no answer' for each example (gold paragraph given)."""
    from tqdm import tqdm

    out = []
    for i in tqdm(range(0, len(examples), chunk), desc="reading", unit="batch", disable=not show_progress):
        part = examples[i : i + chunk]
        for spans in reader.read_pairs([ex.question for ex in part], [ex.context for ex in part], top_k=1):
            out.append((spans[0].text, spans[0].margin) if spans else ("", float("-inf")))
    return out


def best_threshold(examples, margins: list[tuple[str, float]]) -> tuple[float, float]:
    """The 'no answer' threshold that maximises F1 on these examples.

    Returns:
        (threshold, F1 in percent at that threshold).
    """
    answered = [score(text, ex.answers)[1] for ex, (text, _) in zip(examples, margins)]
    declined = [float(ex.is_impossible) for ex in examples]
    order = np.argsort([-m for _, m in margins])
    # Threshold just above margin i: examples ranked before i answer, the rest decline.
    total = sum(declined)
    best_f1, best_t = total, margins[order[0]][1] + 1e-3 if len(order) else 0.0
    for i in order:
        total += answered[i] - declined[i]
        if total > best_f1:
            best_f1, best_t = total, margins[i][1] - 1e-3
    return float(best_t), 100 * best_f1 / max(len(examples), 1)


def margin_auc(examples, margins: list[tuple[str, float]]) -> float:
    """How well the margin tells answerable from unanswerable questions: the chance that an
    answerable one has the higher margin (ROC AUC; ties count half).

    Returns:
        The AUC, or NaN without both kinds of question.
    """
    m = np.array([margin for _, margin in margins], dtype=float)
    impossible = np.array([ex.is_impossible for ex in examples], dtype=bool)
    pos, neg = np.sort(m[~impossible]), np.sort(m[impossible])
    if not len(pos) or not len(neg):
        return float("nan")
    below = np.searchsorted(neg, pos, side="left")
    ties = np.searchsorted(neg, pos, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (len(pos) * len(neg)))


def evaluate_reader(path, model: str = "bundled", threshold: float | None = None, always_answer: bool = False, limit: int | None = None, quantize: bool = False, articles: str = "all", precision: str = "fp32") -> dict:
    """EM / F1 of the reader with gold paragraphs.

    Args:
        path: SQuAD v1.1 or v2.0 file.
        model: Reader model.
        threshold: 'No answer' threshold; None: the reader's calibrated one.
        always_answer: Never decline. A file without unanswerable questions (SQuAD v1.1)
            is read this way unless a threshold is given, as the official v1.1 evaluation does.
        limit: Only the first N questions.
        quantize: int8 dynamic quantisation of the reader.
        articles: Whose questions: 'all' or 'untrained' (see :func:`select_articles`).
        precision: The reader's ('fp32', 'bf16', 'auto'; see :class:`qa.reader.Reader`).

    Returns:
        Scores (official names), settings and timing.
    """
    examples = load_squad(path)
    if articles != "all":
        keep = set(select_articles(list(dict.fromkeys(ex.title for ex in examples)), articles, model))
        examples = [ex for ex in examples if ex.title in keep]
    examples = examples[:limit]
    if threshold is None and not any(ex.is_impossible for ex in examples):
        always_answer = True
    reader = _reader(model, quantize, precision)
    t = reader.default_threshold if threshold is None else threshold
    t0 = time.perf_counter()
    margins = reader_margins(reader, examples)
    elapsed = time.perf_counter() - t0
    preds = {ex.qid: ("" if (not always_answer and m < t) else text) for ex, (text, m) in zip(examples, margins)}
    result = evaluate(examples, preds)
    return {"mode": "reader", "file": str(path), "model": model, "articles": articles, "quantized": quantize, "precision": reader.precision,
            "threshold": None if always_answer else t,
            **result, "seconds_per_question": elapsed / max(len(examples), 1)}


def _update_settings(model_dir: str | Path, updates: dict) -> dict:
    """Merge settings into the reader's ``qa_reader.json`` (keeping the other threshold)."""
    path = Path(model_dir) / "qa_reader.json"
    settings = json.loads(path.read_text()) if path.exists() else {}
    settings.update(updates)
    path.write_text(json.dumps(settings, indent=2))
    return settings


def calibrate(model_dir: str | Path, calibration_file: str | Path, part: str = "odd") -> dict:
    """Choose the reader's 'no answer' threshold on held-out v2.0 articles and save it beside the model.

    Args:
        model_dir: The reader folder (gets ``qa_reader.json``).
        calibration_file: A SQuAD v2.0 validation file.
        part: Which articles to use ('odd': those not used in training).

    Returns:
        The threshold and the validation F1 at it.
    """
    from qa.offline.training import split_articles

    examples = split_articles(load_squad(calibration_file), part)
    reader = _reader(str(model_dir))
    margins = reader_margins(reader, examples)
    threshold, f1 = best_threshold(examples, margins)
    return _update_settings(model_dir, {"null_threshold": round(threshold, 4), "calibration": {
        "file": Path(calibration_file).name, "articles": part, "questions": len(examples), "f1": round(f1, 2),
        "margin_auc": round(margin_auc(examples, margins), 4)}})


def trained_titles(model: str = "bundled") -> set[str]:
    """Titles of the articles the reader was trained on (from its ``training.json``).

    Raises:
        FileNotFoundError: A training file it names cannot be found (so the split cannot be trusted).
    """
    from qa.reader import resolve_reader_model

    info_path = Path(resolve_reader_model(model)) / "training.json"
    if not info_path.exists():
        return set()
    titles: set[str] = set()
    info = json.loads(info_path.read_text())
    # A reader trained further (--init) has also seen what its starting weights saw, and an average
    # of readers (tools/average_readers.py) what each of them saw.
    records, todo = [], [info]
    while todo:
        info = todo.pop()
        records.append(info)
        todo += [info["continued_from"]] if info.get("continued_from") else []
        todo += [r["training"] for r in info.get("averaged", {}).get("readers", []) if isinstance(r, dict) and r.get("training")]
    for info, key in ((r, k) for r in records for k in ("train_files", "negative_files")):
        split = info.get("negatives_split") if key == "negative_files" else None
        for name in info.get(key, []):
            f = Path(name)
            if not f.exists():
                raise FileNotFoundError(f"{f}: named in {info_path} as training data; run from the repository root")
            examples = load_squad(f)
            if split in ("even", "odd"):
                from qa.offline.training import split_articles

                examples = split_articles(examples, split)
            titles.update(ex.title for ex in examples)
    return titles


def select_articles(titles: list[str], part: str, model: str = "bundled") -> list[str]:
    """Which articles' questions to ask.

    Args:
        titles: The file's article titles, in file order.
        part: 'all', or 'untrained': the articles the reader never saw in training.
        model: The reader (its ``training.json`` says what it was trained on).

    Returns:
        The selected titles, in file order.
    """
    if part == "all":
        return list(titles)
    if part != "untrained":
        raise ValueError(f"articles must be all or untrained, not {part!r}")
    trained = trained_titles(model)
    return [t for t in titles if t not in trained]


def calibration_split(titles: list[str], rows: list[dict]) -> tuple[list[str], list[str]]:
    """Split the asked articles into a fitting and a reporting half.

    Indexed and unindexed articles alternate separately (in file order), so both halves
    hold the same number of each.

    Returns:
        (fitting titles, reporting titles).
    """
    indexed = {r["title"]: r["indexed"] for r in rows}
    fit, report = [], []
    for flag in (True, False):
        group = [t for t in titles if indexed.get(t) is flag]
        fit += group[0::2]
        report += group[1::2]
    return fit, report


def held_out_articles(titles: list[str], fraction: float, seed: int = 13, groups: list[list[str]] | None = None) -> set[str]:
    """A seeded random ``fraction`` of the articles, left out of the index.

    Args:
        titles: All articles.
        fraction: Share to leave out, in [0, 1).
        seed: Of the random choice.
        groups: Sets of articles that must each lose the same share (e.g. the fitting and the
            reporting articles), so that each keeps the same mix of answerable and unanswerable questions.

    Returns:
        The titles to leave out.
    """
    import random

    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"the unindexed fraction must be in [0, 1), not {fraction}")
    rng = random.Random(seed)
    grouped = [g for g in (groups or []) if g]
    rest = [t for t in titles if not any(t in g for g in grouped)]
    out: set[str] = set()
    for group in [*grouped, rest]:
        order = sorted(group)
        rng.shuffle(order)
        out.update(order[: round(fraction * len(order))])
    return out


class RecordingReader:
    """A reader that also keeps the candidates of the last question (for the evaluation cache);
    given to the engine as its reader (``Engine(config, reader=...)``)."""

    def __init__(self, reader):
        self._reader = reader
        self.last: list = []

    def __getattr__(self, name):
        return getattr(self._reader, name)

    def candidates(self, question: str, passages: list[str], top_k: int = 5):
        self.last = self._reader.candidates(question, passages, top_k)
        return self.last


def old_choice(spans: list[dict]) -> dict | None:
    """The selection before issue 9 (for before/after numbers from the cache): highest raw start + end logit."""
    if not spans:
        return None
    best = max(spans, key=lambda s: s["score"])
    return {**best, "margin": best["score"] - best["null"]}


def new_choice(spans: list[dict], question: str = "") -> dict | None:
    """The engine's selection (:func:`qa.answers.decide` for a question about a fixed fact) on cached candidates.

    Args:
        spans: The cached candidates of every window.
        question: The question ('': no answer kind checked, the selection before answer kinds).

    Returns:
        The chosen span with its ``margin``; None when there is none of the kind asked (the engine declines, confidence 0).
    """
    from qa import answer_types
    from qa.answers import shortlist
    from qa.reader import Span

    if not spans:
        return None
    kind = answer_types.asked(question) if question else "other"
    objs = [Span(s["passage"], s["start"], s["start"] + len(s["text"]), s["text"], s["score"], s["null"]) for s in spans]
    for sp in shortlist(objs, kind, question):
        if answer_types.fits(kind, sp.text, question):
            d = spans[next(i for i, o in enumerate(objs) if o is sp)]
            return {**d, "margin": sp.margin}
    return None


def open_metrics(rows: list[dict], predictions: list[tuple[str, float]]) -> dict:
    """Scores of an open-mode run from per-question rows and (answer or '', confidence) predictions.

    Answerable questions are those whose article is indexed (EM / F1 over them; a decline
    scores 0); every answer to a question whose article is not indexed is a false answer.
    Confidence is judged on all questions with a candidate: right means F1 >= 0.5.
    """
    from qa.answers import expected_calibration_error, reliability

    inside = [(r, p) for r, p in zip(rows, predictions) if r["indexed"]]
    outside = [(r, p) for r, p in zip(rows, predictions) if not r["indexed"]]
    out: dict = {}
    if inside:
        scores = [score(text, r["answers"]) for r, (text, _) in inside]
        out.update(exact=100 * float(np.mean([s[0] for s in scores])), f1=100 * float(np.mean([s[1] for s in scores])),
                   answered=100 * float(np.mean([bool(t) for _, (t, _) in inside])), total=len(inside))
    if outside:
        answered = [(r, t) for r, (t, _) in outside if t]
        out.update(unindexed_questions=len(outside), false_answer_rate=100 * len(answered) / len(outside),
                   false_answers_matching_gold=sum(score(t, r["answers"])[1] >= 0.5 for r, t in answered))
    shown = [(conf, score(text, r["answers"])[1] >= 0.5) for r, (text, conf) in zip(rows, predictions) if text]
    if shown:
        probs, right = zip(*shown)
        high = [y for c, y in shown if c >= 0.9]
        out.update(ece_shown=expected_calibration_error(probs, right), shown=len(shown),
                   shown_at_90=len(high), right_at_90=100 * float(np.mean(high)) if high else None,
                   reliability_shown=reliability(probs, right))
    return out


def evaluate_open(path, model: str = "bundled", top_k: int | None = None, limit: int | None = None, index_dir: str | None = None,
                  always_answer: bool = False, unindexed: float = 0.0, articles: str = "all", sample: int | None = None,
                  seed: int = 13, cache: str | Path | None = None, threshold: float | None = None) -> dict:
    """The whole system: the file's articles are indexed, each question is answered from retrieval.

    Args:
        path: SQuAD-format file.
        model: Reader model.
        top_k: Passages retrieved per question (default: the engine's).
        limit: Only the first N questions.
        index_dir: An existing index to use instead of building one from the file.
        always_answer: Never decline.
        unindexed: Fraction of the file's articles left out of the index (seeded choice);
            their questions are still asked, and any answer to them is a false answer.
        articles: Whose questions to ask: 'all' or 'untrained' (see :func:`select_articles`).
        sample: Ask a seeded random sample of N of the selected questions.
        seed: For the held-out articles and the sample.
        cache: A JSONL file that gets one row per question (candidates with margins, the
            retrieved passages, the answer given), for fitting the confidence and threshold
            without reading again; an existing cache of the same run is resumed.
        threshold: A "no answer" margin overriding the engine's calibrated decline (default: the
            reader's ``open_min_confidence`` on P(right)).

    Returns:
        EM / F1 on questions whose article is indexed, the false-answer rate on the others,
        calibration of the confidence (ECE), recall@k, latency p50 / p95.
    """
    import random

    from tqdm import tqdm

    from qa.articles import Article
    from qa.config import Config
    from qa.engine import Engine

    examples = load_squad(path)
    all_articles = load_squad_articles(path)
    titles = [t for t, _ in all_articles]
    groups = [select_articles(titles, articles, model)]
    held_out = held_out_articles(titles, unindexed, seed, groups) if unindexed else set()
    if held_out and index_dir is not None:
        raise ValueError("--unindexed builds its own index from the file; it cannot be used with --index")
    keep = set(select_articles(titles, articles, model))
    examples = [ex for ex in examples if ex.title in keep][:limit]
    if sample is not None and sample < len(examples):
        # In random order, so that a run stopped early (the cache keeps what was asked) is still a fair sample.
        examples = [examples[i] for i in random.Random(seed).sample(range(len(examples)), sample)]
    tmp = None
    if index_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="qa-eval-")
        index_dir = tmp.name
    from qa.reader import Reader

    config = Config.from_env(index_dir=index_dir, reader_model=model, top_k=top_k, threshold=-1e9 if always_answer else threshold)
    recorder = RecordingReader(Reader(config.reader_model, max_answer_tokens=config.max_answer_tokens,
                                      precision=config.reader_precision))
    engine = Engine(config, reader=recorder)
    if tmp is not None:
        corpus = [Article(id=title, title=title, text="\n\n".join(paras), source=Path(path).name)
                  for title, paras in all_articles if title not in held_out]
        t0 = time.perf_counter()
        engine.indexer().index(corpus, show_progress=True)
        build_seconds = time.perf_counter() - t0
    else:
        build_seconds = None
    engine.open()
    engine.warm_up()
    settings = {"file": Path(path).name, "model": model, "top_k": engine.config.top_k, "unindexed": unindexed,
                "articles": articles, "sample": sample, "limit": limit, "seed": seed}
    done: dict[str, dict] = {}
    cache_file = None
    if cache is not None:
        cache = Path(cache)
        cache.parent.mkdir(parents=True, exist_ok=True)
        if cache.exists() and cache.stat().st_size:
            lines = cache.read_text().splitlines()
            if json.loads(lines[0]) != {"settings": settings}:
                raise ValueError(f"{cache} holds another run ({lines[0]}); delete it or choose another path")
            done = {r["qid"]: r for r in map(json.loads, lines[1:])}
        else:
            cache.write_text(json.dumps({"settings": settings}) + "\n")
        cache_file = cache.open("a")
    rows, predictions = [], []
    for ex in tqdm(examples, desc="asking", unit="q"):
        row = done.get(ex.qid)
        if row is None:
            t0 = time.perf_counter()
            ans = engine.ask(ex.question)
            latency = time.perf_counter() - t0
            recalled = bool(ex.answers) and any(normalize_answer(a) in " ".join(normalize_answer(c.passage) for c in ans.sources) for a in ex.answers)
            row = {"qid": ex.qid, "title": ex.title, "indexed": ex.title not in held_out, "answers": ex.answers,
                   "answer": ans.answer or "", "confidence": ans.confidence, "latency": latency, "recalled": recalled,
                   "sources": [[c.article_id, c.passage_number, round(c.cosine, 4)] for c in ans.sources],
                   # "score"/"null" are the logit sums (keys kept from before the rename, so older caches still read)
                   "spans": [{"passage": s.passage, "start": s.start, "text": s.text, "score": round(s.logit_sum, 4),
                              "null": round(s.null_logit_sum, 4)} for s in recorder.last]}
            if cache_file is not None:
                cache_file.write(json.dumps(row) + "\n")
                cache_file.flush()
        rows.append(row)
        predictions.append((row["answer"], row["confidence"]))
    if cache_file is not None:
        cache_file.close()
    if tmp is not None:
        tmp.cleanup()
    lat = np.array([r["latency"] for r in rows] or [0.0]) * 1000
    inside = [r for r in rows if r["indexed"]]
    top_k = engine.config.top_k
    return {"mode": "open", "file": str(path), "model": model, "top_k": top_k, "articles": articles,
            "unindexed": unindexed, "threshold": engine.threshold, "min_confidence": engine.min_confidence, **open_metrics(rows, predictions),
            f"recall@{top_k}": 100 * sum(r["recalled"] for r in inside) / max(len(inside), 1),
            "passages": engine.stats().passages, "latency_ms_p50": float(np.percentile(lat, 50)),
            "latency_ms_p95": float(np.percentile(lat, 95)), "build_seconds": build_seconds}


def read_cache(cache: str | Path) -> tuple[dict, list[dict]]:
    """The settings and per-question rows of an open-mode cache (``qa eval open --cache``)."""
    lines = Path(cache).read_text().splitlines()
    return json.loads(lines[0])["settings"], [json.loads(line) for line in lines[1:]]


def choose_threshold(margins: list[float], rows: list[dict], max_false_rate: float) -> float:
    """The "no answer" threshold with the best F1 on answerable questions among those that answer
    at most ``max_false_rate`` of the questions whose article is not indexed.

    Args:
        margins: The chosen answer's score per row, the higher the surer: a margin, or a
            probability (-inf or 0 for no candidate).
        rows: Cache rows (``indexed``, ``answers``) with the chosen text under ``"choice"``.
        max_false_rate: Highest share (0..1) of unindexed-article questions that may be answered.

    Returns:
        The threshold (on the scale of ``margins``); answers need a score >= it.
    """
    m = np.asarray(margins, dtype=float)
    inside = np.array([r["indexed"] for r in rows])
    f1 = np.array([score(r["choice"], r["answers"])[1] if r["indexed"] else 0.0 for r in rows])
    has = np.array([bool(r["choice"]) for r in rows])
    best_t, best_f1 = float("inf"), -1.0
    for t in np.unique(m[np.isfinite(m) & has])[::-1]:  # from the top: on a tie in F1 the higher threshold (fewer false answers) wins
        answered = (m >= t) & has
        false_rate = answered[~inside].mean() if (~inside).any() else 0.0
        value = f1[inside & answered].sum() / max(inside.sum(), 1)
        if false_rate <= max_false_rate and value > best_f1:
            best_t, best_f1 = float(t), value
    return best_t


def _cosine(row: dict, span: dict | None) -> float:
    """The cosine similarity to the question of the passage a cached span was read from."""
    return float(row["sources"][span["passage"]][2]) if span else 0.0


def by_kind(rows: list[dict], predictions: list[tuple[str, float]], questions: dict[str, str]) -> dict:
    """Outcomes per answer kind asked (:func:`qa.answer_types.asked`): of answerable questions right
    (F1 >= 0.5), wrong or declined; of unanswerable ones (article not indexed) answered (false answers) or declined."""
    from collections import Counter

    from qa.answer_types import asked

    out: dict[str, Counter] = {}
    for r, (answer, _) in zip(rows, predictions):
        c = out.setdefault(asked(questions.get(r["qid"], "")), Counter())
        if not r["indexed"]:
            c["false" if answer else "unanswerable_declined"] += 1
        elif not answer:
            c["declined"] += 1
        else:
            c["right" if score(answer, r["answers"])[1] >= 0.5 else "wrong"] += 1
    return {k: dict(v) for k, v in sorted(out.items())}


def fit_confidence(cache: str | Path, data_file: str | Path, model_dir: str | Path | None = None,
                   max_false_rate: float = 0.04, old_threshold: float = 0.8239) -> dict:
    """Fit the confidence and the engine's decline on the 'fit' articles of an open-mode cache; report on the 'report' articles.

    The confidence is a logistic in the chosen answer's margin and the cosine similarity of its
    passage to the question; the engine declines below a probability, the one with the best F1 on
    the fitting articles that answers at most ``max_false_rate`` of their unanswerable questions.
    Compared on the same halves: the rules before (raw-logit pick with ``old_threshold``; margin
    pick with a margin-only Platt fit and a margin threshold chosen the same way), and choosing
    the candidate by probability instead of by margin.

    Args:
        cache: From ``qa eval open --unindexed F --articles untrained --cache PATH``.
        data_file: The SQuAD file that run used (for the article split).
        model_dir: Reader folder whose ``qa_reader.json`` gets the fitted values (None: write nothing).
        max_false_rate: Allowed share of answered unindexed-article questions on the fitting articles
            (below the 5% target, to leave room for the difference between article sets).
        old_threshold: The margin threshold before issue 9, for the 'original' numbers.

    Returns:
        Scores of each rule on both halves, and what was fitted.
    """
    from qa.answers import expected_calibration_error, fit_logistic, fit_platt, reliability

    settings, rows = read_cache(cache)
    titles = [t for t, _ in load_squad_articles(data_file)]
    fit_list, report_list = calibration_split(titles, rows)
    fit_titles, report_titles = set(fit_list), set(report_list)

    def decided(part_rows, chooser):
        out = []
        for r in part_rows:
            c = chooser(r)
            out.append({**r, "choice": c["text"] if c else "", "margin": c["margin"] if c else -np.inf, "cosine": _cosine(r, c)})
        return out

    questions = {ex.qid: ex.question for ex in load_squad(data_file)}
    by_margin = lambda r: new_choice(r["spans"], questions.get(r["qid"], ""))  # noqa: E731  (the engine's pick)
    untyped = lambda r: new_choice(r["spans"])  # noqa: E731  (the pick before answer kinds)
    fit_rows = decided([r for r in rows if r["title"] in fit_titles], by_margin)
    report_rows = [r for r in rows if r["title"] in report_titles]
    with_candidate = [r for r in fit_rows if np.isfinite(r["margin"])]
    fit_right = [score(r["choice"], r["answers"])[1] >= 0.5 for r in with_candidate]
    calibration = fit_logistic([r["margin"] for r in with_candidate], [r["cosine"] for r in with_candidate], fit_right)
    platt = fit_platt([r["margin"] for r in with_candidate], fit_right)
    prob = lambda r: calibration.probability(r["margin"], r["cosine"])  # noqa: E731
    platt_prob = lambda r: platt.probability(r["margin"], 0.0)  # noqa: E731
    min_confidence = choose_threshold([prob(r) for r in fit_rows], fit_rows, max_false_rate)
    margin_threshold = choose_threshold([r["margin"] for r in fit_rows], fit_rows, max_false_rate)

    def by_probability(r):
        """Alternative pick: the candidate with the highest P(right) (its own margin and passage)."""
        if not r["spans"]:
            return None
        best = max(r["spans"], key=lambda s: calibration.probability(s["score"] - s["null"], _cosine(r, s)))
        return {**best, "margin": best["score"] - best["null"]}

    def old_confidence(r) -> float:
        return 0.0 if r["margin"] == -np.inf else min(0.99, max(0.01, 1 / (1 + np.exp(-(r["margin"] - old_threshold)))))

    def evaluate_rule(part_rows, chooser, answered, conf):
        d = decided(part_rows, chooser)
        preds = [(r["choice"] if np.isfinite(r["margin"]) and answered(r) else "", conf(r)) for r in d]
        out = open_metrics(d, preds)
        cand = [r for r in d if np.isfinite(r["margin"])]
        probs = [conf(r) for r in cand]
        right = [score(r["choice"], r["answers"])[1] >= 0.5 for r in cand]
        out["ece_all"] = expected_calibration_error(probs, right)
        out["reliability_all"] = reliability(probs, right)
        out["by_kind"] = by_kind(d, preds, questions)
        return out

    # What ships now (the reader's qa_reader.json), before and after answer kinds, without refitting.
    from qa.answers import Calibration
    from qa.reader import BUNDLED_READER

    shipped_settings = json.loads((Path(model_dir or BUNDLED_READER) / "qa_reader.json").read_text())
    shipped = Calibration.from_settings(shipped_settings.get("confidence"), 0.0)
    shipped_min = float(shipped_settings.get("open_min_confidence", 0.0))
    shipped_prob = lambda r: shipped.probability(r["margin"], r["cosine"])  # noqa: E731
    rules = {
        "shipped_untyped": (untyped, lambda r: shipped_prob(r) >= shipped_min, shipped_prob),
        "shipped_typed": (by_margin, lambda r: shipped_prob(r) >= shipped_min, shipped_prob),
        "original": (lambda r: old_choice(r["spans"]), lambda r: r["margin"] >= old_threshold, old_confidence),
        "before": (by_margin, lambda r: r["margin"] >= margin_threshold, platt_prob),
        "after": (by_margin, lambda r: prob(r) >= min_confidence, prob),
    }
    fit_by_prob = decided([r for r in rows if r["title"] in fit_titles], by_probability)
    prob_pick_threshold = choose_threshold([prob(r) for r in fit_by_prob], fit_by_prob, max_false_rate)
    alternatives = {"choose_by_probability": (by_probability, lambda r: prob(r) >= prob_pick_threshold, prob)}
    result = {"cache": str(cache), "run": settings, "fit_articles": sorted(fit_titles), "report_articles": sorted(report_titles),
              "fit_questions": len(fit_rows), "report_questions": len(report_rows),
              "calibration": calibration.to_settings(), "open_min_confidence": min_confidence,
              "margin_only": {"calibration": platt.to_settings(), "open_threshold": margin_threshold},
              "choose_by_probability_min_confidence": prob_pick_threshold, "max_false_rate_on_fit": max_false_rate,
              "original_threshold": old_threshold}
    for name, part in (("fit", [r for r in rows if r["title"] in fit_titles]), ("report", report_rows)):
        result[name] = {rule: evaluate_rule(part, *args) for rule, args in {**rules, **alternatives}.items()}
    # The trade-off a user moves along with a probability threshold: F1 on answerable vs false answers, reporting articles.
    result["report_curve"] = []
    for t in (0.05, 0.1, 0.15, 0.2, round(min_confidence, 3), 0.25, 0.3, 0.4, 0.5):
        m = evaluate_rule(report_rows, by_margin, lambda r, t=t: prob(r) >= t, prob)
        result["report_curve"].append({"min_confidence": t, "f1": m.get("f1"), "false_answer_rate": m.get("false_answer_rate")})
    # And along a margin threshold (`Config.threshold`, which replaces the probability rule).
    result["report_curve_margin"] = []
    for t in (0.0, 1.0, 2.0, 3.0, 4.0, round(margin_threshold, 2), 5.0, 6.0, 8.0):
        m = evaluate_rule(report_rows, by_margin, lambda r, t=t: r["margin"] >= t, prob)
        result["report_curve_margin"].append({"threshold": t, "f1": m.get("f1"), "false_answer_rate": m.get("false_answer_rate")})
    if model_dir is not None:
        current = json.loads((Path(model_dir) / "qa_reader.json").read_text())
        current.pop("open_threshold", None)  # replaced by open_min_confidence: one decline rule, not two
        (Path(model_dir) / "qa_reader.json").write_text(json.dumps(current, indent=2) + "\n")
        _update_settings(model_dir, {
            "open_min_confidence": round(min_confidence, 4),
            "open_calibration": {"file": Path(data_file).name, "articles": "fitting half of the untrained articles (qa.offline.evaluation.calibration_split)",
                                 "questions": len(fit_rows), "unindexed": settings["unindexed"], "top_k": settings["top_k"],
                                 "max_false_rate": max_false_rate, "command": "qa eval fit-confidence"},
            "confidence": {**calibration.to_settings(), "features": "margin, cosine of the answer's passage", "right": "F1 >= 0.5",
                           "fitted_on": f"{len(with_candidate)} questions of the fit articles of {Path(data_file).name}"},
        })
    return result


def print_table(result: dict) -> None:
    """Print results as a Markdown table."""
    print("| metric | value |\n|---|---|")
    for k, v in result.items():
        if isinstance(v, (list, dict)):  # per-bin details: in the JSON output only
            continue
        if isinstance(v, float):
            v = f"{v:.2f}" if abs(v) >= 0.01 else f"{v:.4f}"
        print(f"| {k} | {v} |")
