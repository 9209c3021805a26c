"""Mid-epoch saves of last.pt, so that a crash or a `kill -9` loses at most --save-every minutes of training.

The interval is in minutes, not steps: one step takes anything from a millisecond (a small model on
a GPU) to seconds (2 x 1024 on one CPU core), so only a time interval bounds the work at risk
whatever the model and the machine. Saving costs a fraction of a second (the weights and Adam's
two moments), so the default of 10 minutes costs well under 0.1% of the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Autosave:
    """When the next mid-epoch save is due: `minutes` after the last save of any kind (0: never)."""

    minutes: float
    clock: Callable[[], float] = time.monotonic
    last_save: float = field(init=False)

    def __post_init__(self) -> None:
        self.last_save = self.clock()

    def due(self) -> bool:
        """True once `minutes` have passed since the last save."""
        return self.minutes > 0 and self.clock() - self.last_save >= 60 * self.minutes

    def saved(self) -> None:
        """Restart the interval: last.pt was just written."""
        self.last_save = self.clock()
