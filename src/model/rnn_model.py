"""The character-level language model: embedding -> stacked tanh RNN layers -> linear head.

    e_t      = E[c_t]                                   (B, E)   embedding of character c_t
    h_t^(1)  = tanh(e_t W_ih^(1)T + b_ih^(1) + h_{t-1}^(1) W_hh^(1)T + b_hh^(1))
    h_t^(l)  = tanh(h_t^(l-1) W_ih^(l)T + b_ih^(l) + h_{t-1}^(l) W_hh^(l)T + b_hh^(l))
    logits_t = h_t^(L) W_out^T + b_out                  (B, V)   scores for character c_{t+1}

The time loop is explicit and runs layer by layer: layer l consumes the whole output sequence of
layer l-1. That order lets each layer project all its inputs in one matrix multiply up front.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from src.model.rnn_cell import RNNCell


@dataclass
class ModelConfig:
    """The architecture, enough to rebuild the model from a checkpoint."""

    vocab_size: int
    embedding_dim: int = 128
    hidden_size: int = 512
    num_layers: int = 2

    def to_dict(self) -> dict[str, Any]:
        """Plain values for checkpoints."""
        return asdict(self)


def run_layer(cell: RNNCell, inputs: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
    """Run one recurrent layer over a whole sequence.

    inputs: (T, B, I) time-major; h: (B, H) initial state. Returns (outputs (T, B, H), h_T).
    """
    x_proj = cell.project_input(inputs)  # (T, B, H): the h-independent half, for all t at once
    outputs = []
    # unbind, not x_proj[t]: with indexing, every backward step would write a (T, B, H) zero
    # tensor holding one slice of gradient; unbind's backward stacks the slices once.
    for x_proj_t in x_proj.unbind(0):
        h = cell.step(x_proj_t, h)
        outputs.append(h)
    return torch.stack(outputs), h


class RNNLanguageModel(nn.Module):
    """Predicts the next character at every position of a batch of character ids."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        sizes = [config.embedding_dim] + [config.hidden_size] * config.num_layers
        self.cells = nn.ModuleList(RNNCell(i, h) for i, h in zip(sizes[:-1], sizes[1:]))
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    def init_hidden(self, batch_size: int) -> Tensor:
        """The zero state every sequence starts from: (num_layers, B, H)."""
        weight = self.head.weight
        return weight.new_zeros(self.config.num_layers, batch_size, self.config.hidden_size)

    def forward(self, tokens: Tensor, hidden: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """tokens (B, T) int64, hidden (L, B, H) or None -> logits (B, T, V), hidden (L, B, H).

        Pass the returned hidden state back in to continue a text where the last call stopped.
        """
        if hidden is None:
            hidden = self.init_hidden(tokens.shape[0])
        x = self.embedding(tokens.t())  # (T, B, E): time-major, so x[t] is contiguous
        final_states = []
        for cell, h0 in zip(self.cells, hidden.unbind(0)):
            x, h_last = run_layer(cell, x, h0)
            final_states.append(h_last)
        logits = self.head(x.transpose(0, 1))  # (B, T, V)
        return logits, torch.stack(final_states)

    def num_parameters(self) -> int:
        """Trainable parameter count."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
