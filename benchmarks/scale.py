"""Past one machine: the local FAISS store vs Milvus Lite at 10k and 100k passages, and Ray vs local embedding.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/scale.py [--sizes 10000,100000] [--questions 200]

Corpus: SQuAD *train* paragraphs as articles (repeated under new ids to reach 100k passages),
chunked as qa chunks them: real text, so BM25 does real work. Vectors: the paragraphs the
questions come from (``--real`` of them) are embedded with the real model; every other passage
gets a synthetic vector, a real one mixed with noise (0.6 x real + 0.8 x random, normalized),
so that distractors look like passages rather than random points. Embedding 100k passages is
~1 hour on 2 cores, which is what the Ray section and benchmarks/embedding.py measure instead.

Measured per store and size:
    write     passages/s of ``create`` + ``write`` (batches of 500 articles) + ``publish``, vectors given
    open      seconds to open the store and load its search structures
    latency   p50 / p95 of one retrieval (question embedding + dense + BM25 + fusion + fetching
              the passages), the engine's top 3; the reader is the same for both stores and not included
    recall@3  the question's own paragraph among the articles of the 3 passages retrieved

Ray: the same ``--ray-passages`` passages embedded locally and on a local Ray (``RayEmbedder``,
``auto``), alternately, twice each; Ray's start-up reported apart.

Results: benchmarks/results/scale.md / scale.json. The 2 cores are shared with other work:
the load average is recorded with each section.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa.articles import Article  # noqa: E402
from qa.chunking import chunk_article, search_text  # noqa: E402
from qa.embedding import Embedder  # noqa: E402
from qa.retrieval import Retriever  # noqa: E402
from qa.offline.squad import load_squad  # noqa: E402
from qa.stores import ArticleRecord, PassageRecord, StoreSettings, content_hash, create_store, open_store  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "squad" / "train-v1.1.json"
OUT = ROOT / "benchmarks" / "results"
WORK = ROOT / "benchmarks" / "work" / "scale"


def lite_version() -> str:
    """Milvus Lite's version (2.5: its C++ engine; 3: pure Python), which the numbers depend on."""
    from importlib.metadata import version

    return version("milvus-lite")


def cpu_seconds() -> float:
    """CPU time of this process and its live children (Milvus Lite 2.5 runs its engine in one).

    Read from /proc (Linux), rather than adding psutil to the project for one benchmark column.
    """
    total = time.process_time()
    me, tick = os.getpid(), os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended
            continue
        if int(fields[1]) == me:  # ppid; then utime and stime are fields 14 and 15 of the whole line
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def load() -> float:
    return round(os.getloadavg()[0], 2)


def paragraphs() -> list[tuple[str, str, str]]:
    """(title, paragraph, first question) of every SQuAD train paragraph, in file order."""
    seen: dict[str, tuple[str, str, str]] = {}
    for ex in load_squad(DATA):
        seen.setdefault(ex.context, (ex.title.replace("_", " "), ex.context, ex.question))
    return list(seen.values())


def corpus(n_passages: int, paras: list, real: dict[str, np.ndarray], embedder: Embedder, rng) -> list[ArticleRecord]:
    """Articles (one per paragraph, repeated under new ids) with passages and vectors, about n_passages in all."""
    model = embedder.model_name
    records, count, copy = [], 0, 0
    pool = np.stack(list(real.values()))
    while count < n_passages:
        for i, (title, text, _) in enumerate(paras):
            a = Article(f"p{i:05d}-{copy}", title, text, "2020-01-01", f"p{i:05d}.txt")
            recs = []
            for p in chunk_article(a):
                t = search_text(title, p)
                if copy == 0 and t in real:
                    v = real[t]
                else:
                    noise = rng.normal(size=pool.shape[1]).astype(np.float32)
                    v = 0.6 * pool[rng.integers(len(pool))] + 0.8 * noise / np.linalg.norm(noise)
                    v /= np.linalg.norm(v)
                recs.append(PassageRecord(p, t, content_hash(t, model), v.astype(np.float32)))
            records.append(ArticleRecord(a, recs))
            count += len(recs)
            if count >= n_passages:
                break
        copy += 1
    return records


