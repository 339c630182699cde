"""One reader training step on the CPU, fp32 against bf16 autocast: is --cpu-bf16 worth it here?

Run from the repository root: ``.venv/bin/python benchmarks/train_step.py``. Prints CPU seconds
(all threads) and wall seconds per step of 16 windows x 170 tokens (about the training mean), as
two alternating rounds of 3 steps after a warm-up step, so one busy moment does not decide it.
CPU seconds are the fairer number on a shared machine.
"""

import argparse
import json
import time
from pathlib import Path

import torch
from transformers import AutoModelForQuestionAnswering

from qa.precision import cpu_has_bf16

READER = Path(__file__).resolve().parent.parent / "qa" / "models" / "reader"


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()  # --help says what it does
    torch.manual_seed(0)
    model = AutoModelForQuestionAnswering.from_pretrained(READER, dtype=torch.float32)
    model.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    ids = torch.randint(1000, 30000, (16, 170))
    token_types = torch.zeros_like(ids)
    token_types[:, 20:] = 1
    batch = {"input_ids": ids, "token_type_ids": token_types, "attention_mask": torch.ones_like(ids),
             "start_positions": torch.full((16,), 30), "end_positions": torch.full((16,), 32)}

    def step(bf16: bool) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()

    rounds: dict[str, list[dict]] = {"fp32": [], "bf16": []}
    for bf16 in (False, True, False, True):
        step(bf16)
        cpu, wall = time.process_time(), time.time()
        for _ in range(3):
            step(bf16)
        rounds["bf16" if bf16 else "fp32"].append(
            {"cpu_s": round((time.process_time() - cpu) / 3, 2), "wall_s": round((time.time() - wall) / 3, 2)})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "cpu_has_bf16": cpu_has_bf16(), "per_step": rounds}, indent=2))


if __name__ == "__main__":
    main()
