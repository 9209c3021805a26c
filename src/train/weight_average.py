"""Weight averaging: an exponential moving average of the weights, kept beside the ones being trained.

Adam's iterates jitter around the valley they descend; their running average sits nearer its
floor (Polyak-Ruppert averaging, the averaged SGD of Merity et al. 2017's AWD-LSTM). After
optimizer step t = 1, 2, ... every weight w is averaged as

    w_avg <- d_t * w_avg + (1 - d_t) * w,    d_t = min(d, (1 + t) / (10 + t)),    w_avg = w at t = 0.

While (1 + t) / (10 + t) is the smaller, the average's time constant 1 / (1 - d_t) = (10 + t) / 9
steps grows with the run (about its last ninth), so a short run is not dragged back to its
initial weights; the cap d bounds it at 1 / (1 - d) steps. Training never sees w_avg: the run
validates, tests, samples and saves ("model" in the checkpoint) the averaged weights, which are
plain weights of the same equation, and continues training from its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor


def copy_of_weights(model: torch.nn.Module) -> dict[str, Tensor]:
    """A copy of the model's state_dict that later steps cannot change."""
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


class WeightAverage:
    """The moving average of one model's state_dict (every floating-point entry; others copied)."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.average = copy_of_weights(model)

    def rate(self, step: int) -> float:
        """d_t for optimizer step `step` (1-based): the warm-up (1 + t) / (10 + t), capped at the decay."""
        return min(self.decay, (1 + step) / (10 + step))

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        """Fold the weights after optimizer step `step` into the average."""
        d = self.rate(step)
        for name, value in model.state_dict().items():
            if value.is_floating_point():
                self.average[name].lerp_(value, 1 - d)  # = d * average + (1 - d) * value
            else:
                self.average[name].copy_(value)

    def state_dict(self) -> dict[str, Tensor]:
        """The averaged weights, in the layout of the model's own state_dict."""
        return self.average

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        """Restore the average saved by `state_dict` (a resumed run)."""
        for name, value in state.items():
            self.average[name].copy_(value)

    @contextmanager
    def applied(self, model: torch.nn.Module) -> Iterator[None]:
        """Inside the block `model` holds the averaged weights; afterwards its own again, bit for bit."""
        own = copy_of_weights(model)
        model.load_state_dict(self.average)
        try:
            yield
        finally:
            model.load_state_dict(own)
