"""Ctrl-C as a request, not a crash: training finishes its step, saves, then stops."""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType


class GracefulInterrupt:
    """Within `with GracefulInterrupt() as stop:`, the first Ctrl-C sets `stop.requested`.

    The training loop checks it between optimizer steps, so the model and optimizer are never
    saved half-updated. A second Ctrl-C raises KeyboardInterrupt at once, for the impatient.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\ninterrupt received: stopping after this step and saving (Ctrl-C again to abort)", flush=True)

    def __enter__(self) -> GracefulInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
