"""Evaluation over a whole split: every character predicted exactly once, with its full context.

The split is laid out as B contiguous streams that are read in order, window after window, with
the hidden state carried from one window to the next. Only the first character of each stream
is predicted without context, and the few characters that do not fill B equal streams are
predicted afterwards as the continuation of the last stream, so no character is skipped or
counted twice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.precision import autocast
from src.train.distributed import World, sum_over_ranks


@dataclass
class Evaluation:
    """Mean next-character cross-entropy over a split, in three units."""

    loss: float  # nats per character
    characters: int  # how many characters were predicted

    @property
    def bpc(self) -> float:
        """Bits per character: the loss in base 2."""
        return self.loss / math.log(2)

    @property
    def perplexity(self) -> float:
        """exp(loss): the effective number of equally likely next characters."""
        return math.exp(self.loss)


def next_char_loss(logits: Tensor, targets: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy of logits (B, T, V) against next characters (B, T), in nats.

    bf16 logits (mixed precision) are upcast first: the loss is always float32 (or the model's
    float64), since a softmax over the vocabulary in bf16 loses the small probabilities.
    """
    if logits.dtype == torch.bfloat16:
        logits = logits.float()
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction=reduction)


def read_in_streams(model: nn.Module, ids: Tensor, batch_size: int, seq_len: int, device: torch.device,
                    precision: str, visit: Callable[[Tensor, Tensor, Tensor], None], world: World = World(),
                    grad: bool = False) -> int:
    """Read ids in the module docstring's layout, calling visit(first, logits, targets) on every window.

    `first` (B,) are the positions in ids of the window rows' first inputs (so row b, step t predicts
    ids[first[b] + t + 1]); logits (B, t, V) and targets (B, t) are on `device`. With several ranks,
    rank r reads streams r, r + N, ... (and the tail, if it holds the last stream). `grad`: keep the
    autograd graph (dynamic evaluation). Returns how many characters the whole layout predicts.
    """
    n_predict = ids.numel() - 1
    if n_predict < 1:
        raise ValueError("evaluation needs at least two characters")
    streams = max(1, min(batch_size, n_predict))
    stream_len = n_predict // streams
    mine = list(range(world.rank, streams, world.size))  # this rank's streams
    inputs = ids[: streams * stream_len].view(streams, stream_len)[mine]
    targets = ids[1: streams * stream_len + 1].view(streams, stream_len)[mine]
    firsts = torch.tensor(mine, dtype=torch.long) * stream_len
    hidden = None
    with torch.inference_mode(not grad):
        for start in range(0, stream_len if mine else 0, seq_len):
            hidden = _read_window(model, inputs[:, start:start + seq_len], targets[:, start:start + seq_len],
                                  firsts + start, hidden, device, precision, visit)
        if mine and mine[-1] == streams - 1:
            # The remainder continues the last stream, whose state is hidden[:, -1].
            last_hidden = hidden[:, -1:].contiguous()
            for start in range(streams * stream_len, n_predict, seq_len):
                stop = min(start + seq_len, n_predict)
                last_hidden = _read_window(model, ids[start:stop].view(1, -1), ids[start + 1:stop + 1].view(1, -1),
                                           torch.tensor([start]), last_hidden, device, precision, visit)
    return n_predict


def _read_window(model: nn.Module, inputs: Tensor, targets: Tensor, first: Tensor, hidden: Tensor | None,
                 device: torch.device, precision: str, visit: Callable[[Tensor, Tensor, Tensor], None]) -> Tensor:
    """One window: the forward pass, `visit`, and the state to carry on."""
    # The split may be compact ids (src/data/id_cache.py): int64 only per window.
    inputs, targets = inputs.long().to(device), targets.long().to(device)
    with autocast(device, precision):
        logits, hidden = model(inputs, hidden)
    visit(first, logits, targets)
    return hidden.detach()


def evaluate(model: nn.Module, ids: Tensor, batch_size: int, seq_len: int, device: torch.device,
             precision: str = "fp32", adapt: Callable[[Tensor], None] | None = None,
             world: World = World()) -> Evaluation:
    """Mean loss of predicting ids[1:] from the text before each of them.

    `adapt`, if given, is called with each window's mean loss right after that window is scored
    (dynamic evaluation: it may update the model, which then scores the next windows).

    With several ranks (`world`) the layout is the same `batch_size` streams; rank r scores
    streams r, r + N, ... (and the tail, if it holds the last stream) and the summed losses are
    added up over the ranks, so the figure is the one process's, every character scored once.
    """
    if adapt is not None and world.distributed:
        raise ValueError("dynamic evaluation runs in one process")
    total = 0.0

    def score(first: Tensor, logits: Tensor, targets: Tensor) -> None:
        nonlocal total
        loss = next_char_loss(logits, targets, reduction="sum")
        if adapt is not None:
            adapt(loss / targets.numel())  # only after the window is scored: it counts as it was
        total += loss.item()

    was_training = model.training
    model.eval()
    try:
        n_predict = read_in_streams(model, ids, batch_size, seq_len, device, precision, score, world,
                                    grad=adapt is not None)
    finally:
        model.train(was_training)
    total = sum_over_ranks(world, [total], device)[0]
    return Evaluation(loss=total / n_predict, characters=n_predict)
