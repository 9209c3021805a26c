"""A training budget (--max-steps, --max-minutes) and where it puts the end of the LR schedule.

A cosine schedule only anneals if it knows when training ends. Planned over the epochs, a run cut
short by a budget stops while the learning rate is still near its peak, and its last, most
valuable steps are taken at the wrong rate. So the schedule's end (its horizon) is the earliest of

    the natural end        epochs x steps per epoch
    a step budget          --max-steps (a global step count)
    a time budget          step + (time left) / (time per step so far)

The time estimate is re-made before every step from this invocation's own pace (wall clock, so
validation and diagnostics pauses count, as they count against the budget), so the horizon
settles within a few steps and follows the machine if it slows down or speeds up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Budget:
    """How long one invocation of train.py may train (budgets belong to an invocation, not a run)."""

    max_steps: int | None  # stop once the global step count reaches this
    max_minutes: float | None  # stop once this much wall time has passed since the budget started
    start_step: int  # the global step this invocation started from (non-zero when resuming)
    clock: Callable[[], float] = time.monotonic
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def elapsed_seconds(self) -> float:
        """Wall time since this invocation's budget started."""
        return self.clock() - self.started

    def spent(self, step: int) -> bool:
        """True once either budget says this invocation should stop."""
        if self.max_steps is not None and step >= self.max_steps:
            return True
        return self.max_minutes is not None and self.elapsed_seconds() >= 60 * self.max_minutes

    def horizon(self, step: int, natural_end: int) -> int:
        """The step at which the learning-rate schedule should end, as far as can be told at `step`."""
        end = natural_end
        if self.max_steps is not None:
            end = min(end, self.max_steps)
        steps_done = step - self.start_step
        if self.max_minutes is not None and steps_done > 0:
            elapsed = self.elapsed_seconds()
            seconds_per_step = elapsed / steps_done
            steps_left = max(0.0, 60 * self.max_minutes - elapsed) / seconds_per_step
            end = min(end, step + round(steps_left))
        return max(end, step)
