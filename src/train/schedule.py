"""Learning-rate schedules, as multipliers of the peak learning rate per optimizer step."""

from __future__ import annotations

import math

SCHEDULES = ("cosine", "constant")
# By default the cosine ends at 10% of the peak, not zero, so the last steps still learn; zero was a tie with it
# on the vanilla row's 110-minute run (results, section 51), so it is a flag (--final-lr-fraction), not the default.
DEFAULT_FINAL_FRACTION = 0.1


def lr_multiplier(step: int, schedule: str, warmup_steps: int, total_steps: int,
                  final_fraction: float = DEFAULT_FINAL_FRACTION) -> float:
    """The factor applied to the peak LR at `step` (0-based).

    cosine: linear warmup from ~0 to 1 over `warmup_steps`, then half a cosine down to
    F = `final_fraction` at `total_steps`: m = F + (1 - F) * (1 + cos(pi * progress)) / 2.
    Warmup matters for Adam here: its first updates have poorly estimated second moments, and a
    recurrent network amplifies a bad first step.
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
    return final_fraction + (1 - final_fraction) * 0.5 * (1 + math.cos(math.pi * progress))


class LRSchedule:
    """`lr_multiplier` as a callable whose end, `total_steps`, can be re-planned while training.

    LambdaLR saves a callable object's attributes in its state_dict (plain values), so the
    horizon in force travels in checkpoints with the step count.

    An extended run (`--resume --epochs M`) re-plans the decay from the step it resumes at, s0:
    the multiplier m0 in force there stays, and a new half cosine takes it to F = `final_fraction`
    at the new end, m(s) = F + (m0 - F) * (1 + cos(pi * (s - s0) / (total - s0))) / 2. The rate never
    jumps; a run that had already annealed to F continues at F.
    """

    def __init__(self, schedule: str, warmup_steps: int, total_steps: int,
                 final_fraction: float = DEFAULT_FINAL_FRACTION) -> None:
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {schedule!r}; expected one of {SCHEDULES}")
        self.schedule = schedule
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.final_fraction = final_fraction
        self.replanned_at: int | None = None  # s0 of an extension, if any
        self.replanned_multiplier = 1.0  # m0

    def __call__(self, step: int) -> float:
        if self.replanned_at is None or step < self.replanned_at:
            return lr_multiplier(step, self.schedule, self.warmup_steps, self.total_steps, self.final_fraction)
        progress = min(1.0, (step - self.replanned_at) / max(1, self.total_steps - self.replanned_at))
        final = self.final_fraction
        return final + (self.replanned_multiplier - final) * 0.5 * (1 + math.cos(math.pi * progress))

    def replan_from(self, step: int) -> None:
        """Keep the multiplier in force at `step` and decay from it to the (new) `total_steps` set next.

        Nothing to re-plan for a constant schedule, or while warming up: the warmup then the cosine
        over the new total is already the plan.
        """
        if self.schedule == "cosine" and step >= self.warmup_steps:
            self.replanned_multiplier = self(step)
            self.replanned_at = step
