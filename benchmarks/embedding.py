"""Embedding speed and retrieval quality, several inference paths side by side in one run.

Variants (each in its own worker process, so that backends needing other package versions can
run next to today's path; see ``--python-onnx`` / ``--python-openvino``):

    torch-fp32        today's path: transformers + mean pooling (qa.embedding, precision fp32)
    torch-bf16        the same under torch.autocast(bfloat16) (qa.embedding, precision bf16)
    torch-bf16-b64    bf16 with batches of 64
    onnx-fp32         sentence-transformers backend="onnx" (exported offline from the bundled model)
    onnx-int8         its dynamic int8 quantization (export_dynamic_quantized_onnx_model, avx512_vnni)
    openvino-fp32     sentence-transformers backend="openvino", INFERENCE_PRECISION_HINT=f32
    openvino-bf16     the same with OpenVINO's default precision on a bf16 CPU
    openvino-int8     static int8 (nncf.quantize, calibrated on 300 SQuAD *train* passages)

Speed: passages/s on chunked SQuAD train paragraphs (qa's own chunker, title + passage, ~123 tokens),
timed in interleaved rounds (variant A, B, C, ..., then again) because the 2 cores are shared;
the median round is reported with min/max and the load average. GFLOP/s counts only real tokens
(2 x weights per token + attention), so padding is not counted as useful work.

Quality: dense retrieval over the paragraphs (title + paragraph, as qa embeds a passage) of the first
``--articles`` validation-v1.1 articles; for every 3rd of their questions, recall@1/@3 of the gold
article (among the articles of the top 1/3 paragraphs) and, stricter, of the gold paragraph itself.
Also the mean cosine of each variant's paragraph vectors to torch-fp32's.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/embedding.py \
        --python-onnx /path/venv-onnx/bin/python --python-openvino /path/venv-ov/bin/python

Results: benchmarks/results/embedding.md / embedding.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SQUAD = ROOT.parent / "shared" / "data" / "squad"
OUT = ROOT / "benchmarks" / "results"
WORK = ROOT / "benchmarks" / "work" / "embedding"

VARIANTS = {  # name -> interpreter; "-t1": one thread (else all cores)
    "torch-fp32": "main",
    "torch-fp32-t1": "main",
    "torch-bf16-t1": "main",
    "torch-bf16-b64-t1": "main",
    "onnx-fp32-t1": "onnx",
    "onnx-int8-t1": "onnx",
    "openvino-fp32-t1": "openvino",
    "openvino-bf16-t1": "openvino",
    "openvino-int8-t1": "openvino",
}
QUALITY = "torch-fp32,torch-bf16-t1,onnx-int8-t1,openvino-bf16-t1,openvino-int8-t1"  # distinct numerics
DEFAULT = "torch-fp32,torch-fp32-t1,torch-bf16-t1,onnx-fp32-t1,onnx-int8-t1,openvino-fp32-t1,openvino-bf16-t1"


# ---------------------------------------------------------------- worker side


def _load(variant: str):
    """An object with ``embed(texts) -> np.ndarray`` (unit rows) for a variant."""
    import torch

    from qa.embedding import Embedder, resolve_embedding_model

    threads = 1 if variant.endswith("-t1") else (os.cpu_count() or 1)
    variant = variant.removesuffix("-t1")
    torch.set_num_threads(threads)
    if variant.startswith("torch"):
        e = Embedder(precision="bf16" if "bf16" in variant else "fp32", batch_size=64 if "b64" in variant else 32)
        e.warm_up()
        return e

    from sentence_transformers import SentenceTransformer

    src = resolve_embedding_model("all-MiniLM-L6-v2")
    backend = "onnx" if variant.startswith("onnx") else "openvino"
    folder = WORK / f"model-{backend}"
    if not folder.exists():  # export once, offline, from the bundled copy
        import shutil

        shutil.copytree(src, folder)
        SentenceTransformer(str(folder), backend=backend, device="cpu").save_pretrained(str(folder))
    kwargs: dict = {}
    if backend == "onnx":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        kwargs["session_options"] = options
    else:
        kwargs["ov_config"] = {"INFERENCE_NUM_THREADS": str(threads)}
    if variant == "onnx-int8":
        qfile = folder / "onnx" / "model_qint8_avx512_vnni.onnx"
        if not qfile.exists():
            from sentence_transformers import export_dynamic_quantized_onnx_model

            export_dynamic_quantized_onnx_model(SentenceTransformer(str(folder), backend="onnx"), "avx512_vnni", str(folder))
        kwargs["file_name"] = "onnx/model_qint8_avx512_vnni.onnx"
    elif backend == "onnx":
        kwargs["file_name"] = "onnx/model.onnx"
    if variant == "openvino-fp32":
        kwargs["ov_config"]["INFERENCE_PRECISION_HINT"] = "f32"
    model = SentenceTransformer(str(folder), backend=backend, device="cpu", model_kwargs=kwargs)
    if variant == "openvino-int8":
        _quantize_openvino(model)

    class Wrapped:
        def embed(self, texts: list[str]) -> np.ndarray:
            return model.encode(texts, batch_size=32, convert_to_numpy=True, normalize_embeddings=True).astype(np.float32)

    return Wrapped()


def _quantize_openvino(model) -> None:
    """Static int8 with nncf, calibrated on SQuAD train passages.

    sentence-transformers' export_static_quantized_openvino_model downloads GLUE for calibration;
    offline we hand nncf our own (train, never validation) texts instead.
    """
    import nncf

    ov = model[0].auto_model
    texts = _train_passages(300, offset=5000)
    samples = []
    for i in range(0, len(texts), 1):
        enc = model.tokenizer([texts[i]], truncation=True, max_length=256, return_tensors="np")
        samples.append({k: v for k, v in enc.items() if k in {i.get_any_name() for i in ov.model.inputs}})
    ov.model = nncf.quantize(ov.model, nncf.Dataset(samples), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(samples))
    ov.request = None
    ov.compile()


def worker(variant: str) -> None:
    """Answer the orchestrator's commands, one JSON line each: embed a file of texts, time it."""
    model = _load(variant)
    model.embed(["warm up"] * 4)
    print("@@" + json.dumps({"ready": variant}), flush=True)  # "@@": runtimes may print to stdout too
    for line in sys.stdin:
        cmd = json.loads(line)
        texts = json.loads(Path(cmd["texts"]).read_text())
        c0, t0 = time.process_time(), time.perf_counter()
        vectors = model.embed(texts)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if cmd.get("out"):
            np.save(cmd["out"], vectors)
        print("@@" + json.dumps({"seconds": seconds, "cpu_seconds": cpu}), flush=True)


