"""Batch-1 inference one character at a time, for sampling: no autograd, no per-step allocation.

Generating text is a long chain of tiny steps (one character, batch 1), so the cost is memory
traffic (every weight is read once per step) and the overhead of each operation, not arithmetic.
The stepper prepares everything that does not change:

    layer 0:   a = T[c] + h W_hh^T          T = E W_ih^T + b_ih + b_hh, a (V, H) table: a lookup
                                              replaces the embedding and the input matmul
    layer l:   a = b + h^(l-1) W_ih^T + h W_hh^T      b = b_ih + b_hh pre-added
    each:      h = tanh(a)
    head:      logits = h^(L) W_out^T + b_out

and writes every result into buffers allocated once (`out=`).

On the CPU the arrays are NumPy copies of the weights: for vector-matrix products this small,
NumPy's per-call overhead is lower than PyTorch's (measured side by side at H=512, V=1000, two
threads: 61 vs 82 us per step; the gap has varied between runs on the development VM, but NumPy
was the faster in every one). On other devices the same code runs on torch tensors, since `xp`
below is either the `numpy` or the `torch` module and both spell these operations alike.
"""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

import numpy
import torch
from torch import Tensor

from src.model.rnn_model import RNNLanguageModel


class RNNStepper:
    """Feeds characters one at a time through a snapshot of the model's weights."""

    @torch.no_grad()
    def __init__(self, model: RNNLanguageModel, use_numpy: bool | None = None) -> None:
        """Snapshot `model`'s weights; `use_numpy` defaults to True exactly when the model is on the CPU."""
        if model.config.cell != "vanilla":
            raise ValueError(f"RNNStepper implements the vanilla cell only, not {model.config.cell!r}: "
                             "use make_stepper")
        cells = list(model.cells)
        on_cpu = model.head.weight.device.type == "cpu"
        if use_numpy and not on_cpu:
            raise ValueError("the NumPy path needs the model on the CPU")
        self.on_cpu = on_cpu if use_numpy is None else use_numpy
        self.xp: ModuleType = numpy if self.on_cpu else torch

        def snapshot(tensor: Tensor) -> Any:
            tensor = tensor.detach().contiguous()
            return tensor.numpy().copy() if self.on_cpu else tensor.clone()

        self.table = snapshot(cells[0].project_input(model.embedding.weight))  # (V, H)
        self.w_hh_t = [snapshot(c.weight_hh.t()) for c in cells]  # (H, H) each
        self.w_ih_t = [snapshot(c.weight_ih.t()) for c in cells[1:]]  # layer 0's is in the table
        self.bias = [snapshot((c.bias_ih + c.bias_hh).view(1, -1)) for c in cells[1:]]
        self.head_w_t = snapshot(model.head.weight.t())  # (H, V)
        self.head_b = snapshot(model.head.bias.view(1, -1))
        # Row vectors (1, H): a batch of one, the shape both libraries' matmul keeps with out=.
        zeros = self.xp.zeros_like
        self.h = [zeros(self.table[:1]) for _ in cells]  # current state of each layer
        self.a = zeros(self.table[:1])  # pre-activation scratch
        self.product = zeros(self.table[:1])  # one vector-matrix product
        self.logits = zeros(self.head_b)

    @torch.no_grad()
    def reset(self, hidden: Tensor | None = None) -> None:
        """Start from `hidden` (num_layers, 1, H), or from zeros."""
        for layer, h in enumerate(self.h):
            if hidden is None:
                h[:] = 0
            else:
                h[:] = hidden[layer].cpu().numpy() if self.on_cpu else hidden[layer]

    def hidden(self) -> Tensor:
        """The current state as (num_layers, 1, H), like `RNNLanguageModel.forward` returns it."""
        return torch.stack([torch.from_numpy(h) if self.on_cpu else h for h in self.h])

    @torch.no_grad()
    def step(self, char_id: int) -> Tensor:
        """Consume one character; return the logits (V,) for the next one (a buffer: copy to keep)."""
        xp, a, product = self.xp, self.a, self.product
        for layer, h in enumerate(self.h):
            if layer == 0:
                a[0] = self.table[char_id]
            else:
                xp.matmul(self.h[layer - 1], self.w_ih_t[layer - 1], out=a)
                xp.add(a, self.bias[layer - 1], out=a)
            xp.matmul(h, self.w_hh_t[layer], out=product)  # uses the old h ...
            xp.add(a, product, out=a)
            xp.tanh(a, out=h)  # ... before it is overwritten with the new one
        xp.matmul(self.h[-1], self.head_w_t, out=self.logits)
        xp.add(self.logits, self.head_b, out=self.logits)
        logits = self.logits[0]
        return torch.from_numpy(logits) if self.on_cpu else logits


class ForwardStepper:
    """RNNStepper's interface for any cell: each character goes through the model's own forward pass.

    Slower than RNNStepper (a whole forward call per character) but exact for every cell equation,
    since it is the model itself; RNNStepper's prepared buffers implement the vanilla equation only.
    """

    def __init__(self, model: RNNLanguageModel) -> None:
        self.model = copy.deepcopy(model).eval()  # a snapshot in eval mode (no dropout), like RNNStepper's
        self.device = model.head.weight.device
        self.state: Tensor | None = None

    def reset(self, hidden: Tensor | None = None) -> None:
        """Start from `hidden` (num_layers, 1, H), or from zeros."""
        self.state = hidden

    @torch.no_grad()
    def step(self, char_id: int) -> Tensor:
        """Consume one character; return the logits (V,) for the next one."""
        logits, self.state = self.model(torch.tensor([[char_id]], device=self.device), self.state)
        return logits[0, -1]


def make_stepper(model: RNNLanguageModel) -> RNNStepper | ForwardStepper:
    """The fastest exact single-step path for this model's cell."""
    return RNNStepper(model) if model.config.cell == "vanilla" else ForwardStepper(model)
