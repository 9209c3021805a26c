"""loss_curve.png: how training went, readable at a glance."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402


def _smooth(values: list[float], window: int) -> list[float]:
    """Trailing moving average, so the per-step curve shows the trend under the batch noise."""
    out, running = [], 0.0
    for i, value in enumerate(values):
        running += value
        if i >= window:
            running -= values[i - window]
        out.append(running / min(i + 1, window))
    return out


def plot_loss_curve(path: str | Path, step_losses: list[float], epoch_steps: list[int],
                    train_losses: list[float], valid_losses: list[float]) -> None:
    """Per-step training loss (faint, and smoothed) with per-epoch train and validation loss.

    The x axis is optimizer steps, so a short last epoch (a time budget) sits where it happened.
    The right axis repeats the scale in bits per character.
    """
    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    steps = list(range(1, len(step_losses) + 1))
    if step_losses:
        ax.plot(steps, step_losses, color="tab:blue", alpha=0.2, linewidth=0.6, label="train loss per step")
        window = max(1, len(step_losses) // 50)
        ax.plot(steps, _smooth(step_losses, window), color="tab:blue", linewidth=1.2,
                label=f"train loss per step ({window}-step average)")
    if epoch_steps:
        ax.plot(epoch_steps, train_losses, "o-", color="navy", label="train loss per epoch")
        ax.plot(epoch_steps, valid_losses, "s-", color="tab:orange", label="validation loss per epoch")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy (nats per character)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    bits = ax.secondary_yaxis("right", functions=(lambda n: n / math.log(2), lambda b: b * math.log(2)))
    bits.set_ylabel("bits per character")
    ax.set_title("Character-level tanh RNN: training and validation loss")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    fig.savefig(tmp_name)
    plt.close(fig)
    os.replace(tmp_name, path)
