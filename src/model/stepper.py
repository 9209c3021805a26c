"""Batch-1 inference one character at a time, for sampling: no autograd, no per-step allocation.

Generating text is a long chain of tiny steps (one character, batch 1), so the cost is the number
of operations per step, not arithmetic. The stepper prepares everything that does not change:

    layer 0:   a = T[c] + h W_hh^T          T = E W_ih^T + b_ih + b_hh, a (V, H) table: a lookup
                                              replaces the embedding and the input matmul
    layer l:   a = h^(l-1) W_ih^T + b + h W_hh^T      b = b_ih + b_hh pre-added
    each:      h = tanh(a)
    head:      logits = h^(L) W_out^T + b_out

and writes every result into buffers allocated once (`out=` and in-place tanh).
"""

from __future__ import annotations

import torch
from torch import Tensor

from src.model.rnn_model import RNNLanguageModel


class RNNStepper:
    """Feeds characters one at a time through a snapshot of the model's weights."""

    @torch.no_grad()
    def __init__(self, model: RNNLanguageModel) -> None:
        cells = list(model.cells)
        self.table = cells[0].project_input(model.embedding.weight).detach().contiguous()  # (V, H)
        self.w_hh_t = [c.weight_hh.detach().t().contiguous() for c in cells]
        self.w_ih_t = [c.weight_ih.detach().t().contiguous() for c in cells]  # [0] unused: the table has it
        self.bias = [(c.bias_ih + c.bias_hh).detach().view(1, -1) for c in cells]
        self.head_w_t = model.head.weight.detach().t().contiguous()
        self.head_b = model.head.bias.detach().view(1, -1)
        like = self.table[:1]
        self.h = [torch.zeros_like(like) for _ in cells]  # current state of each layer, (1, H)
        self.next_h = [torch.zeros_like(like) for _ in cells]  # where the new state is written
        self.proj = [torch.zeros_like(like) for _ in cells]  # layer l >= 1: its input's projection
        self.logits = torch.zeros_like(self.head_b)

    @torch.no_grad()
    def reset(self, hidden: Tensor | None = None) -> None:
        """Start from `hidden` (num_layers, 1, H), or from zeros."""
        for layer, h in enumerate(self.h):
            if hidden is None:
                h.zero_()
            else:
                h.copy_(hidden[layer])

    def hidden(self) -> Tensor:
        """The current state as (num_layers, 1, H), like `RNNLanguageModel.forward` returns it."""
        return torch.stack(self.h)

    @torch.no_grad()
    def step(self, char_id: int) -> Tensor:
        """Consume one character; return the logits (V,) for the next one (a buffer: copy to keep)."""
        x_proj = self.table[char_id:char_id + 1]
        for layer in range(len(self.h)):
            if layer > 0:
                x_proj = torch.addmm(self.bias[layer], self.h[layer - 1], self.w_ih_t[layer], out=self.proj[layer])
            new_h = torch.addmm(x_proj, self.h[layer], self.w_hh_t[layer], out=self.next_h[layer]).tanh_()
            # The new state becomes current; the old buffer is reused for the next step's result.
            self.next_h[layer], self.h[layer] = self.h[layer], new_h
        return torch.addmm(self.head_b, self.h[-1], self.head_w_t, out=self.logits)[0]