# ---------------------------------------------------------------- orchestrator side


def _train_passages(n: int, offset: int = 0) -> list[str]:
    from qa.articles import Article
    from qa.chunking import chunk_article, search_text
    from qa.offline.squad import load_squad_articles

    out: list[str] = []
    for title, paragraphs in load_squad_articles(SQUAD / "train-v1.1.json"):
        for j, para in enumerate(paragraphs):
            for p in chunk_article(Article(f"{title}-{j}", title.replace("_", " "), para)):
                out.append(search_text(title.replace("_", " "), p))
        if len(out) >= n + offset:
            break
    return out[offset : offset + n]


def _validation(n_articles: int) -> tuple[list[str], list[int], list[int], list[str], list[int]]:
    """The paragraphs of the first validation-v1.1 articles as passages (title + paragraph), with their
    article numbers, and their questions (every 3rd) with the gold paragraph's number."""
    from qa.offline.squad import load_squad

    examples = load_squad(SQUAD / "validation-v1.1.json")
    texts, owner, index, articles = [], [], {}, {}
    for e in examples:
        if e.title not in articles and len(articles) == n_articles:
            continue
        articles.setdefault(e.title, len(articles))
        if e.context not in index:
            index[e.context] = len(texts)
            texts.append(f"{e.title.replace('_', ' ')}\n{e.context}")
            owner.append(articles[e.title])
    kept = [e for e in examples if e.context in index][::3]
    return texts, owner, [index[e.context] for e in kept], [e.question for e in kept], [articles[e.title] for e in kept]


