"""How a run shows its progress inside an epoch: a live bar on a terminal, plain lines in a log file.

A tqdm bar redraws itself with carriage returns. Sent to a file (`nohup`, a batch job, `> log 2>&1`),
every redraw stays in it, and a 30-epoch log grows by about a hundred redraws per epoch on one
unreadable line. So the bar is shown only when stderr is a terminal; otherwise a plain line is
printed at every `--log-interval` step, with the numbers metrics.jsonl logs there.
"""

from __future__ import annotations

import sys

from tqdm import tqdm


class EpochProgress:
    """The progress display of one epoch (or of the rest of one, after a resume)."""

    def __init__(self, total_steps: int, done_steps: int, title: str, enabled: bool, live: bool | None = None) -> None:
        """`enabled`: whether this process shows anything (rank 0 only); `live`: a bar (default: stderr is a tty)."""
        self.title = title
        self.total_steps = total_steps
        self.enabled = enabled
        self.live = sys.stderr.isatty() if live is None else live
        self.bar = tqdm(total=total_steps, initial=done_steps, desc=title, unit="step", dynamic_ncols=True,
                        leave=False, mininterval=1.0, disable=not (enabled and self.live))

    def step_done(self, running_loss: float, chars_per_s: float) -> None:
        """Advance the bar; it redraws at most once a second, not every step."""
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{running_loss:.4f}", chars_per_s=f"{chars_per_s:,.0f}", refresh=False)

    def logged(self, step_in_epoch: int, loss: float, lr: float, chars_per_s: float) -> None:
        """The line a log file gets at a `--log-interval` step (on a terminal the bar already shows it)."""
        if self.enabled and not self.live:
            print(f"  {self.title} | step {step_in_epoch}/{self.total_steps} | train {loss:.4f} | lr {lr:.2e} | "
                  f"{chars_per_s:,.0f} chars/s", flush=True)

    def write(self, message: str) -> None:
        """Print a line of the log above the bar (tqdm.write keeps a live bar intact)."""
        if self.enabled:
            self.bar.write(message)

    def close(self) -> None:
        """Remove the bar from the terminal."""
        self.bar.close()
