"""Mixed precision: run the matrix multiplies in bfloat16, keep weights and the loss in float32."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from src.errors import UserError

PRECISIONS = ("auto", "fp32", "bf16")
BF16_DEVICES = ("cpu", "cuda")


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """True when the CPU advertises bf16 matrix instructions (AVX512_BF16 or AMX-BF16).

    Read from /proc/cpuinfo, so only Linux can say yes; anywhere else the answer is False.
    """
    try:
        flags = set(cpuinfo.read_text(encoding="utf-8", errors="replace").split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def cuda_has_native_bf16(device: torch.device) -> bool:
    """True when the GPU multiplies bf16 in hardware: NVIDIA compute capability 8.0 (Ampere) or later, or ROCm.

    `torch.cuda.is_bf16_supported()` also says yes on older GPUs (a V100, a T4), which can hold
    bf16 tensors but have no bf16 tensor cores, and it asks about the current device rather than
    `device`; hence this check.
    """
    return torch.version.hip is not None or torch.cuda.get_device_properties(device).major >= 8


def native_bf16(device: torch.device, cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether bf16 runs natively on `device`: a GPU with bf16 tensor cores or a CPU with bf16 instructions."""
    if device.type == "cuda":
        return cuda_has_native_bf16(device)
    return device.type == "cpu" and cpu_has_native_bf16(cpuinfo)


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision a run will use: `auto` becomes bf16 only where it was measured to pay off.

    On a CPU with native bf16 instructions, bf16 trained 1.8-2x faster than float32 and reached
    the same validation loss (docs/speed.md, "bf16"). On an H100 it was only 1.0-1.2x faster
    (docs/scaling.md), and on a CPU without those instructions bf16 is emulated and several times
    slower (`emulated_bf16_warning`), so there `auto` stays float32 and bf16 is opt-in.
    """
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"
    if precision == "bf16" and device.type not in BF16_DEVICES:
        raise UserError(f"--precision bf16 is supported on cpu and cuda, not {device.type}")
    return precision


def emulated_bf16_warning(precision: str, device: torch.device, cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """A warning line when `precision` is bf16 on a device without native bf16; None otherwise.

    On such a CPU PyTorch emulates bf16: on a 2-vCPU AMD EPYC with AVX2 only (docs/speed.md), a
    bf16 (64 x 1024) @ (1024 x 1024) matrix multiply took 80x the float32 one's time, and a 2 x 1024
    model's forward pass 4.5x. A GPU before Ampere has no bf16 tensor cores (not measured here).
    `auto` never picks bf16 there; a bf16 checkpoint or `--precision bf16` asks for it.
    """
    if precision != "bf16" or device.type not in BF16_DEVICES or native_bf16(device, cpuinfo):
        return None
    if device.type == "cuda":
        return ("warning: this GPU has no bf16 tensor cores (compute capability below 8.0), so bf16 is not "
                "accelerated here; float32 (--precision fp32) is the measured path")
    return "warning: this CPU has no bf16 instructions, so bf16 runs emulated here, several times slower than float32"


def checkpoint_precision(requested: str | None, trained: str, device: torch.device) -> str:
    """The precision to score a checkpoint in: `requested` if one was given, else the one it trained in.

    A run's validation and test figures (results.json) were computed in its training precision,
    so scoring in that precision reproduces them on any machine, whatever `auto` picks there.
    """
    if requested is not None:
        return resolve_precision(requested, device)
    if trained == "bf16" and device.type not in BF16_DEVICES:
        raise UserError(f"the checkpoint was trained in bf16, which {device.type} does not support: "
                        "pass --precision fp32 (the score may then differ slightly from its results.json)")
    return resolve_precision(trained, device)


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The context a forward pass runs in: bf16 autocast, or nothing for fp32.

    Under autocast the weights stay float32 (the optimizer updates them in full precision) and
    each matrix multiply reads a bf16 copy. The caller computes the loss from `logits.float()`.
    """
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