def bench_store(location, records, embedder, questions, settings) -> dict:
    t0 = time.perf_counter()
    store = create_store(location, settings)
    for i in range(0, len(records), 500):
        store.write(records[i : i + 500])
    store.publish()
    store.close()
    write_s = time.perf_counter() - t0
    n = sum(len(r.passages) for r in records)
    t0 = time.perf_counter()
    store = open_store(location, embedder.model_name)
    store.warm_up()
    open_s = time.perf_counter() - t0
    retriever = Retriever(store, embedder)
    times, cpu, found = [], [], []
    retriever.run("warm up question", 3)
    for q, gold in questions:
        c0, t0 = cpu_seconds(), time.perf_counter()
        hits = retriever.run(q, 3)
        times.append(time.perf_counter() - t0)
        cpu.append(cpu_seconds() - c0)
        found.append(any(h.source.article_id.split("-")[0] == gold for h in hits))
    stats = store.stats()
    store.close()
    ms = np.array(times) * 1000
    return {
        "passages": n, "write_seconds": round(write_s, 1), "write_passages_per_second": round(n / write_s, 1),
        "open_seconds": round(open_s, 2), "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        # CPU time per question of this process and its children (Milvus Lite's engine runs in one):
        # what a question costs, less sensitive than the wall clock to the shared machine's load.
        "cpu_p50_ms": round(float(np.percentile(np.array(cpu) * 1000, 50)), 1),
        "cpu_p95_ms": round(float(np.percentile(np.array(cpu) * 1000, 95)), 1), "recall_at_3": round(100 * float(np.mean(found)), 2),
        "index_type": stats.index_type, "load": load(),
    }


