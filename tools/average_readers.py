"""Average the weights of readers of the same architecture (a "model soup").

    .venv/bin/python tools/average_readers.py OUT READER_DIR [READER_DIR ...] [--weights 0.5,0.5]

OUT gets the first reader's files (tokenizer, config, training record), its weights replaced by
the weighted mean of all the readers' weights (fp16, as shipped), and a training record that
names what was averaged. Readers fine-tuned from one another lie in one basin of the loss, where
the average is often better than either end; whether it is, is for validation to say
(`qa eval reader`, `qa eval calibrate`).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("readers", nargs="+")
    ap.add_argument("--weights", help="comma-separated, one per reader (default: equal)")
    args = ap.parse_args()
    weights = [float(w) for w in args.weights.split(",")] if args.weights else [1.0] * len(args.readers)
    if len(weights) != len(args.readers):
        ap.error("give one weight per reader")
    total = sum(weights)
    states = [load_file(str(Path(r) / "model.safetensors")) for r in args.readers]
    if any(s.keys() != states[0].keys() for s in states):
        ap.error("the readers' weights have different tensors: not the same architecture")
    mean = {k: sum(w / total * s[k].float() for w, s in zip(weights, states)).to(torch.float16) for k in states[0]}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for f in Path(args.readers[0]).iterdir():
        if f.is_file() and f.name not in ("model.safetensors", "qa_reader.json", "reliability.png", "README.md"):
            shutil.copy2(f, out / f.name)
    save_file(mean, str(out / "model.safetensors"), metadata={"format": "pt"})
    # Each reader's own record: what the average has seen is what any of them saw (qa.offline.evaluation.trained_titles).
    records = [json.loads((Path(r) / "training.json").read_text()) if (Path(r) / "training.json").exists() else {} for r in args.readers]
    record = {"base_model": records[0].get("base_model"), "averaged": {
        "weights": [w / total for w in weights], "readers": [{"path": r, "training": t} for r, t in zip(args.readers, records)]}}
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}: the mean of {len(states)} readers")


if __name__ == "__main__":
    main()