def _flops(texts: list[str]) -> np.ndarray:
    """GFLOP per text counting real tokens only: 2 x (non-embedding) weights per token + attention."""
    from transformers import AutoConfig, AutoTokenizer

    from qa.embedding import resolve_embedding_model

    path = resolve_embedding_model("all-MiniLM-L6-v2")
    tok = AutoTokenizer.from_pretrained(path)
    cfg = AutoConfig.from_pretrained(path)
    tokens = np.array([len(t) for t in tok(texts, truncation=True, max_length=256)["input_ids"]])
    h, f, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    weights = layers * (4 * h * h + 2 * h * f)
    return (2 * weights * tokens + 4 * layers * h * tokens**2) / 1e9, tokens


def _padding_waste(tokens: np.ndarray, batch: int) -> float:
    """Share of computed positions that are padding when texts are length-sorted into batches."""
    s = np.sort(tokens)[::-1]
    computed = sum(int(s[i]) * len(s[i : i + batch]) for i in range(0, len(s), batch))
    return 1 - s.sum() / computed


def _reply(p: subprocess.Popen) -> str:
    """The worker's next reply line (without its marker), skipping anything else it printed; '' if it ended."""
    for line in p.stdout:
        if line.startswith("@@"):
            return line[2:]
    return ""


def _loadavg() -> float:
    return round(os.getloadavg()[0], 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--python-onnx", default=sys.executable, help="interpreter with optimum[onnxruntime]")
    ap.add_argument("--python-openvino", default=sys.executable, help="interpreter with optimum-intel[openvino]")
    ap.add_argument("--variants", default=DEFAULT, help=f"some of {', '.join(VARIANTS)}")
    ap.add_argument("--passages", type=int, default=512, help="passages per timed round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-quality", action="store_true")
    ap.add_argument("--quality-variants", default=QUALITY, help="variants whose retrieval quality is measured")
    ap.add_argument("--articles", type=int, default=15, help="validation articles whose paragraphs are indexed for quality")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker)

    WORK.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    pythons = {"main": sys.executable, "onnx": args.python_onnx, "openvino": args.python_openvino}
    variants = args.variants.split(",")
    speed_texts = _train_passages(args.passages)
    gflop, tokens = _flops(speed_texts)
    tmp = Path(tempfile.mkdtemp(dir=WORK))
    (tmp / "speed.json").write_text(json.dumps(speed_texts))
    results: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count(),
        "avx512_bf16": "avx512_bf16" in open("/proc/cpuinfo").read(),
        "passages_per_round": len(speed_texts), "mean_tokens": round(float(tokens.mean()), 1),
        "gflop_per_passage": round(float(gflop.mean()), 3),
        "padding_waste_sorted_batch32": round(_padding_waste(tokens, 32), 4),
        "load_before": _loadavg(), "variants": {},
    }
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    procs = {}
    for v in variants:  # loaded one after another (exports are CPU-heavy), kept alive for the rounds
        p = subprocess.Popen([pythons[VARIANTS[v]], __file__, "--worker", v], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        line = _reply(p)
        if not line:
            print(f"{v}: worker failed to start (see stderr above); skipped", flush=True)
            results["variants"][v] = {"error": "worker failed to start"}
            continue
        procs[v] = p
        print(f"{v}: ready", flush=True)

    def ask(v: str, cmd: dict) -> dict:
        procs[v].stdin.write(json.dumps(cmd) + "\n")
        procs[v].stdin.flush()
        line = _reply(procs[v])
        if not line:
            raise RuntimeError(f"{v}: worker died (see its stderr above)")
        return json.loads(line)

    times: dict[str, list[dict]] = {v: [] for v in procs}
    loads = []
    for r in range(args.rounds):
        for v in (list(procs) if r % 2 == 0 else list(procs)[::-1]):  # alternate the order: no fixed neighbour
            loads.append(_loadavg())
            times[v].append(ask(v, {"texts": str(tmp / "speed.json")}))
            t = times[v][-1]
            print(f"round {r} {v}: {len(speed_texts) / t['seconds']:.1f} passages/s wall, "
                  f"{len(speed_texts) / t['cpu_seconds']:.1f} per CPU-second (load {loads[-1]})", flush=True)
    n = len(speed_texts)
    for v in procs:
        rates = [n / t["seconds"] for t in times[v]]
        # Passages per CPU-second x the cores: what the machine would do if the process had both
        # cores to itself (the shared machine's wall clock mostly measures the other helpers' load).
        # A runtime that spin-waits (ONNX Runtime's threads do) is charged for it: conservative.
        per_cpu = [n / t["cpu_seconds"] for t in times[v]]
        cores = os.cpu_count() or 1
        results["variants"][v] = {
            "passages_per_second": round(statistics.median(rates), 1),
            "min": round(min(rates), 1), "max": round(max(rates), 1),
            "passages_per_cpu_second": round(statistics.median(per_cpu), 1),
            "dedicated_cores_estimate": round(cores * statistics.median(per_cpu), 1),
            "gflop_per_second_dedicated": round(cores * statistics.median(per_cpu) * float(gflop.mean()), 1),
        }
    results["load_during_rounds"] = {"min": min(loads), "max": max(loads)}

    if not args.no_quality:
        texts, owner, gold_passage, questions, gold = _validation(args.articles)
        (tmp / "passages.json").write_text(json.dumps(texts))
        (tmp / "questions.json").write_text(json.dumps(questions))
        owner_a, gold_a, gold_p = np.array(owner), np.array(gold), np.array(gold_passage)
        results["quality_set"] = {"passages (paragraphs)": len(texts), "articles": int(owner_a.max() + 1), "questions": len(questions)}
        reference = None
        for v in [v for v in procs if v in args.quality_variants.split(",")]:
            ask(v, {"texts": str(tmp / "passages.json"), "out": str(tmp / f"{v}-p.npy")})
            ask(v, {"texts": str(tmp / "questions.json"), "out": str(tmp / f"{v}-q.npy")})
            P, Q = np.load(tmp / f"{v}-p.npy"), np.load(tmp / f"{v}-q.npy")
            top = np.argsort(-(Q @ P.T), axis=1)[:, :3]
            found = owner_a[top] == gold_a[:, None]
            exact = top == gold_p[:, None]
            if reference is None:
                reference = P
            results["variants"][v].update(
                recall_at_1=round(100 * float(found[:, 0].mean()), 2),
                recall_at_3=round(100 * float(found.any(axis=1).mean()), 2),
                paragraph_recall_at_1=round(100 * float(exact[:, 0].mean()), 2),
                paragraph_recall_at_3=round(100 * float(exact.any(axis=1).mean()), 2),
                mean_cosine_to_first=round(float((P * reference).sum(1).mean()), 5),
            )
            print(v, results["variants"][v], flush=True)
    for p in procs.values():
        p.stdin.close()
        p.wait()
    results["load_after"] = _loadavg()
    (OUT / "embedding.json").write_text(json.dumps(results, indent=1))
    lines = [
        f"# Embedding paths, {results['date']} ({results['cores']} cores, avx512_bf16: {results['avx512_bf16']})", "",
        f"{results['passages_per_round']} passages per round, {results['mean_tokens']} tokens each on average "
        f"({results['gflop_per_passage']} GFLOP of real work); {args.rounds} interleaved rounds, median (min-max). "
        f"Load average {results['load_before']} before, {results['load_during_rounds']['min']}-"
        f"{results['load_during_rounds']['max']} during, {results['load_after']} after (the cores are shared).", "",
        "| variant | passages/s, wall (min-max) | passages per CPU-second | x cores = passages/s if alone | GFLOP/s if alone | article recall@1 / @3 | paragraph recall@1 / @3 | cosine to torch-fp32 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v, r in results["variants"].items():
        if "error" in r:
            lines.append(f"| {v} | {r['error']} | | | | | | |")
            continue
        lines.append(f"| {v} | {r['passages_per_second']} ({r['min']}-{r['max']}) | {r['passages_per_cpu_second']} | "
                     f"{r['dedicated_cores_estimate']} | {r['gflop_per_second_dedicated']} | "
                     f"{r.get('recall_at_1', '')} / {r.get('recall_at_3', '')} | {r.get('paragraph_recall_at_1', '')} / "
                     f"{r.get('paragraph_recall_at_3', '')} | {r.get('mean_cosine_to_first', '')} |")
    (OUT / "embedding.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
