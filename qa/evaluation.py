"""Evaluation: the reader on gold paragraphs, and the whole system over a corpus."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from qa.squad import evaluate, load_articles, load_squad, normalize_answer, score


def _reader(model: str, quantize: bool = False):
    from qa.reader import Reader

    reader = Reader(model, quantize=quantize)
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


def evaluate_reader(path, model: str = "bundled", threshold: float | None = None, always_answer: bool = False, limit: int | None = None, quantize: bool = False) -> dict:
    """EM / F1 of the reader with gold paragraphs.

    Args:
        path: SQuAD v1.1 or v2.0 file.
        model: Reader model.
        threshold: 'No answer' threshold; None: the reader's calibrated one.
        always_answer: Never decline. A file without unanswerable questions (SQuAD v1.1)
            is read this way unless a threshold is given, as the official v1.1 evaluation does.
        limit: Only the first N questions.
        quantize: int8 dynamic quantisation of the reader.

    Returns:
        Scores (official names), settings and timing.
    """
    examples = load_squad(path)[:limit]
    if threshold is None and not any(ex.is_impossible for ex in examples):
        always_answer = True
    reader = _reader(model, quantize)
    t = reader.default_threshold if threshold is None else threshold
    t0 = time.perf_counter()
    margins = reader_margins(reader, examples)
    elapsed = time.perf_counter() - t0
    preds = {ex.qid: ("" if (not always_answer and m < t) else text) for ex, (text, m) in zip(examples, margins)}
    result = evaluate(examples, preds)
    return {"mode": "reader", "file": str(path), "model": model, "quantized": quantize, "threshold": None if always_answer else t,
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
    from qa.training import split_articles

    examples = split_articles(load_squad(calibration_file), part)
    reader = _reader(str(model_dir))
    margins = reader_margins(reader, examples)
    threshold, f1 = best_threshold(examples, margins)
    return _update_settings(model_dir, {"null_threshold": round(threshold, 4), "calibration": {"file": Path(calibration_file).name, "articles": part, "questions": len(examples), "f1": round(f1, 2)}})


def calibrate_open(model_dir: str | Path, validation_file: str | Path, limit: int = 1500, seed: int = 13) -> dict:
    """Choose the threshold the engine uses when reading retrieved passages.

    SQuAD v2.0's unanswerable questions are adversarial (written against the very
    paragraph shown); in use, a question that the articles do not answer usually meets
    passages on the topic that lack the answer. So this threshold is chosen on SQuAD
    v1.1 validation questions read with their own paragraph (answerable) and with another
    paragraph of the same article that lacks the answer (unanswerable), half and half.

    Returns:
        The settings written to ``qa_reader.json``.
    """
    from qa.training import synthetic_negatives

    examples = load_squad(validation_file)[:limit]
    negatives = synthetic_negatives(examples, 1.0, seed)
    data = examples + negatives
    reader = _reader(str(model_dir))
    margins = reader_margins(reader, data)
    threshold, f1 = best_threshold(data, margins)
    return _update_settings(model_dir, {"open_threshold": round(threshold, 4), "open_calibration": {"file": Path(validation_file).name, "answerable": len(examples), "unanswerable": len(negatives), "f1": round(f1, 2)}})


def evaluate_open(path, model: str = "bundled", top_k: int | None = None, limit: int | None = None, index_dir: str | None = None, always_answer: bool = False) -> dict:
    """The whole system: the file's articles are indexed, each question is answered from retrieval.

    Args:
        path: SQuAD-format file.
        model: Reader model.
        top_k: Passages retrieved per question (default: the engine's).
        limit: Only the first N questions.
        index_dir: An existing index to use instead of building one from the file.
        always_answer: Never decline.

    Returns:
        EM / F1, recall@k (gold answer inside a retrieved passage), latency p50 / p95.
    """
    from tqdm import tqdm

    from qa.articles import Article
    from qa.config import Config
    from qa.engine import Engine

    examples = load_squad(path)[:limit]
    tmp = None
    if index_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="qa-eval-")
        index_dir = tmp.name
    engine = Engine(Config.from_env(index_dir=index_dir, reader_model=model, top_k=top_k, threshold=-1e9 if always_answer else None))
    if tmp is not None:
        articles = [Article(id=title, title=title, text="\n\n".join(paras), source=Path(path).name) for title, paras in load_articles(path)]
        t0 = time.perf_counter()
        engine.indexer().index(articles, show_progress=True)
        build_seconds = time.perf_counter() - t0
    else:
        build_seconds = None
    engine.open()
    engine.warm_up()
    preds, latencies, hits = {}, [], 0
    for ex in tqdm(examples, desc="asking", unit="q"):
        t0 = time.perf_counter()
        ans = engine.ask(ex.question)
        latencies.append(time.perf_counter() - t0)
        preds[ex.qid] = ans.answer or ""
        if ex.answers:
            passages = " ".join(normalize_answer(c.passage) for c in ans.sources)
            hits += any(normalize_answer(a) in passages for a in ex.answers)
    answerable = sum(1 for ex in examples if ex.answers)
    result = evaluate(examples, preds)
    lat = np.array(latencies) * 1000
    if tmp is not None:
        tmp.cleanup()
    top_k = engine.config.top_k
    return {"mode": "open", "file": str(path), "model": model, "top_k": top_k, **result,
            f"recall@{top_k}": 100 * hits / max(answerable, 1), "passages": engine.stats().passages,
            "latency_ms_p50": float(np.percentile(lat, 50)), "latency_ms_p95": float(np.percentile(lat, 95)),
            "build_seconds": build_seconds}


def print_table(result: dict) -> None:
    """Print results as a Markdown table."""
    print("| metric | value |\n|---|---|")
    for k, v in result.items():
        if isinstance(v, float):
            v = f"{v:.2f}" if abs(v) >= 0.01 else f"{v:.4f}"
        print(f"| {k} | {v} |")
