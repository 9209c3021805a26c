"""Choosing where to run: CUDA, then Apple's MPS, then the CPU, unless told otherwise."""

from __future__ import annotations

import torch

from src.errors import UserError


def resolve_device(name: str) -> torch.device:
    """`auto` picks the best available device; anything else must exist or it is a UserError."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"device {name!r} requested but CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise UserError(f"device {name!r} requested but MPS is not available on this machine")
    elif device.type != "cpu":
        raise UserError(f"unsupported device {name!r}: use auto, cpu, cuda, cuda:N or mps")
    return device
