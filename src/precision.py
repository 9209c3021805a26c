"""Mixed precision: run the matrix multiplies in bfloat16, keep weights and the loss in float32."""

from __future__ import annotations

import contextlib

import torch

from src.errors import UserError

PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str, device: torch.device) -> None:
    """bf16 autocast is supported here on CPU and CUDA; refuse it elsewhere with a clear message."""
    if precision not in PRECISIONS:
        raise UserError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    if precision == "bf16" and device.type not in ("cpu", "cuda"):
        raise UserError(f"--precision bf16 is supported on cpu and cuda, not {device.type}")


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The context a forward pass runs in: bf16 autocast, or nothing for fp32.

    Under autocast the weights stay float32 (the optimizer updates them in full precision) and
    each matrix multiply reads a bf16 copy. The caller computes the loss from `logits.float()`.
    """
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
