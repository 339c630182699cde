"""Live-index benchmark: the cost of adding and deleting one article in a large index.

Run from the repository root:

    .venv/bin/python benchmarks/live.py --passages 100000
    nohup .venv/bin/python benchmarks/live.py --passages 1000000 > benchmarks/work/live-1m.log 2>&1 &

Results go to benchmarks/results/live.json and live.md (one entry per size; rerunning a
size replaces its entry). The index is built once in benchmarks/work/live-<n>/ and reused.

Corpus: SQuAD train paragraphs, chunked as qa chunks articles, repeated under new article
ids until the passage count is reached. Vectors are SYNTHETIC (mixtures of two real
embeddings plus noise, unit length): embedding 1M passages takes ~10 h on this CPU and does
not change what an update costs. The article that is added is embedded for real.

Measured, in a process serving the index (store loaded, models warm, one question asked):
    * add: ``Engine.upsert`` of one new article (chunk, embed, write a segment, commit, reopen);
    * delete: ``Engine.delete`` of one article;
    * peak RSS during the add and delete vs. the serving RSS before them;
    * the same add by a separate writer process (models loaded, index not), as ``qa index`` or the
      folder watch runs it: its wall time and peak RSS;
    * retrieval latency (``Engine.search``, top 3) over 50 questions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DATA = ROOT.parent / "shared" / "data" / "squad" / "train-v1.1.json"
OUT = ROOT / "benchmarks" / "results"
NEW_TEXT = (
    "The harbour authority of Valmora announced on Tuesday that the new ferry terminal will open in March. "
    "The terminal, designed by the architect Ilse Brandvold, cost 48 million euros and can handle twelve "
    "ferries a day. Local fishermen had opposed the project for three years, arguing that the dredging would "
    "harm the cod stocks in the bay. The authority said an independent study found no lasting harm. "
    "Mayor Tomas Erikstad called the opening a turning point for the town's economy."
)


def rss_mb(field: str = "VmRSS") -> float:
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the next peak is the peak of what follows."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def corpus():
    """(title, passage, search text) per unique SQuAD train paragraph's passages, and questions."""
    from qa.articles import Article
    from qa.chunking import chunk_article, search_text
    from qa.offline.squad import load_squad

    by_context: dict[str, str] = {}
    for ex in load_squad(DATA):
        by_context.setdefault(ex.context, ex.question)
    articles = []
    for i, context in enumerate(by_context):
        a = Article(f"p{i:05d}", f"Paragraph {i}", context)
        articles.append((a, [(p, search_text(a.title, p)) for p in chunk_article(a)]))
    return articles, list(by_context.values())


