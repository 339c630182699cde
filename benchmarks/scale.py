"""Past one machine: the local FAISS store vs Milvus Lite at 10k and 100k passages, and Ray vs local embedding.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/scale.py [--sizes 10000,100000] [--questions 200]
    PYTHONPATH=$PWD .venv/bin/python benchmarks/scale.py --only stores --stores milvus --sizes 300000 \
        --questions 60 --results scale-milvus.json --markdown scale-milvus.md     # Milvus Lite alone, larger

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
    parts     p50 / p95 of the search alone (no question embedding), of dense search alone and of
              keyword search alone (20 candidates each, the vectors embedded beforehand)
    memory    RSS (and peak) of Milvus Lite's engine, a child process, after opening and after the
              questions; disk: the store's folder

Ray: the same ``--ray-passages`` passages embedded locally and on a local Ray (``RayEmbedder``,
``auto``), alternately, twice each; Ray's start-up reported apart.

Results: benchmarks/results/scale.md / scale.json. The 2 cores are shared with other work:
the load average is recorded with each section, and before each timed phase the run waits (up to
``--quiet-wait`` seconds) for the load average to fall below ``--quiet-load``.
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


QUIET = {"load": 0.0, "wait": 0.0}  # set from --quiet-load / --quiet-wait (0: do not wait)


def wait_quiet(phase: str) -> dict:
    """Wait until the 1-minute load average is below QUIET["load"] or QUIET["wait"] seconds passed;
    the load average it starts at and the seconds waited, for the record."""
    t0 = time.perf_counter()
    while QUIET["load"] and load() >= QUIET["load"] and time.perf_counter() - t0 < QUIET["wait"]:
        time.sleep(10)
    waited = time.perf_counter() - t0
    if waited > 1:
        print(f"  {phase}: waited {waited:.0f} s for load {load()}", flush=True)
    return {"load": load(), "waited_s": round(waited)}


def children_memory() -> dict:
    """RSS and peak RSS (VmHWM) in MB of this process's child processes (Milvus Lite 2.5's engine), from /proc."""
    me, out = os.getpid(), {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, fields = stat.read_text().rsplit(")", 1)
            if int(fields.split()[1]) != me:
                continue
            status = dict(line.split(":", 1) for line in (stat.parent / "status").read_text().splitlines() if ":" in line)
        except (OSError, ValueError):  # the process ended
            continue
        out[head.split("(", 1)[1]] = {name: round(int(status.get(key, "0 kB").split()[0]) / 1024, 1) for name, key in
                                      (("rss_mb", "VmRSS"), ("peak_rss_mb", "VmHWM"), ("anon_mb", "RssAnon"), ("file_mb", "RssFile"))}
    return out


def disk_mb(where: Path) -> float:
    return round(sum(f.stat().st_size for f in where.rglob("*") if f.is_file()) / 2**20, 1)


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


def milvus_insert(store, batch) -> None:
    """A fresh build's rows written into Milvus with plain inserts, as qa's ``write`` lays them out.

    qa's ``write`` upserts (a rewrite must replace rows), and Milvus Lite 2.5's upsert costs more the
    larger the collection (1.3 s per 700 passages at 300k against 0.17 s at 5k; an insert 0.12-0.20 s at
    both): its build slows as it grows. With ``--milvus-insert`` the large sizes are built this way so that
    opening and searching them can be measured; the write rate is then not qa's.
    """
    from qa.stores.milvus import PAGE, PART_CHARS, _article_row, _part_key, _passage_row

    passages, articles = [], []
    for rec in batch:
        a = rec.article
        parts = [a.text[i : i + PART_CHARS] for i in range(0, len(a.text), PART_CHARS)] or [""]
        articles += [_article_row(_part_key(a.id, n), a.id, n, a, part, len(parts)) for n, part in enumerate(parts)]
        passages += [_passage_row(p, np.asarray(p.vector, np.float32).reshape(-1)) for p in rec.passages]
    for name, rows in ((store._passages, passages), (store._articles, articles)):
        for i in range(0, len(rows), PAGE):
            store._client.insert(name, rows[i : i + PAGE])


def bench_store(location, records, embedder, questions, settings, insert: bool = False) -> dict:
    n = sum(len(r.passages) for r in records)
    loads = {"write": wait_quiet("write")}
    t0 = time.perf_counter()
    store = create_store(location, settings)
    done, report = 0, 100_000
    for i in range(0, len(records), 500):
        if insert:
            milvus_insert(store, records[i : i + 500])
        else:
            store.write(records[i : i + 500])
        done += sum(len(r.passages) for r in records[i : i + 500])
        if done >= report:  # the rate as it goes, to judge whether a larger size is worth writing
            print(f"  {done} passages written, {done / (time.perf_counter() - t0):.0f}/s (load {load()})", flush=True)
            report += 100_000
    if insert:
        store._version += 1
        store._write_settings()
    store.publish()
    memory_write = children_memory()  # the engine that wrote (peak: over the build)
    store.close()
    write_s = time.perf_counter() - t0
    loads["write"]["end"] = load()
    loads["open"] = wait_quiet("open")
    t0 = time.perf_counter()
    store = open_store(location, embedder.model_name)
    store.warm_up()
    open_s = time.perf_counter() - t0
    memory_open = children_memory()
    retriever = Retriever(store, embedder)
    times, search, cpu, found = [], [], [], []
    retriever.run("warm up question", 3)
    loads["questions"] = wait_quiet("questions")
    for q, gold in questions:
        c0, t0 = cpu_seconds(), time.perf_counter()
        timings: dict[str, float] = {}
        hits = retriever.run(q, 3, timings=timings)
        times.append(time.perf_counter() - t0)
        search.append(timings["search"])
        cpu.append(cpu_seconds() - c0)
        found.append(any(h.source.article_id.split("-")[0] == gold for h in hits))
    loads["questions"]["end"] = load()
    # Dense and keyword search apart, with the questions' vectors embedded beforehand (20 candidates, as the retriever's pool).
    vectors = embedder.embed([q for q, _ in questions])
    dense, keyword = [], []
    for (q, _), v in zip(questions, vectors):
        t0 = time.perf_counter()
        store.dense_search(v, 20)
        t1 = time.perf_counter()
        store.keyword_search(q, 20)
        dense.append(t1 - t0)
        keyword.append(time.perf_counter() - t1)
    memory_end = children_memory()
    stats = store.stats()
    store.close()
    ms = np.array(times) * 1000

    def pct(xs: list[float], p: int) -> float:
        return round(float(np.percentile(np.array(xs) * 1000, p)), 1)

    return {
        "passages": n, "write_seconds": round(write_s, 1), "write_passages_per_second": round(n / write_s, 1),
        "open_seconds": round(open_s, 2), "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        # CPU time per question of this process and its children (Milvus Lite's engine runs in one):
        # what a question costs, less sensitive than the wall clock to the shared machine's load.
        "cpu_p50_ms": round(float(np.percentile(np.array(cpu) * 1000, 50)), 1),
        "cpu_p95_ms": round(float(np.percentile(np.array(cpu) * 1000, 95)), 1), "recall_at_3": round(100 * float(np.mean(found)), 2),
        "search_p50_ms": pct(search, 50), "search_p95_ms": pct(search, 95), "dense_p50_ms": pct(dense, 50),
        "dense_p95_ms": pct(dense, 95), "keyword_p50_ms": pct(keyword, 50), "keyword_p95_ms": pct(keyword, 95),
        "children_memory_write": memory_write, "children_memory_open": memory_open, "children_memory_end": memory_end,
        "index_type": stats.index_type, "load": load(), "loads": loads,
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
    ap.add_argument("--stores", default="local,milvus", help="which stores the store section measures: local, milvus or both")
    ap.add_argument("--milvus-insert", action="store_true",
                    help="build Milvus with plain inserts instead of qa's write (upserts, slower the larger the collection in "
                         "Milvus Lite 2.5): to measure opening and search at sizes qa's write takes hours for; results as milvus-lite-*-insert")
    ap.add_argument("--results", default="scale.json", help="file under benchmarks/results (merged into, so sections can run apart)")
    ap.add_argument("--markdown", default="scale.md",
                    help=("file under benchmarks/results for the table: scale.md (the default) merges every scale*.json; "
                          "another name gets this run's results file alone"))
    ap.add_argument("--quiet-load", type=float, default=0.0,
                    help="before each timed phase wait until the load average is below this (0: do not wait)")
    ap.add_argument("--quiet-wait", type=float, default=300.0, help="...but at most this many seconds")
    args = ap.parse_args()
    QUIET.update(load=args.quiet_load, wait=args.quiet_wait)
    kinds = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not kinds or set(kinds) - {"local", "milvus"}:
        ap.error("--stores takes local, milvus or local,milvus")
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
            lite = f"milvus-lite-{lite_version()}" + ("-insert" if args.milvus_insert else "")
            for name in ["local"] * ("local" in kinds) + [lite] * ("milvus" in kinds):
                where = WORK / f"{name}-{size}"
                shutil.rmtree(where, ignore_errors=True)
                location = str(where) if name == "local" else f"milvus://{where}/index.db"
                print(f"{name} {size}: building (load {load()})", flush=True)
                r = bench_store(location, records, embedder, questions, settings(), insert=name != "local" and args.milvus_insert)
                r["write_path"] = "insert" if name != "local" and args.milvus_insert else "qa write"
                r["disk_mb"] = disk_mb(where)
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
    for f in sorted(OUT.glob("scale*.json")) if args.markdown == "scale.md" else [results_file]:  # sections run apart land in one table
        section = json.loads(f.read_text())
        merged.update({k: v for k, v in section.items() if k not in ("stores", "embedding_precision", "ray")})
        if "ray" in section:  # one line per Ray setting measured (one file each)
            merged.setdefault("rays", []).append(section["ray"])
        merged.setdefault("stores", {}).update(section.get("stores", {}))
    write_markdown(merged, OUT / args.markdown)


def write_markdown(results: dict, path: Path = OUT / "scale.md") -> None:
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
    measured = {k: r for k, r in results.get("stores", {}).items() if "search_p50_ms" in r}
    if measured:  # the columns added since (parts of a search, memory, disk), for the rows that have them
        lines += ["", ("Parts and memory (search: without the question embedding; dense / keyword: 20 candidates each; "
                       "engine: Milvus Lite's child process, RSS after opening / after the questions (peak); load: before "
                       "write / open / questions):"), "",
                  "| store | passages | search p50 / p95 ms | dense p50 / p95 ms | keyword p50 / p95 ms | engine RSS MB | disk MB | load |",
                  "|---|---|---|---|---|---|---|---|"]

        def rss(m: dict) -> str:
            return "+".join(str(c["rss_mb"]) for c in m.values()) or "-"

        for key, r in measured.items():
            peak = "+".join(str(c["peak_rss_mb"]) for c in r["children_memory_end"].values()) or "-"
            phases = " / ".join(str(r["loads"][p]["load"]) for p in ("write", "open", "questions"))
            lines.append(f"| {key.rsplit('-', 1)[0]} | {r['passages']} | {r['search_p50_ms']} / {r['search_p95_ms']} | "
                         f"{r['dense_p50_ms']} / {r['dense_p95_ms']} | {r['keyword_p50_ms']} / {r['keyword_p95_ms']} | "
                         f"{rss(r['children_memory_open'])} / {rss(r['children_memory_end'])} ({peak}) | "
                         f"{r.get('disk_mb', '')} | {phases} |")
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
