"""Dropout with one mask per sequence (variational dropout, Gal & Ghahramani 2016).

Standard dropout draws a fresh mask at every position of a (B, T, H) tensor, so across a window
a unit is silenced at random steps. Variational dropout draws one mask m (B, 1, H) per window and
silences the same units at every step:

    y_t = x_t * m / (1 - p),   m ~ Bernoulli(1 - p) per (sequence, unit), shared by all t

so a dropped unit carries nothing for the whole window: the form AWD-LSTM (Merity et al. 2017)
applies between recurrent layers (on Tiny Shakespeare here it neither helped nor hurt: results,
section 10). Here it acts on the layers' outputs only, outside the recurrence, so the cells'
hand-written backward is untouched. Evaluation is the identity, as for standard dropout.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

DROPOUT_MASKS = ("step", "sequence")  # a fresh mask at every position, or one per sequence


class SequenceDropout(nn.Module):
    """Zeroes each (sequence, unit) of x (B, T, H) with probability p for all T steps in training."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        """x (B, T, H) -> x * m / (1 - p) with m (B, 1, H) in training; x itself in evaluation."""
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape[0], 1, x.shape[2], device=x.device) >= self.p  # (B, 1, H)
        # Mask, then scale by a Python float: each element is rounded once in x's dtype, like
        # F.dropout, instead of multiplying by a 1/(1 - p) already rounded to bfloat16.
        return x * keep / (1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"
