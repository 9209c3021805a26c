"""Learning-rate schedules, as multipliers of the peak learning rate per optimizer step."""

from __future__ import annotations

import math

SCHEDULES = ("cosine", "constant")
FINAL_FRACTION = 0.1  # cosine decays to 10% of the peak, not to zero: the last steps still learn


def lr_multiplier(step: int, schedule: str, warmup_steps: int, total_steps: int) -> float:
    """The factor applied to the peak LR at `step` (0-based).

    cosine: linear warmup from ~0 to 1 over `warmup_steps`, then half a cosine down to
    FINAL_FRACTION at `total_steps`. Warmup matters for Adam here: its first updates have
    poorly estimated second moments, and a recurrent network amplifies a bad first step.
    constant: 1 after the same warmup.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    if schedule != "cosine":
        raise ValueError(f"unknown schedule {schedule!r}; expected one of {SCHEDULES}")
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return FINAL_FRACTION + (1 - FINAL_FRACTION) * 0.5 * (1 + math.cos(math.pi * progress))


class LRSchedule:
    """`lr_multiplier` as a callable whose end, `total_steps`, can be re-planned while training.

    LambdaLR saves a callable object's attributes in its state_dict (plain values), so the
    horizon in force travels in checkpoints with the step count.
    """

    def __init__(self, schedule: str, warmup_steps: int, total_steps: int) -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {schedule!r}; expected one of {SCHEDULES}")
        self.schedule = schedule
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps

    def __call__(self, step: int) -> float:
        return lr_multiplier(step, self.schedule, self.warmup_steps, self.total_steps)