def build(index: Path, n: int) -> None:
    """A store of about n passages (synthetic vectors), one segment, 'auto' index type."""
    from qa.articles import Article
    from qa.chunking import ChunkingSettings, Passage
    from qa.embedding import DEFAULT_EMBEDDING_MODEL, Embedder
    from qa.stores import ArticleRecord, PassageRecord, StoreSettings, content_hash
    from qa.stores.local import LocalStore

    from dataclasses import asdict

    articles, _ = corpus()
    embedder = Embedder()
    base = embedder.embed([t for _, ps in articles[:500] for _, t in ps[:1]])
    rng = np.random.default_rng(0)
    d = base.shape[1]
    store = LocalStore.create(index, StoreSettings(DEFAULT_EMBEDDING_MODEL, d, asdict(ChunkingSettings()), "flat"))
    count, rep, batch, pending = 0, 0, [], 0
    t0 = time.perf_counter()
    while count < n:
        for a, passages in articles:
            if count >= n:
                break
            aid = f"{a.id}-r{rep}"
            i, j = rng.integers(0, len(base), len(passages)), rng.integers(0, len(base), len(passages))
            v = base[i] + 0.5 * base[j] + rng.normal(0, 0.05, (len(passages), d)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            # The repeat number is part of the text that is hashed, so no two repeats share a content hash.
            records = [PassageRecord(Passage(aid, p.number, p.start, p.end, p.text), t, content_hash(f"{rep}\0{t}", DEFAULT_EMBEDDING_MODEL), v[k])
                       for k, (p, t) in enumerate(passages)]
            batch.append(ArticleRecord(Article(aid, a.title, a.text, "", "", ""), records))
            count += len(records)
            pending += len(records)
            if pending >= 50_000:
                store.write(batch)
                batch, pending = [], 0
                print(f"  {count} passages written, {time.perf_counter() - t0:.0f} s", flush=True)
        rep += 1
    if batch:
        store.write(batch)
    t_written = time.perf_counter()
    print("merging into one segment ('auto' index type) ...", flush=True)
    store.optimize("auto")  # the dense search structure rebuilt from the stored vectors, as `qa index --rebuild` of a model would not need
    t_merged = time.perf_counter()
    store.publish()
    print(f"built {store.stats()} in {time.perf_counter() - t0:.0f} s", flush=True)
    store.close()
    (index / "build.json").write_text(json.dumps({
        "write_seconds": round(t_written - t0), "merge_to_one_segment_seconds": round(t_merged - t_written),
        "load_average_1min": round(os.getloadavg()[0], 1), "date": time.strftime("%Y-%m-%d %H:%M")}))


def writer_process(index: Path) -> None:
    """Child: add one article the way `qa index` / the folder watch does (models loaded, index not)."""
    from qa.articles import Article
    from qa.embedding import Embedder
    from qa.indexing import Indexer

    embedder = Embedder()
    embedder.warm_up()
    rss_before = rss_mb()
    reset_peak()
    t0 = time.perf_counter()
    report = Indexer(index, embedder).apply(upsert=[Article("writer-added", "Ferry terminal opens", NEW_TEXT.replace("March", "April"))])
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": round(seconds, 2), "rss_before_mb": round(rss_before), "peak_rss_mb": round(rss_mb("VmHWM")),
                      "embedded": report.embedded}))


