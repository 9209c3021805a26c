"""Penalties on the hidden states, added to the training loss only (validation and test stay plain).

For each layer's states h_t (B, T, H), t = 0 .. T-1 of a training window:

    AR    alpha * mean(h_t^2)                           activation regularisation (Merity et al., 2017):
                                                        for tanh, a direct pull away from saturation
    TAR   beta  * mean((h_t - h_{t-1})^2)               temporal AR (same paper): states that change
                                                        slowly from one step to the next
    NS    gamma * mean((||h_t|| - ||h_{t-1}||)^2)       the norm-stabiliser (Krueger & Memisevic, 2016):
                                                        a steady state norm, neither fading nor growing

Means run over the batch, the steps (t >= 1 for TAR and NS) and, for AR and TAR, the units; each
penalty is averaged over the layers. They are computed in float32 whatever the loop's precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class StatePenalties:
    """The three coefficients; all zero (the default) means no penalty and no extra work."""

    ar: float = 0.0
    tar: float = 0.0
    norm_stabiliser: float = 0.0

    @property
    def active(self) -> bool:
        """Whether any penalty is switched on."""
        return self.ar > 0 or self.tar > 0 or self.norm_stabiliser > 0

    def __call__(self, layer_states: list[Tensor]) -> Tensor:
        """The total penalty for one batch: layer_states[l] is layer l's (B, T, H) states."""
        total = layer_states[0].new_zeros((), dtype=torch.float32)
        for h in layer_states:
            h = h.float()
            if self.ar:
                total = total + self.ar * h.square().mean()
            if h.shape[1] > 1 and self.tar:
                total = total + self.tar * (h[:, 1:] - h[:, :-1]).square().mean()
            if h.shape[1] > 1 and self.norm_stabiliser:
                norms = h.norm(dim=-1)  # (B, T)
                total = total + self.norm_stabiliser * (norms[:, 1:] - norms[:, :-1]).square().mean()
        return total / len(layer_states)
