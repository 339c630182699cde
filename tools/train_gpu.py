"""Train the reader on a GPU machine in one go, choose the epoch on validation, write split fp16 weights.

Run by ``tools/train_gpu.sh train`` on the device machine (see that script for the whole
procedure). Steps:

1. train ``--epochs`` passes from ``--init`` (the shipped reader) with the default
   "no answer" mix, on CUDA with bf16 autocast, an fp16 snapshot at each epoch's end,
   stopping in time (``--train-minutes``) if the machine is slower than expected;
2. score the starting reader and every snapshot on validation only: ``validation-v1.1``
   F1 (always answering, as the official v1.1 script does) and ``validation-v2.0`` F1
   at its best "no answer" threshold; choose the best mean of the two;
3. export the chosen weights as fp16 in parts of at most ``--split-mib`` MiB with a
   sha256 manifest, the small model files in one tar, the scores and the training log:
   at most 8 files, as the tool that brings files back allows.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tarfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The device machine has torch and transformers but not faiss, bm25s or gradio, which
# `qa/__init__.py` imports for the engine. Training and reading need none of them, so
# `qa` is registered as a bare package: its submodules import without running __init__.
_pkg = types.ModuleType("qa")
_pkg.__path__ = [str(ROOT / "qa")]
sys.modules.setdefault("qa", _pkg)

logger = logging.getLogger("train_gpu")


def device_reader(model, tokenizer, batch_size: int = 256):
    """A :class:`qa.reader.Reader` whose model runs on the GPU (bf16), decoding exactly as shipped.

    The Reader builds CPU tensors and reads CPU logits; the wrapper moves them across,
    so the spans and margins come from the same decoding code as in use.
    """
    import torch

    from qa.reader import Reader

    class OnDevice(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, **batch):
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=torch.cuda.is_available()):
                out = self.inner(**{k: v.to(self.inner.device) for k, v in batch.items()})
            return types.SimpleNamespace(start_logits=out.start_logits.float().cpu(), end_logits=out.end_logits.float().cpu())

    reader = Reader("", batch_size=batch_size)
    reader._tokenizer = tokenizer  # set before warm_up, which then loads nothing
    reader._model = OnDevice(model.eval())
    return reader


def validation_scores(reader, v11, v20) -> dict:
    """Validation F1s of one model: v1.1 always answering, v2.0 at its best threshold."""
    from qa.offline.evaluation import best_threshold, reader_margins
    from qa.offline.squad import evaluate

    m11 = reader_margins(reader, v11, show_progress=False, chunk=1024)
    s11 = evaluate(v11, {ex.qid: text for ex, (text, _) in zip(v11, m11)})
    m20 = reader_margins(reader, v20, show_progress=False, chunk=1024)
    threshold, f1_20 = best_threshold(v20, m20)
    s20 = evaluate(v20, {ex.qid: ("" if m < threshold else text) for ex, (text, m) in zip(v20, m20)})
    return {
        "v1.1_exact": round(s11["exact"], 2), "v1.1_f1": round(s11["f1"], 2),
        "v2.0_f1_best_threshold": round(f1_20, 2), "v2.0_threshold": round(threshold, 4),
        "v2.0_HasAns_f1": round(s20.get("HasAns_f1", 0.0), 2), "v2.0_NoAns_f1": round(s20.get("NoAns_f1", 0.0), 2),
        "select": round((s11["f1"] + f1_20) / 2, 2),
    }


def per_epoch_steps(work: Path) -> int:
    """Optimizer steps per epoch of the run in ``work``."""
    import numpy as np

    cfg = json.loads((work / "config.json").read_text())
    return -(-len(np.load(work / "features.npz")["start"]) // cfg["batch_size"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT / ".train-data", help="folder with squad/ and extra/ (.json or .json.xz)")
    ap.add_argument("--out", type=Path, required=True, help="where the files to bring back go")
    ap.add_argument("--init", type=Path, default=ROOT / "qa/models/reader", help="reader to continue from")
    ap.add_argument("--work", type=Path, default=Path("/tmp/reader-run"))
    ap.add_argument("--epochs", type=float, default=3.0)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--learning-rate", type=float, default=None)
    ap.add_argument("--negatives", default=None, help="default: the training default mix")
    ap.add_argument("--train-minutes", type=float, default=5.5, help="stop training after this long (resumable)")
    ap.add_argument("--split-mib", type=float, default=15.0, help="largest part; 15 leaves a margin under the 16 MiB cap")
    ap.add_argument("--allow-cpu", action="store_true", help="run without a GPU (a smoke test with a tiny model)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from qa.offline.squad import load_squad
    from qa.offline.training import TrainConfig, export, load_trained, train
    from qa.offline.training_data import DEFAULT_NEGATIVES, data_file, parse_negatives

    t0 = time.time()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    if not torch.cuda.is_available() and not args.allow_cpu:
        sys.exit("no CUDA GPU: this script is for the GPU machine (on a CPU use `qa train-reader`)")
    cfg = TrainConfig(
        base_model=str(args.init), init_from=str(args.init.relative_to(ROOT) if args.init.is_relative_to(ROOT) else args.init),
        data_dir=str(args.data), train_files=[str(data_file(args.data, "squad/train-v1.1.json"))],
        negatives=parse_negatives(args.negatives) if args.negatives is not None else list(DEFAULT_NEGATIVES),
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate,
        device="auto" if args.allow_cpu else "cuda",
    )
    train(cfg, args.work, time_limit_s=args.train_minutes * 60)
    train_s = time.time() - t0

    v11 = load_squad(data_file(args.data, "squad/validation-v1.1.json"))
    v20 = load_squad(data_file(args.data, "squad/validation-v2.0.json"))
    tokenizer = AutoTokenizer.from_pretrained(args.init)
    candidates: dict[str, Path | None] = {"init": None}
    candidates.update({p.stem: p for p in sorted(args.work.glob("epoch-*.safetensors"))})
    last_step = torch.load(args.work / "last.pt", map_location="cpu", weights_only=False)["step"]
    if last_step % per_epoch_steps(args.work):  # stopped inside an epoch (time limit): a candidate too
        candidates["last"] = args.work / "last.pt"
    scores = {}
    for name, weights in candidates.items():
        if name == "init":
            model = AutoModelForQuestionAnswering.from_pretrained(args.init, dtype=torch.float32)
        else:
            model = load_trained(args.work, weights if name != "last" else None)[0]
        model.to("cuda" if torch.cuda.is_available() else "cpu")
        scores[name] = validation_scores(device_reader(model, tokenizer), v11, v20)
        logger.info("%s: %s", name, scores[name])
        del model
    trained = {k: v for k, v in scores.items() if k != "init"}
    best = max(trained, key=lambda k: trained[k]["select"])
    result = {
        "chosen": best, "chosen_on": "mean of validation-v1.1 F1 and validation-v2.0 F1 at its best threshold",
        "better_than_init": trained[best]["select"] > scores["init"]["select"],
        "scores": scores, "train_seconds": round(train_s), "seconds": round(time.time() - t0),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "torch": torch.__version__,
        "config": json.loads((args.work / "config.json").read_text()),
    }
    export_dir = args.work / "export"
    export(args.work, export_dir, weights=candidates[best] if best != "last" else None, split_mib=args.split_mib,
           record_data_dir="../shared/data")
    for part in export_dir.glob("model.safetensors.part-*"):
        part.rename(out / part.name)
    (export_dir / "model.safetensors.parts.json").rename(out / "model.safetensors.parts.json")
    with tarfile.open(out / "reader-files.tar", "w") as tar:
        for f in sorted(export_dir.iterdir()):
            tar.add(f, arcname=f.name)
    (out / "validation.json").write_text(json.dumps(result, indent=2))
    (out / "train.log").write_bytes((args.work / "train.log").read_bytes())
    logger.info("chose %s (%s); %d files in %s after %.0f s", best, scores[best], len(list(out.iterdir())), out, time.time() - t0)


if __name__ == "__main__":
    main()
