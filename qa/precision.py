"""Numeric precision on the CPU: whether bf16 runs in hardware here, and what 'auto' means.

A leaf module (no qa imports, nothing heavy): the settings, the embedder, the reader and the
training planner all ask it.
"""

from __future__ import annotations

PRECISIONS = ("auto", "fp32", "bf16")
# bf16 autocast where the CPU has it in hardware: ~1.9x the passages per CPU-second of fp32 with the
# same retrieval recall on SQuAD validation (benchmarks/results/embedding.md); fp32 elsewhere.
DEFAULT_PRECISION = "auto"


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """True when this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX-BF16).

    Read from /proc/cpuinfo at run time: without these instructions bf16 is emulated and
    runs about 16x slower than fp32, so it must never be chosen blindly.

    Args:
        cpuinfo: The text of /proc/cpuinfo (read from the machine when None).
    """
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                cpuinfo = f.read()
        except OSError:
            return False
    return "avx512_bf16" in cpuinfo or "amx_bf16" in cpuinfo


def resolve_precision(precision: str, device: str = "cpu") -> str:
    """'fp32' or 'bf16' for a setting: 'auto' is bf16 only on a CPU that has it in hardware."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} (use {', '.join(PRECISIONS)})")
    if precision == "auto":
        return "bf16" if device == "cpu" and cpu_has_bf16() else "fp32"
    return precision
