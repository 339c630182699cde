"""Where and how a training run computes: device, precision, batch size, learning rate.

The choice is a pure function of a few facts about the machine (:func:`plan_device`),
so it is tested without a GPU; :func:`detect_facts` reads those facts from torch and
``/proc/cpuinfo``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from qa.precision import cpu_has_bf16

# The batch and learning rate the CPU runs used; GPU settings are scaled from them.
CPU_BATCH = 16
BASE_LEARNING_RATE = 1e-4
GPU_BATCH = 128
# Square-root scaling of the learning rate with the batch (linear scaling overshoots
# for Adam fine-tuning of BERT-like models); capped because 1e-4 x sqrt(8) is already
# at the top of what small BERTs tolerate.
MAX_LEARNING_RATE = 3e-4


@dataclass(frozen=True)
class DeviceFacts:
    """What the machine offers.

    Attributes:
        cuda: A CUDA GPU is usable by torch.
        cuda_bf16: That GPU computes in bf16 natively (Ampere or newer).
        gpu_memory_gib: Its memory.
        cpu_bf16: The CPU has native bf16 (avx512_bf16 or AMX).
        cpu_count: CPU cores visible to this process.
    """

    cuda: bool = False
    cuda_bf16: bool = False
    gpu_memory_gib: float = 0.0
    cpu_bf16: bool = False
    cpu_count: int = 1


@dataclass(frozen=True)
class DevicePlan:
    """How a run computes.

    Attributes:
        device: "cuda" or "cpu".
        autocast_dtype: "bfloat16", "float16" or None (plain fp32).
        batch_size: Windows per optimizer step.
        learning_rate: Peak learning rate.
        loader_workers: DataLoader worker processes that build batches.
        checkpoint_every: Steps between checkpoints.
    """

    device: str
    autocast_dtype: str | None
    batch_size: int
    learning_rate: float
    loader_workers: int
    checkpoint_every: int


def scaled_learning_rate(batch_size: int, base_lr: float = BASE_LEARNING_RATE, base_batch: int = CPU_BATCH) -> float:
    """Learning rate for ``batch_size``, scaled by sqrt(batch / base_batch) and capped."""
    return min(base_lr * math.sqrt(batch_size / base_batch), MAX_LEARNING_RATE)


def plan_device(
    facts: DeviceFacts,
    want: str = "auto",
    batch_size: int | None = None,
    learning_rate: float | None = None,
    cpu_bf16: bool = False,
) -> DevicePlan:
    """Choose device, precision, batch and learning rate from the machine's facts.

    Args:
        facts: What the machine has.
        want: "auto" (the GPU where there is one), "cuda" or "cpu".
        batch_size: A batch asked for; None picks 128 on a GPU, 16 on a CPU.
        learning_rate: A peak learning rate asked for; None scales 1e-4 (batch 16) to the batch.
        cpu_bf16: Use bf16 autocast on a CPU that has native bf16 (off by default: see
            ``TrainConfig.cpu_bf16`` for the measurement).

    Returns:
        The plan.

    Raises:
        ValueError: ``want`` is unknown, or "cuda" was asked for on a machine without one.
    """
    if want not in ("auto", "cuda", "cpu"):
        raise ValueError(f"device must be auto, cuda or cpu, got {want!r}")
    if want == "cuda" and not facts.cuda:
        raise ValueError("--device cuda was asked for, but torch sees no CUDA GPU")
    use_cuda = facts.cuda and want != "cpu"
    if use_cuda:
        batch = batch_size or GPU_BATCH
        return DevicePlan(
            device="cuda",
            # fp16 autocast without a loss scaler underflows gradients; older GPUs get fp32.
            autocast_dtype="bfloat16" if facts.cuda_bf16 else None,
            batch_size=batch,
            learning_rate=learning_rate or scaled_learning_rate(batch),
            # Batches are built in Python (padding, token types); workers keep the GPU fed.
            loader_workers=max(0, min(8, facts.cpu_count - 1)),
            checkpoint_every=500,
        )
    batch = batch_size or CPU_BATCH
    return DevicePlan(
        device="cpu",
        # On a CPU without native bf16, autocast emulates it and runs slower than fp32.
        autocast_dtype="bfloat16" if (cpu_bf16 and facts.cpu_bf16) else None,
        batch_size=batch,
        learning_rate=learning_rate or scaled_learning_rate(batch),
        # The cores are busy with the model; workers would only compete with it.
        loader_workers=0,
        checkpoint_every=200,
    )


def detect_facts() -> DeviceFacts:
    """Read the facts of this machine from torch and ``/proc/cpuinfo``."""
    import torch

    cuda = torch.cuda.is_available()
    return DeviceFacts(
        cuda=cuda,
        cuda_bf16=bool(cuda and torch.cuda.is_bf16_supported()),
        gpu_memory_gib=torch.cuda.get_device_properties(0).total_memory / 2**30 if cuda else 0.0,
        cpu_bf16=cpu_has_bf16(),
        cpu_count=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
    )
