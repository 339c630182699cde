"""Cross-check of the 2-feature confidence (margin + passage cosine) against the margin alone, on an open-mode cache.

Not what ships (`qa eval fit-confidence` fits on the fitting half only): this swaps the halves
(fit on the reporting half, report on the fitting half) to see whether the chosen probability
threshold transfers, and compares the two rules' best F1 at equal false-answer caps on each half
(thresholds picked on the half itself: a comparison of trade-off curves, not a shippable number).

Usage (repository root): PYTHONPATH=$PWD .venv/bin/python benchmarks/confidence_cross_check.py \
    > benchmarks/results/eval/confidence-2feature-robustness.txt
"""
import argparse

_ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
_ap.add_argument("--cache", default="runs/open-val-untrained-u50.jsonl",
                 help="the open-mode cache `qa eval open --cache` wrote (not committed: rerun it to make one)")
ARGS = _ap.parse_args()


import numpy as np
from qa.offline.evaluation import read_cache, calibration_split, load_squad_articles, new_choice, choose_threshold, score
from qa.answers import fit_logistic
s, rows = read_cache(ARGS.cache)
titles=[t for t,_ in load_squad_articles("../shared/data/squad/validation-v1.1.json")]
a, b = calibration_split(titles, rows)
def dec(rs):
    out=[]
    for r in rs:
        c=new_choice(r["spans"])
        out.append({**r,"choice":c["text"] if c else "","margin":c["margin"] if c else -np.inf,"cos":r["sources"][c["passage"]][2] if c else 0.0})
    return out
for fl, rl, name in ((set(b), set(a), "fit on reporting half, report on fitting half"),):
    fit=dec([r for r in rows if r["title"] in fl]); rep=dec([r for r in rows if r["title"] in rl])
    fc=[r for r in fit if np.isfinite(r["margin"])]; y=[score(r["choice"],r["answers"])[1]>=0.5 for r in fc]
    cal=fit_logistic([r["margin"] for r in fc],[r["cos"] for r in fc],y)
    p=lambda r: cal.probability(r["margin"], r["cos"])
    t=choose_threshold([p(r) for r in fit], fit, 0.04); tm=choose_threshold([r["margin"] for r in fit], fit, 0.04)
    def ev(rs, ok):
        ins=[r for r in rs if r["indexed"]]; out=[r for r in rs if not r["indexed"]]
        return round(np.mean([score(r["choice"],r["answers"])[1] if r["choice"] and ok(r) else 0 for r in ins])*100,2), round(np.mean([bool(r["choice"]) and ok(r) for r in out])*100,2)
    print(name, cal, "t", round(t,4), "tm", tm)
    print(" 2-feature:", ev(rep, lambda r: p(r)>=t), " margin-only:", ev(rep, lambda r: r["margin"]>=tm))

# Trade-off curves: best F1 at each false-answer cap, on each half, with the model fitted on the other half.
for fl, rl, name in ((set(a), set(b), "report half (fit on fit half)"), (set(b), set(a), "fit half (fit on report half)")):
    fit=dec([r for r in rows if r["title"] in fl]); rep=dec([r for r in rows if r["title"] in rl])
    fc=[r for r in fit if np.isfinite(r["margin"])]; y=[score(r["choice"],r["answers"])[1]>=0.5 for r in fc]
    cal=fit_logistic([r["margin"] for r in fc],[r["cos"] for r in fc],y)
    p=lambda r: cal.probability(r["margin"], r["cos"])
    for cap in (0.02, 0.03, 0.04, 0.05, 0.06):
        tp=choose_threshold([p(r) for r in rep], rep, cap); tm=choose_threshold([r["margin"] for r in rep], rep, cap)
        ins=[r for r in rep if r["indexed"]]
        f=lambda ok: round(np.mean([score(r["choice"],r["answers"])[1] if r["choice"] and ok(r) else 0 for r in ins])*100,2)
        print(name, "cap", cap, "2-feature F1", f(lambda r: p(r)>=tp), "margin F1", f(lambda r: r["margin"]>=tm))
