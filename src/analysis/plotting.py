"""loss_curve.png (how training went) and diagnostics.png (why), readable at a glance."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from src.analysis.diagnostics import MEMORY_TOLERANCE, DiagnosticsRecord  # noqa: E402

LAYER_STYLES = ["-", "--", ":", "-."]


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
    _save(fig, path)


def _save(fig: Figure, path: str | Path) -> None:
    """Write the figure to a temporary file and rename it, so a reader never sees half a PNG."""
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    fig.savefig(tmp_name)
    plt.close(fig)
    os.replace(tmp_name, path)


def _shown(records: list[dict[str, Any]], most: int = 6) -> list[dict[str, Any]]:
    """At most `most` records spread over training, always including the first and the latest."""
    if len(records) <= most:
        return records
    picks = {round(i * (len(records) - 1) / (most - 1)) for i in range(most)}
    return [records[i] for i in sorted(picks)]


def _epoch_colours(records: list[dict[str, Any]]) -> list[Any]:
    """Early measurements light, late ones dark, on one colour scale for every panel."""
    cmap = plt.get_cmap("viridis_r")
    last = max(r["epoch"] for r in records) or 1.0
    return [cmap(0.15 + 0.85 * r["epoch"] / last) for r in records]


def _positive(values: list[float]) -> list[float]:
    """Values for a log axis: anything not above 0 (an underflowed gradient) becomes a gap."""
    return [v if v > 0 else math.nan for v in values]


def _layer_lines(ax: Axes, x: list[float], per_layer: list[list[float]], colour: Any, label: str) -> None:
    for layer, values in enumerate(per_layer):
        ax.plot(x, _positive(values), LAYER_STYLES[layer % len(LAYER_STYLES)], color=colour,
                label=f"{label}layer {layer + 1}")


def plot_diagnostics(path: str | Path, records: list[dict[str, Any]]) -> None:
    """diagnostics.png: six panels drawn from `DiagnosticsRecord.to_dict()` records, oldest first.

    Curves that are functions of something else (steps back in time, context length, h) are drawn
    for up to six measurements, coloured light (early) to dark (late); scalars are drawn against
    the epoch. Line style tells the layers apart.
    """
    if not records:
        return
    fig, axes = plt.subplots(2, 3, figsize=(16, 9), dpi=100)
    (grad_ax, ratio_ax, hist_ax), (sat_ax, spectrum_ax, memory_ax) = axes
    shown = _shown(records)
    parsed = [DiagnosticsRecord.from_dict(r) for r in records]  # once, not once per layer
    colours = _epoch_colours(shown)
    epochs = [r["epoch"] for r in records]
    layers = len(records[-1]["saturation"])

    for record, colour in zip(shown, colours):
        steps = len(record["grad_norms"][0])
        back = list(range(steps - 1, -1, -1))  # t = 0 is T-1 steps back from the loss
        _layer_lines(grad_ax, back, record["grad_norms"], colour, f"epoch {record['epoch']:.1f}, ")
        span = DiagnosticsRecord.from_dict(record).memory_span()
        memory_ax.plot(record["memory_context"], record["memory_loss"], "o-", color=colour,
                       label=f"epoch {record['epoch']:.1f}: span {span} characters")
    grad_ax.set_yscale("log")
    grad_ax.set_xlabel("steps back from the predicted character, T-1-t")
    grad_ax.set_ylabel("||dL_T / dh_t||  (batch mean)")
    grad_ax.set_title("1. Gradient through time")
    grad_ax.legend(fontsize=7, ncol=2)

    for layer in range(layers):
        ratios = _positive([r.gradient_ratio(layer) for r in parsed])
        style = LAYER_STYLES[layer % len(LAYER_STYLES)]
        ratio_ax.plot(epochs, ratios, style, marker="o", color="tab:purple", label=f"layer {layer + 1}")
        sat_ax.plot(epochs, [r["saturation"][layer] for r in records], style, marker="o", color="tab:red",
                    label=f"layer {layer + 1}")
        spectrum_ax.plot(epochs, [r["spectral_radius"][layer] for r in records], style, marker="o",
                         color="tab:blue", label=f"spectral radius, layer {layer + 1}")
        spectrum_ax.plot(epochs, [r["max_singular_value"][layer] for r in records], style, marker="s",
                         color="tab:orange", label=f"largest singular value, layer {layer + 1}")
    ratio_ax.set_yscale("log")
    ratio_ax.set_xlabel("epoch")
    ratio_ax.set_ylabel("||dL_T/dh_0|| / ||dL_T/dh_{T-1}||")
    ratio_ax.set_title("1b. Gradient surviving the whole window")
    ratio_ax.legend(fontsize=7)

    memory_ax.set_xscale("log", base=2)
    memory_ax.set_xlabel("characters of context k (state reset k characters back)")
    memory_ax.set_ylabel("next-character loss (nats)")
    memory_ax.set_title(f"4. Effective memory (span: within {MEMORY_TOLERANCE} nats of k = max)", fontsize=11)
    memory_ax.legend(fontsize=7)

    edges = [-1 + 2 * i / len(records[-1]["histograms"][0]) for i in range(len(records[-1]["histograms"][0]) + 1)]
    for record, colour in ((records[0], "lightgray"), (records[-1], "black")):
        for layer, counts in enumerate(record["histograms"]):
            total = sum(counts) or 1
            hist_ax.stairs([c / total for c in counts], edges, color=colour,
                           linestyle=LAYER_STYLES[layer % len(LAYER_STYLES)],
                           label=f"epoch {record['epoch']:.1f}, layer {layer + 1}")
    hist_ax.set_yscale("log")
    hist_ax.set_xlabel("hidden unit value h")
    hist_ax.set_ylabel("fraction of units")
    hist_ax.set_title("2. Distribution of h (first and latest)")
    hist_ax.legend(fontsize=7)

    sat_ax.set_xlabel("epoch")
    sat_ax.set_ylabel("fraction of units with |h| > 0.99")
    sat_ax.set_title("2b. Saturation")
    sat_ax.legend(fontsize=7)

    spectrum_ax.axhline(1.0, color="gray", linewidth=0.8)
    spectrum_ax.set_xlabel("epoch")
    spectrum_ax.set_title("3. Recurrent matrix W_hh")
    spectrum_ax.legend(fontsize=7)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    fig.suptitle("Why a tanh RNN forgets: diagnostics on held-out text")
    _save(fig, path)
