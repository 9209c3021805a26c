"""Dynamic evaluation (Krause et al., 2017): the model keeps learning from the text it has scored.

The text is scored window by window exactly as in static evaluation (`evaluate`); after each
window is scored, one gradient step on that window's mean loss adapts the weights that score the
windows after it:

    loss_i  = L(window_i; theta_{i-1})                                  what is reported
    theta_i = theta_{i-1} - lr * grad L(window_i; theta_{i-1}) + decay * (theta_0 - theta_{i-1})

theta_0 are the trained weights; `decay` pulls the adapted weights back toward them. No character
is scored by weights that have seen it. This is test-time adaptation, a different protocol from
static evaluation: its figure is always reported beside the static one, never instead of it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from src.analysis.evaluation import Evaluation, evaluate


class SGDAdapter:
    """The update above, applied to every parameter of `model` in place."""

    def __init__(self, model: nn.Module, lr: float, decay: float) -> None:
        self.parameters = list(model.parameters())
        self.initial = [p.detach().clone() for p in self.parameters]
        self.lr, self.decay = lr, decay

    def __call__(self, loss: Tensor) -> None:
        grads = torch.autograd.grad(loss, self.parameters, allow_unused=True)
        with torch.no_grad():
            for p, g, p0 in zip(self.parameters, grads, self.initial):
                step = self.decay * (p0 - p)  # the pull uses theta_{i-1}, like the gradient
                if g is not None:
                    step -= self.lr * g
                p.add_(step)


def dynamic_evaluate(model: nn.Module, ids: Tensor, batch_size: int, seq_len: int, device: torch.device,
                     precision: str, lr: float, decay: float) -> Evaluation:
    """Score ids like `evaluate`, adapting `model` (in place) to each window after scoring it."""
    return evaluate(model, ids, batch_size, seq_len, device, precision, adapt=SGDAdapter(model, lr, decay))