def measure(index: Path) -> dict:
    from qa.articles import Article
    from qa.engine import Engine

    _, questions = corpus()
    random.seed(0)
    t0 = time.perf_counter()
    engine = Engine.load(index)
    engine.warm_up()
    open_seconds = time.perf_counter() - t0
    t = time.perf_counter()
    engine.ask(questions[0])
    first_answer = time.perf_counter() - t
    sample = random.sample(questions, 50)
    times, embed_times = [], []
    for q in sample:
        _, timings = engine._search(q, 3)
        times.append(timings["search"])  # dense + keyword search, fusion and fetching (the embedding apart)
        embed_times.append(timings["embed"])
    ask_times = []
    for q in sample:  # the whole answer: question embedding, search, reader
        t = time.perf_counter()
        engine.ask(q)
        ask_times.append(time.perf_counter() - t)
    keyword, recall = keyword_and_recall(engine, sample)
    serving = rss_mb()
    stats = engine.stats()
    print(f"serving {stats.passages} passages ({stats.index_type}), RSS {serving:.0f} MB", flush=True)

    reset_peak()
    added = Article("bench-added", "Ferry terminal opens", NEW_TEXT)
    t = time.perf_counter()
    report = engine.indexer().apply(upsert=[added])
    t_write = time.perf_counter()
    engine.refresh()  # what the chat does before its next question
    add_seconds = time.perf_counter() - t
    add_parts = {**report.seconds, "plan_and_other": round(t_write - t - sum(report.seconds.values()), 3),
                 "reopen": round(time.perf_counter() - t_write, 3)}
    found = engine.search("Who designed the Valmora ferry terminal?", 3)
    assert found and found[0].source.article_id == "bench-added", [h.source.article_id for h in found]
    victim = engine.articles()[len(engine.articles()) // 2].id
    t = time.perf_counter()
    engine.delete([victim])
    delete_seconds = time.perf_counter() - t
    assert engine.article(victim) is None
    peak = rss_mb("VmHWM")

    child = subprocess.run([sys.executable, __file__, "--writer", str(index)], capture_output=True, text=True, cwd=ROOT)
    writer = json.loads(child.stdout.strip().splitlines()[-1]) if child.returncode == 0 else {"error": child.stderr[-500:]}
    # Put the index back as it was, so reruns measure the same thing.
    engine.delete(["bench-added", "writer-added"])
    ms = np.array(times) * 1000
    ask_ms = np.array(ask_times) * 1000
    rebuild = keyword_rebuild(index)
    build = json.loads((index / "build.json").read_text()) if (index / "build.json").exists() else {}
    return {
        "passages": stats.passages, "index_type": stats.index_type, "vectors": "synthetic",
        "open_and_load_seconds": round(open_seconds, 1), "first_answer_seconds": round(first_answer, 2),
        "ask_ms_p50": round(float(np.percentile(ask_ms, 50))), "ask_ms_p95": round(float(np.percentile(ask_ms, 95))),
        **keyword, "dense_recall_at_10": recall,
        "build": build, "keyword_rebuild_seconds": rebuild, "disk_mb": disk_mb(index),
        "add_one_article_seconds": round(add_seconds, 2), "add_embedded_passages": report.embedded, "add_parts_seconds": add_parts,
        "delete_one_article_seconds": round(delete_seconds, 2),
        "serving_rss_mb": round(serving), "peak_rss_during_updates_mb": round(peak), "peak_over_serving": round(peak / serving, 2),
        "separate_writer": writer,
        "search_ms_p50": round(float(np.percentile(ms, 50)), 1), "search_ms_p95": round(float(np.percentile(ms, 95)), 1),
        "query_embedding_ms_p50": round(float(np.percentile(np.array(embed_times) * 1000, 50)), 1),
        "load_average_1min": round(os.getloadavg()[0], 1),  # this machine's 2 cores are shared: above 2, others were running
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip(),
    }


def keyword_and_recall(engine, questions: list[str]) -> tuple[dict, float]:
    """Keyword search alone (p50/p95, the retriever's pool of 20), and dense recall@10 against exact search
    over every stored vector, for real questions embedded for real."""
    store = engine.store
    kw = []
    for q in questions:
        t = time.perf_counter()
        store.keyword_search(q, 20)
        kw.append(time.perf_counter() - t)
    vectors = engine.embedder.embed(questions)
    store.warm_up()
    hits = 0
    for v in vectors:
        got = {pid for pid, _ in store.dense_search(v, 10)}
        best: list[tuple[float, int]] = []
        for seg in store._segments.values():  # exact: every segment's float32 vectors, in blocks
            for start in range(0, len(seg.ids), 200_000):
                scores = np.asarray(seg.vectors[start:start + 200_000], dtype=np.float32) @ v
                top = np.argpartition(-scores, min(10, len(scores) - 1))[:10]
                best += [(float(scores[r]), int(seg.ids[start + r])) for r in top]
        best.sort(reverse=True)
        exact = {pid for pid, _ in store._ids_for([(vid, s) for s, vid in best[:10]])}
        hits += len(got & exact)
    ms = np.array(kw) * 1000
    return ({"keyword_ms_p50": round(float(np.percentile(ms, 50)), 1), "keyword_ms_p95": round(float(np.percentile(ms, 95)), 1)},
            round(hits / (10 * len(questions)), 3))


def keyword_rebuild(index: Path) -> float:
    """Seconds to rebuild the keyword index from SQLite (what a writer does when it is missing or damaged)."""
    import shutil

    from qa.stores.local import LocalStore

    store = LocalStore.open(index)
    try:
        shutil.rmtree(store.gen / "keyword")
        t = time.perf_counter()
        store.tidy()
        return round(time.perf_counter() - t, 1)
    finally:
        store.close()


def disk_mb(index: Path) -> dict:
    """Megabytes on disk: SQLite (articles, passages, text), vectors, dense search structures, keyword index."""
    from qa.stores.local import current_generation

    gen = current_generation(index)
    sizes = {"sqlite": 0, "vectors": 0, "dense_index": 0, "keyword": 0}
    for f in gen.rglob("*"):
        if not f.is_file():
            continue
        n = f.stat().st_size
        key = ("keyword" if "keyword" in f.relative_to(gen).parts[:1] else "vectors" if f.name == "vectors.npy"
               else "dense_index" if f.name == "index.faiss" else "sqlite" if f.name.startswith("meta.sqlite") else None)
        if key:
            sizes[key] += n
    return {k: round(v / 1e6) for k, v in sizes.items()}


def markdown(results: dict) -> str:
    lines = ["# Live index: one article added to / deleted from a large index", "",
             "Vectors of the indexed passages are synthetic (see benchmarks/live.py); the added article is embedded for real. "
             "Add and delete run in a process that serves the index (models warm) and include reopening it; "
             "the separate writer is what `qa index` / `qa serve --watch` runs.", "",
             "| passages | index | add 1 article (embed / write / reopen) | delete 1 article | serving RSS | peak RSS during updates | separate writer: add, peak RSS | search p50 / p95 (without query embedding) | load average |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results.values():
        w = r["separate_writer"]
        wcell = f"{w['seconds']} s, {w['peak_rss_mb']} MB" if "seconds" in w else "failed"
        parts = r.get("add_parts_seconds", {})
        split = f" ({parts.get('embed')} / {parts.get('write')} / {parts.get('reopen')})" if parts else ""
        lines.append(f"| {r['passages']:,} | {r['index_type']} | {r['add_one_article_seconds']} s{split} | {r['delete_one_article_seconds']} s "
                     f"| {r['serving_rss_mb']} MB | {r['peak_rss_during_updates_mb']} MB ({r['peak_over_serving']}x) | {wcell} "
                     f"| {r['search_ms_p50']} / {r['search_ms_p95']} ms | {r.get('load_average_1min', '')} |")
    full = [r for r in results.values() if "ask_ms_p50" in r]
    if full:
        lines += ["", "## The whole path (issue 24)", "",
                  "Ask: question embedding, search and the reader, in the serving process (50 SQuAD train questions). Keyword: "
                  "the keyword search alone (Tantivy), pool of 20. Recall: dense top 10 against exact search over every stored "
                  "vector, the same questions embedded for real. Build: writing the passages in 50k batches, then merging into one "
                  "segment (the dense search structure rebuilt from the stored vectors). Disk: SQLite / vectors / dense index / keyword index.", "",
                  "| passages | dense index | open | first answer | ask p50 / p95 | search p50 / p95 | keyword p50 / p95 | dense recall@10 | serving RSS | add 1 article, visible | build: write / merge | dense rebuild from stored vectors | keyword rebuild | disk MB | load average |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in full:
            b, d = r.get("build", {}), r["disk_mb"]
            rebuilt = f"{b['dense_rebuild_seconds']} s ({b.get('dense_rebuild_kind')})" if "dense_rebuild_seconds" in b else "-"
            lines.append(f"| {r['passages']:,} | {r['index_type']} | {r['open_and_load_seconds']} s | {r['first_answer_seconds']} s | {r['ask_ms_p50']} / {r['ask_ms_p95']} ms "
                         f"| {r['search_ms_p50']} / {r['search_ms_p95']} ms | {r['keyword_ms_p50']} / {r['keyword_ms_p95']} ms | {r['dense_recall_at_10']} | {r['serving_rss_mb']} MB "
                         f"| {r['add_one_article_seconds']} s | {b.get('write_seconds', '?')} s / {b.get('merge_to_one_segment_seconds', '?')} s | {rebuilt} "
                         f"| {r['keyword_rebuild_seconds']} s | {d['sqlite']} / {d['vectors']} / {d['dense_index']} / {d['keyword']} "
                         f"| {r.get('load_average_1min', '')} (build {b.get('load_average_1min', '?')}) |")
    notes = [f"- {int(k):,} passages: {r['note']}" for k, r in results.items() if r.get("note")]
    if notes:
        lines += ["", *notes]
    lines += ["", "Measured: " + "; ".join(f"{k} passages {r['date']} (commit {r['commit']})" for k, r in results.items()) + ".", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--passages", type=int, default=100_000)
    ap.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work")
    ap.add_argument("--writer", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.writer:
        writer_process(args.writer)
        return
    index = args.work / f"live-{args.passages}"
    if not (index / "CURRENT").exists():
        build(index, args.passages)
    result = measure(index)
    print(json.dumps(result, indent=1), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "live.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results[str(args.passages)] = result
    path.write_text(json.dumps(results, indent=2))
    (OUT / "live.md").write_text(markdown(results))


if __name__ == "__main__":
    main()