def bench_ray(embedder: Embedder, texts: list[str], actor_cpus: int) -> dict:
    from qa.embedding_ray import RayEmbedder, connect

    t0 = time.perf_counter()
    connect("auto")
    start = time.perf_counter() - t0
    on_ray = RayEmbedder(embedder, "auto", actor_cpus=actor_cpus)
    on_ray.embed(texts[:64])  # actor start-up and model load, once
    local_t, ray_t, loads = [], [], []
    for _ in range(2):
        loads.append(load())
        t0 = time.perf_counter()
        a = embedder.embed(texts)
        local_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = on_ray.embed(texts)
        ray_t.append(time.perf_counter() - t0)
    local_rate, ray_rate = len(texts) / statistics.median(local_t), len(texts) / statistics.median(ray_t)
    return {
        "passages": len(texts), "ray_init_seconds": round(start, 1),
        "local_passages_per_second": round(local_rate, 2), "ray_passages_per_second": round(ray_rate, 2),
        "ray_vs_local": round(ray_rate / local_rate, 3), "max_abs_difference": float(np.abs(a - b).max()),
        "local_runs_s": [round(t, 1) for t in local_t], "ray_runs_s": [round(t, 1) for t in ray_t],
        "ray_actors": max(1, (os.cpu_count() or 1) // actor_cpus), "threads_per_actor": actor_cpus, "load": loads, "precision": embedder.precision,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--real", type=int, default=200, help="paragraphs embedded with the real model (the questions' own)")
    ap.add_argument("--ray-passages", type=int, default=96)
    ap.add_argument("--actor-cpus", type=int, default=1, help="CPUs (torch threads) per Ray actor")
    ap.add_argument("--only", choices=["stores", "ray"])
    ap.add_argument("--results", default="scale.json", help="file under benchmarks/results (merged into, so sections can run apart)")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    results_file = OUT / args.results
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    embedder = Embedder()
    embedder.warm_up()
    results["embedding_precision"] = embedder.precision  # of the question embedding in the store section
    paras = paragraphs()
    rng = np.random.default_rng(0)
    step = max(1, 10_000 // (args.real * 3))  # spread the real ones over the first 10k passages
    chosen = list(range(0, step * args.real, step))[: args.real]
    if args.only != "ray":
        texts = []
        for i in chosen:
            title, text, _ = paras[i]
            texts += [search_text(title, p) for p in chunk_article(Article(f"p{i:05d}-0", title, text))]
        cache = WORK / f"real-{args.real}.npz"
        if cache.exists() and list(np.load(cache)["texts"]) == texts:
            vectors = np.load(cache)["vectors"]
        else:
            t0 = time.perf_counter()
            vectors = embedder.embed(texts, show_progress=True)
            print(f"embedded {len(texts)} real passages in {time.perf_counter() - t0:.0f} s", flush=True)
            np.savez(cache, texts=np.array(texts), vectors=vectors)
        real = dict(zip(texts, vectors))
        questions = [(paras[i][2], f"p{i:05d}") for i in chosen][: args.questions]
        settings = lambda: StoreSettings(embedder.model_name, embedder.dimension, {}, "auto")  # noqa: E731
        for size in [int(s) for s in args.sizes.split(",")]:
            records = corpus(size, paras, real, embedder, rng)
            for name in ("local", f"milvus-lite-{lite_version()}"):
                where = WORK / f"{name}-{size}"
                shutil.rmtree(where, ignore_errors=True)
                location = str(where) if name == "local" else f"milvus://{where}/index.db"
                print(f"{name} {size}: building (load {load()})", flush=True)
                r = bench_store(location, records, embedder, questions, settings())
                r["measured"] = time.strftime("%Y-%m-%d %H:%M")
                results.setdefault("stores", {})[f"{name}-{size}"] = r
                print(name, size, r, flush=True)
                results_file.write_text(json.dumps(results, indent=1))
    if args.only != "stores":
        texts = []
        for t, x, _ in paras[2000:]:  # paragraphs no store section uses, as many as asked for
            texts += [search_text(t, p) for p in chunk_article(Article("x", t, x))]
            if len(texts) >= args.ray_passages:
                break
        texts = texts[: args.ray_passages]
        r = bench_ray(embedder, texts, args.actor_cpus)
        r["measured"] = time.strftime("%Y-%m-%d %H:%M")
        results["ray"] = r
        print("ray", r, flush=True)
    results_file.write_text(json.dumps(results, indent=1))
    merged = {}
    for f in sorted(OUT.glob("scale*.json")):  # sections run apart land in one table
        section = json.loads(f.read_text())
        merged.update({k: v for k, v in section.items() if k not in ("stores", "embedding_precision", "ray")})
        if "ray" in section:  # one line per Ray setting measured (one file each)
            merged.setdefault("rays", []).append(section["ray"])
        merged.setdefault("stores", {}).update(section.get("stores", {}))
    write_markdown(merged)


def write_markdown(results: dict) -> None:
    lines = ["# Scale: local FAISS store vs Milvus Lite, Ray vs local embedding", "",
             "2 shared cores (load average in the last column). Text real (SQuAD train), vectors: real for the",
             "questions' paragraphs, synthetic elsewhere (see benchmarks/scale.py). Latency: one retrieval (embed the",
             "question, dense + BM25, fuse, fetch 3 passages), reader not included.", "",
             "| store | passages | write passages/s | open s | p50 ms | p95 ms | CPU p50 ms | CPU p95 ms | recall@3 | load |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key, r in results.get("stores", {}).items():
        lines.append(f"| {key.rsplit('-', 1)[0]} | {r['passages']} | {r['write_passages_per_second']} | {r['open_seconds']} | "
                     f"{r['p50_ms']} | {r['p95_ms']} | {r.get('cpu_p50_ms', '')} | {r.get('cpu_p95_ms', '')} | {r['recall_at_3']} | {r['load']} |")
    for r in results.get("rays", []):
        lines += ["", f"Ray ({r['ray_actors']} actor x {r['threads_per_actor']} threads, local Ray on this machine) vs local "
                  f"embedding of {r['passages']} passages ({r.get('precision')}): local {r['local_passages_per_second']}/s, "
                  f"Ray {r['ray_passages_per_second']}/s (ratio {r['ray_vs_local']}); ray.init {r['ray_init_seconds']} s; "
                  f"max |difference| {r['max_abs_difference']:.1e}; load {r['load']}."]
    (OUT / "scale.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
