"""Speed benchmarks: question latency, index build, search at 1M vectors, start-up.

Run from the repository root (after `bash .ci/setup`):

    .venv/bin/python benchmarks/run.py                 # everything, writes benchmarks/results/latest.{md,json}
    .venv/bin/python benchmarks/run.py --only latency  # one section: build, latency, million, startup

Corpora are real text: SQuAD train paragraphs from ../shared/data, chunked as qa chunks
articles. The 1k and 10k corpora are embedded for real (that is the build measurement);
the 100k corpus repeats the 10k passages' text and vectors (vectors with small noise),
because embedding 100k passages takes ~20 minutes on this CPU and does not change how
search and reading scale. Numbers, not pass/fail: targets are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from qa.articles import Article  # noqa: E402
from qa.chunking import chunk_article, search_text  # noqa: E402
from qa.config import ChunkingSettings, Config  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.offline.squad import load_squad  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "squad" / "train-v1.1.json"
OUT = ROOT / "benchmarks" / "results"


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    mhz = next((float(line.split(":", 1)[1]) for line in flags.splitlines() if line.startswith("cpu MHz")), 0.0)
    # fp32 peak assuming two 256-bit FMA units per core (AVX2): 2 units x 8 lanes x 2 flops per cycle.
    lanes = 16 if "avx512f" in flags else 8
    import faiss
    import torch

    return {
        "cpu": cpu, "cores": os.cpu_count(), "avx512_bf16": "avx512_bf16" in flags, "avx2": "avx2" in flags,
        "cpu_mhz": round(mhz), "fp32_peak_gflops_estimate": round(os.cpu_count() * 2 * lanes * 2 * mhz / 1000),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(), "torch": torch.__version__, "faiss": faiss.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def squad_articles(n_passages: int) -> tuple[list[Article], list[tuple[str, str]]]:
    """Articles made of whole SQuAD train paragraphs, about ``n_passages`` passages in all, and (question, article id) pairs."""
    examples = load_squad(DATA)
    by_context: dict[str, list[str]] = {}
    for ex in examples:
        by_context.setdefault(ex.context, []).append(ex.question)
    articles, questions, count = [], [], 0
    for i, (context, qs) in enumerate(by_context.items()):
        a = Article(f"p{i:05d}", f"Paragraph {i}", context)
        articles.append(a)
        questions.append((qs[0], a.id))
        count += len(chunk_article(a))
        if count >= n_passages:
            break
    return articles, questions


def percentiles(values: list[float]) -> dict:
    ms = np.array(values) * 1000
    return {"p50": round(float(np.percentile(ms, 50)), 1), "p95": round(float(np.percentile(ms, 95)), 1)}


def embedding_flops(engine: Engine, texts: list[str]) -> dict:
    """Mean tokens per passage and the floating-point work of embedding one (2 x weights per token, plus attention)."""
    model = engine.embedder._model
    tokenizer = getattr(model, "tokenizer", None)
    net = getattr(model, "model", None)
    if tokenizer is None or net is None:
        return {"tokens": float("nan"), "gflop": float("nan")}
    tokens = np.array([len(ids) for ids in tokenizer(texts, truncation=True, max_length=model.max_length)["input_ids"]])
    cfg = net.config
    weights = sum(p.numel() for n, p in net.named_parameters() if "embeddings" not in n and p.dim() == 2)
    per_passage = 2 * weights * tokens + 4 * cfg.num_hidden_layers * cfg.hidden_size * tokens**2
    return {"tokens": float(tokens.mean()), "gflop": float(per_passage.mean() / 1e9)}


def bench_build(work: Path, results: dict) -> None:
    engine = Engine(Config(index_dir=str(work / "index-10k")))
    engine.warm_up()
    articles, _ = squad_articles(10_000)
    t0 = time.perf_counter()
    report = engine.indexer().index(articles, show_progress=True)
    full = time.perf_counter() - t0
    words = statistics.mean(len(p.text.split()) for a in articles[:500] for p in chunk_article(a))
    changed = list(articles)
    changed[17] = Article(changed[17].id, changed[17].title, changed[17].text + " An added closing sentence.")
    t0 = time.perf_counter()
    inc = engine.indexer().index(changed)
    incremental = time.perf_counter() - t0
    assert inc.changed == [changed[17].id]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qa.cli", "search", "x", "--index", str(work / "index-10k")], capture_output=True, check=True)
    cli_startup = time.perf_counter() - t0
    flops = embedding_flops(engine, [search_text(a.title, p) for a in articles for p in chunk_article(a)])
    results["build"] = {
        "passages": report.passages, "mean_words_per_passage": round(words, 1), "seconds": round(full, 1),
        "passages_per_second": round(report.passages / full, 1),
        "mean_tokens_per_passage": round(flops["tokens"], 1),
        "embedding_gflop_per_passage": round(flops["gflop"], 2),
        "achieved_gflop_per_second": round(flops["gflop"] * report.passages / full, 1),
        "incremental_one_article_seconds": round(incremental, 2),
        "cli_process_overhead_seconds": round(cli_startup, 1),
    }
    print(results["build"], flush=True)


def make_100k(work: Path) -> None:
    """100k passages: the 10k index's passages and vectors repeated (vectors with small noise)."""
    from qa.stores import ArticleRecord, PassageRecord, StoreSettings, content_hash, create_store, open_store

    src = open_store(work / "index-10k")
    settings = src.settings
    chunking = ChunkingSettings(**settings.chunking)
    sources = src.articles([a.id for a in src.list_articles()])
    by_article = {a.id: chunk_article(a, chunking) for a in sources}
    stored = {sp.passage.id: sp for sp in src.passages([p.id for ps in by_article.values() for p in ps], with_vectors=True)}
    src.close()
    total = sum(len(ps) for ps in by_article.values())
    shutil.rmtree(work / "index-100k", ignore_errors=True)
    out = create_store(work / "index-100k", StoreSettings(settings.embedding_model, settings.dimension, settings.chunking, "auto"))
    rng = np.random.default_rng(0)
    for r in range(-(-100_000 // total)):
        batch = []
        for a in sources:
            aid = f"{a.id}-{r}"
            records = []
            for p in by_article[a.id]:
                v = stored[p.id].vector + (rng.normal(0, 0.02, settings.dimension).astype(np.float32) if r else 0)
                text = search_text(a.title, p)
                records.append(PassageRecord(type(p)(aid, p.number, p.start, p.end, p.text), text,
                                             content_hash(f"{r}\0{text}", settings.embedding_model),
                                             (v / np.linalg.norm(v)).astype(np.float32)))
            batch.append(ArticleRecord(Article(aid, a.title, a.text), records))
        out.write(batch)
    out.publish()
    out.close()


def bench_latency(work: Path, results: dict, n_questions: int) -> None:
    sizes = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
    if not (work / "index-10k" / "CURRENT").exists():
        bench_build(work, results)
    articles_1k, _ = squad_articles(1_000)
    _, questions = squad_articles(10_000)
    engine = Engine(Config(index_dir=str(work / "index-1k")))
    engine.indexer().index(articles_1k)
    make_100k(work)
    random.seed(0)
    results["latency"] = {}
    for name, size in sizes.items():
        engine = Engine.load(work / f"index-{name}")
        engine.warm_up()
        pool = questions[: min(len(questions), 1500 if name == "1k" else len(questions))]
        if name == "1k":
            ids = {a.id for a in articles_1k}
            pool = [q for q in questions if q[1] in ids]
        sample = random.sample(pool, min(n_questions, len(pool)))
        engine.ask(sample[0][0])  # warm caches
        timings = {"embed": [], "search": [], "read": [], "total": []}
        top1 = 0
        for q, aid in sample:
            ans = engine.ask(q)
            for k in timings:
                timings[k].append(ans.timings[k])
            top1 += any(s.article_id.split("-")[0] == aid for s in ans.sources)
        results["latency"][name] = {
            "passages": len(engine.store), "index_type": engine.store.manifest.index_type, "questions": len(sample),
            **{k: percentiles(v) for k, v in timings.items()},
            "gold_article_retrieved_pct": round(100 * top1 / len(sample), 1),
        }
        print(name, results["latency"][name], flush=True)


def bench_million(results: dict, n: int = 1_000_000, n_queries: int = 200) -> None:
    import faiss

    from qa.embedding import Embedder

    examples = load_squad(DATA)
    contexts = list(dict.fromkeys(ex.context for ex in examples))[:500]
    base = Embedder().embed(contexts)
    rng = np.random.default_rng(0)
    d = base.shape[1]

    def synth(count):
        # Mixtures of two real embeddings plus noise: clustered like real text, not copies of it.
        i, j = rng.integers(0, len(base), count), rng.integers(0, len(base), count)
        v = base[i] + 0.5 * base[j] + rng.normal(0, 0.05, (count, d)).astype(np.float32)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    xb = np.concatenate([synth(100_000) for _ in range(n // 100_000)])
    xq = synth(n_queries)
    out = {}
    flat = faiss.IndexFlatIP(d)
    t0 = time.perf_counter()
    flat.add(xb)
    build = time.perf_counter() - t0
    _, truth = flat.search(xq, 10)
    per = []
    for q in xq[:50]:
        t = time.perf_counter()
        flat.search(q[None], 10)
        per.append(time.perf_counter() - t)
    out["flat"] = {"build_seconds": round(build, 1), "memory_mb": round(xb.nbytes / 2**20), "query_ms": percentiles(per), "recall@10": 1.0}
    print("flat", out["flat"], flush=True)
    del flat
    hnsw = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 40
    t0 = time.perf_counter()
    hnsw.add(xb)
    build = time.perf_counter() - t0
    memory = faiss.serialize_index(hnsw).nbytes / 2**20
    out["hnsw"] = {"build_seconds": round(build, 1), "memory_mb": round(memory), "M": 32, "efConstruction": 40}
    for ef in (32, 64, 128, 256):
        hnsw.hnsw.efSearch = ef
        _, found = hnsw.search(xq, 10)
        recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth)])
        per = []
        for q in xq:
            t = time.perf_counter()
            hnsw.search(q[None], 10)
            per.append(time.perf_counter() - t)
        out["hnsw"][f"efSearch={ef}"] = {"query_ms": percentiles(per), "recall@10": round(float(recall), 3)}
        print("hnsw", ef, out["hnsw"][f"efSearch={ef}"], flush=True)
    results["million"] = {"vectors": n, "dimension": d, "queries": n_queries, **out}


def bench_startup(results: dict) -> None:
    """Seconds from starting `qa serve` (index already built) to the first answer over HTTP."""
    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = Path(tempfile.mkdtemp())
    subprocess.run([sys.executable, "-m", "qa.cli", "index", "--index", str(tmp / "index")], check=True, capture_output=True, cwd=ROOT)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--index", str(tmp / "index"), "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        while True:
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        up = time.perf_counter() - t0
        answer = Client(url, verbose=False).predict("Who is the NATO Secretary-General?", api_name="/ask")
        first = time.perf_counter() - t0
        t1 = time.perf_counter()
        Client(url, verbose=False).predict("Who is Russia's foreign minister?", api_name="/ask")
        second = time.perf_counter() - t1
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    results["startup"] = {"seconds_to_listening": round(up, 1), "seconds_to_first_answer": round(first, 1),
                          "first_answer": answer["answer"], "next_question_seconds_incl_client": round(second, 2)}
    print(results["startup"], flush=True)


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [f"# Benchmark results ({m['date']})", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, avx512_bf16: {m['avx512_bf16']}; "
             f"Python {m['python']}, torch {m['torch']}, faiss {m['faiss']}.", ""]
    if results.get("measured"):
        lines += ["Measured: " + "; ".join(f"{k} {v['date']} (commit {v['commit']})" for k, v in results["measured"].items()) + ".", ""]
    if "build" in results:
        b = results["build"]
        lines += ["## Index build", "", "| passages | words/passage | tokens/passage | seconds | passages/s | embedding GFLOP/s | incremental (1 article changed) |",
                  "|---|---|---|---|---|---|---|",
                  f"| {b['passages']} | {b['mean_words_per_passage']} | {b.get('mean_tokens_per_passage', '')} | {b['seconds']} | {b['passages_per_second']} "
                  f"| {b.get('achieved_gflop_per_second', '')} (peak ≈ {m.get('fp32_peak_gflops_estimate', '?')}) | {b['incremental_one_article_seconds']} s |", ""]
    if "latency" in results:
        lines += ["## Question latency (ms, p50 / p95)", "", "| corpus | index | embed | search | read | total | gold article retrieved |", "|---|---|---|---|---|---|---|"]
        for name, r in results["latency"].items():
            cell = lambda k: f"{r[k]['p50']} / {r[k]['p95']}"  # noqa: E731
            lines.append(f"| {r['passages']} passages | {r['index_type']} | {cell('embed')} | {cell('search')} | {cell('read')} | {cell('total')} | {r['gold_article_retrieved_pct']}% |")
        lines.append("")
    if "million" in results:
        r = results["million"]
        lines += [f"## Search at {r['vectors']:,} vectors (d={r['dimension']}, top-10, one query at a time)", "",
                  "| index | build s | memory MB | query ms p50 / p95 | recall@10 vs exact |", "|---|---|---|---|---|",
                  f"| flat (exact) | {r['flat']['build_seconds']} | {r['flat']['memory_mb']} | {r['flat']['query_ms']['p50']} / {r['flat']['query_ms']['p95']} | 1.0 |"]
        for k, v in r["hnsw"].items():
            if k.startswith("efSearch"):
                lines.append(f"| hnsw M=32 {k} | {r['hnsw']['build_seconds']} | {r['hnsw']['memory_mb']} | {v['query_ms']['p50']} / {v['query_ms']['p95']} | {v['recall@10']} |")
        lines.append("")
    if "startup" in results:
        s = results["startup"]
        lines += ["## Start-up", "", f"`qa serve` (index built) listening after {s['seconds_to_listening']} s; first answer "
                  f"(\"{s['first_answer']}\") after {s['seconds_to_first_answer']} s.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["build", "latency", "million", "startup"], action="append")
    ap.add_argument("--questions", type=int, default=100, help="questions per corpus for latency")
    ap.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work", help="scratch folder (not committed)")
    args = ap.parse_args()
    sections = args.only or ["build", "latency", "million", "startup"]
    args.work.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "latest.json"
    results = json.loads(path.read_text()) if path.exists() and args.only else {}
    results["machine"] = machine()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    runners = {"build": lambda: bench_build(args.work, results), "latency": lambda: bench_latency(args.work, results, args.questions),
               "million": lambda: bench_million(results), "startup": lambda: bench_startup(results)}
    for section in sections:
        runners[section]()
        # Sections can be rerun alone: each records the code it measured.
        results.setdefault("measured", {})[section] = {"date": time.strftime("%Y-%m-%d %H:%M"), "commit": commit}
    path.write_text(json.dumps(results, indent=2))
    (OUT / "latest.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
