"""A clock for tests of time-based decisions (budgets, mid-epoch saves)."""

from __future__ import annotations


class FakeClock:
    """A clock the test moves by hand: reads `now`, which starts at `start`."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
