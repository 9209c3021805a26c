"""What a checkpoint holds besides the weights, so that a resumed run continues exactly.

`Progress` is how far the run has got (epoch, position in it, step, histories); the RNG states are
those training draws from. The model, optimizer and scheduler states are their own state_dicts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor


@dataclass
class Progress:
    """How far a run has got; saved in every checkpoint as plain values."""

    epoch: int = 0  # completed epochs
    batch_in_epoch: int = 0  # batches of the current epoch already trained on
    step: int = 0  # optimizer steps in total
    train_seconds: float = 0.0  # time spent in optimizer steps (not validation or sampling)
    epoch_loss_sum: float = 0.0  # sum of this epoch's batch losses so far
    best_valid_loss: float = math.inf
    step_losses: list[float] = field(default_factory=list)
    epoch_steps: list[int] = field(default_factory=list)
    epoch_train_losses: list[float] = field(default_factory=list)
    epoch_valid_losses: list[float] = field(default_factory=list)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)  # DiagnosticsRecord.to_dict() each time


def rng_state(device: torch.device) -> dict[str, Tensor]:
    """The global RNG states that training consumes.

    The CPU's draws the initial weights; the training device's draws the dropout masks (the CPU's
    again on the CPU; CUDA's or MPS's own generator on those), so both are saved.
    """
    state = {"torch": torch.get_rng_state()}
    if device.type != "cpu":
        state[device.type] = torch.get_device_module(device.type).get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Tensor], device: torch.device) -> None:
    """Restore what `rng_state` saved (a device's state only when resuming on that kind of device)."""
    torch.set_rng_state(state["torch"])
    if device.type != "cpu" and device.type in state:
        torch.get_device_module(device.type).set_rng_state(state[device.type], device)
