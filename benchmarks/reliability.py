"""Draw the reliability diagram of the engine's confidence from a `qa eval fit-confidence` result.

Usage (from the repository root; matplotlib comes with the `eval` extra: pip install -e '.[eval]'):

    .venv/bin/python benchmarks/reliability.py benchmarks/results/eval/confidence-validation-v1.1.json \
        qa/models/reader/reliability.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def draw(result: dict, out: Path) -> None:
    """Bars: share right per confidence bin (answers shown, reporting articles), for each rule; the diagonal is perfect."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report = result["report"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6), sharey=True)
    for ax, when, title in ((axes[0], "original", "original: sigmoid(margin − 0.82)"),
                            (axes[1], "before", "before: Platt on the margin, decline by margin"),
                            (axes[2], "after", "after: logistic on margin + passage cosine,\ndecline by probability")):
        r = report[when]
        bins = r["reliability_shown"]
        ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect calibration")
        ax.bar([b["lo"] for b in bins], [b["accuracy"] for b in bins], width=0.1, align="edge",
               edgecolor="black", color="#4c72b0", alpha=0.8, label="share right (F1 ≥ 0.5)")
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o", color="#dd8452", label="bin: mean confidence vs share right")
        for b in bins:
            ax.text(b["lo"] + 0.05, min(b["accuracy"] + 0.02, 0.97), str(b["count"]), ha="center", fontsize=7)
        ax.set_title(f"{title}\nECE {r['ece_shown']:.3f} on {r['shown']} answers shown", fontsize=10)
        ax.set_xlabel("confidence shown")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("share of answers right")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(f"Open mode, validation-v1.1 reporting articles ({result['report_questions']} questions, "
                 f"half of the articles not indexed); numbers: answers per bin", fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", type=Path, help="JSON written by `qa eval fit-confidence -o`")
    parser.add_argument("out", type=Path, help="PNG to write")
    args = parser.parse_args()
    draw(json.loads(args.result.read_text()), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
