"""Live check of the cache re-decision: Engine.ask on 20 cached questions (10 answerable, 10 not), index built as the
run did (`qa eval open --unindexed 0.5 --articles untrained`), compared with the 2-feature rule applied to the cached candidates.

Usage (repository root, ~2 minutes on CPU): PYTHONPATH=$PWD .venv/bin/python benchmarks/confidence_live_check.py
"""
import argparse

_ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
_ap.add_argument("--cache", default="runs/open-val-untrained-u50.jsonl",
                 help="the open-mode cache `qa eval open --cache` wrote (not committed: rerun it to make one)")
ARGS = _ap.parse_args()

import json, tempfile
from pathlib import Path
from qa.offline.evaluation import read_cache, load_squad, load_squad_articles, select_articles, held_out_articles, new_choice, _cosine
from qa.articles import Article
from qa.config import Config
from qa.engine import Engine
path = "../shared/data/squad/validation-v1.1.json"
settings, rows = read_cache(ARGS.cache)
all_articles = load_squad_articles(path); titles = [t for t, _ in all_articles]
held_out = held_out_articles(titles, 0.5, 13, [select_articles(titles, "untrained", "bundled")])
assert all((r["title"] not in held_out) == r["indexed"] for r in rows)
tmp = tempfile.mkdtemp(prefix="h9c-live-")
eng = Engine(Config.from_env(index_dir=tmp, reader_model="bundled", top_k=3))
eng.indexer().index([Article(id=t, title=t, text="\n\n".join(p), source=Path(path).name) for t, p in all_articles if t not in held_out])
eng.open(); eng.warm_up()
cal = eng.calibration; mc = eng.min_confidence
pick = [r for r in rows if r["indexed"]][:10] + [r for r in rows if not r["indexed"]][:10]
q = {ex.qid: ex.question for ex in load_squad(path)}
same = 0
for r in pick:
    c = new_choice(r["spans"]); p = cal.probability(c["margin"], _cosine(r, c)) if c else 0.0
    cache_answer = c["text"] if c and p >= mc else ""
    a = eng.ask(q[r["qid"]])
    ok = (a.answer or "") == cache_answer and abs(a.confidence - p) < 2e-3
    same += ok
    print(json.dumps({"qid": r["qid"], "indexed": r["indexed"], "engine": a.answer, "cache": cache_answer, "engine_conf": round(a.confidence, 4), "cache_conf": round(p, 4), "match": ok}))
print(f"{same}/{len(pick)} match")
