"""Ctrl-C as a request, not a crash: training stops at the next safe point, saves, then exits."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType


class StopRequested(Exception):
    """Raised at a phase boundary after Ctrl-C: the run saves `last.pt` and exits with code 130."""


class GracefulInterrupt:
    """Within `with GracefulInterrupt() as stop:`, the first Ctrl-C sets `stop.requested`.

    The run checks it between optimizer steps and between the phases after an epoch (validation,
    checkpoint, diagnostics, plots, sample, final test), so the model and optimizer are never
    saved half-updated and no phase runs after the request. A second Ctrl-C raises
    KeyboardInterrupt at once, for the impatient.
    """

    def __init__(self, any_rank: Callable[[bool], bool] = bool) -> None:
        """`any_rank(flag)` says whether any process of the run has the flag (src/train/distributed.py); with
        several ranks a stop must happen at the same boundary everywhere.
        """
        self.requested = False
        self._any_rank = any_rank
        self._previous = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\ninterrupt received: stopping at the end of this step or phase, then saving "
              "(Ctrl-C again to abort)", flush=True)

    def check(self) -> None:
        """A phase boundary: raise StopRequested if Ctrl-C was pressed (in any rank) since the run started."""
        if self._any_rank(self.requested):
            raise StopRequested

    def __enter__(self) -> GracefulInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
