"""The character-level language model: embedding -> stacked tanh RNN layers -> linear head.

    e_t      = E[c_t]                                   (B, E)   embedding of character c_t
    h_t^(1)  = tanh(e_t W_ih^(1)T + b_ih^(1) + h_{t-1}^(1) W_hh^(1)T + b_hh^(1))
    h_t^(l)  = tanh(h_t^(l-1) W_ih^(l)T + b_ih^(l) + h_{t-1}^(l) W_hh^(l)T + b_hh^(l))
    logits_t = h_t^(L) W_out^T + b_out                  (B, V)   scores for character c_{t+1}

The time loop is explicit and runs layer by layer: layer l consumes the whole output sequence of
layer l-1. That order lets each layer project all its inputs in one matrix multiply up front.

Two implementations of the loop, selected by `ModelConfig.rnn_impl`, compute the same function:

- "autograd": the reference. A plain Python loop of `RNNCell.step`; PyTorch differentiates it.
- "bptt" (default, faster, about half the activation memory): the same loop run without a graph,
  with the backward pass through time written by hand in `bptt.py`. It also folds layer 0's input
  projection into the embedding: emb(c) W_ih^T + b == (E W_ih^T + b)[c], so when the batch has
  more positions than the vocabulary has characters, it projects the V-row table once instead.

`ModelConfig.cell` picks the layer's equation (`CELLS`: the vanilla one above, or an opt-in ungated
variant with its own hand-written backward); `recurrent_weight` and `weight_drop` change how W_hh
is parametrised and regularised in training, and `input_dropout` drops whole input embeddings in
training: neither changes the equation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from src.model.factored_cell import FactoredRNNCell
from src.model.layernorm_cell import LayerNormRNNCell
from src.model.multiplicative_cell import MultiplicativeRNNCell
from src.model.orthogonal import RECURRENT_WEIGHTS, make_recurrent_weight_orthogonal
from src.model.rnn_cell import RNNCell
from src.model.sequence_dropout import DROPOUT_MASKS, SequenceDropout
from src.model.zoneout_cell import ZoneoutRNNCell

RNN_IMPLS = ("bptt", "autograd")
# The cell equations: "vanilla" is the seed's; every other one is an opt-in ungated variant.
CELLS: dict[str, type[RNNCell]] = {"vanilla": RNNCell, "layernorm": LayerNormRNNCell,
                                   "multiplicative": MultiplicativeRNNCell, "factored": FactoredRNNCell,
                                   "zoneout": ZoneoutRNNCell}


@dataclass
class ModelConfig:
    """The architecture, enough to rebuild the model from a checkpoint."""

    vocab_size: int
    embedding_dim: int = 128
    hidden_size: int = 512
    num_layers: int = 2
    rnn_impl: str = "bptt"
    dropout: float = 0.0  # on each layer's outputs, before the next layer and before the head
    recurrent_init: str = "uniform"  # see RNNCell: uniform, orthogonal or identity W_hh
    cell: str = "vanilla"  # a key of CELLS
    weight_drop: float = 0.0  # DropConnect probability on W_hh during training (see recurrent_weight)
    recurrent_weight: str = "free"  # free, or orthogonal: W_hh = exp(A - A^T) (src/model/orthogonal.py)
    zoneout: float = 0.1  # the probability p of the zoneout cell (used by cell="zoneout" only)
    dropout_mask: str = "step"  # a key of DROPOUT_MASKS: a fresh mask per position, or one per sequence
    input_dropout: float = 0.0  # probability that a position's whole input embedding e_t is dropped in training

    def __post_init__(self) -> None:
        if self.rnn_impl not in RNN_IMPLS:
            raise ValueError(f"rnn_impl must be one of {RNN_IMPLS}, got {self.rnn_impl!r}")
        if not 0 <= self.weight_drop < 1:
            raise ValueError(f"weight_drop must be in [0, 1), got {self.weight_drop}")
        if self.recurrent_weight not in RECURRENT_WEIGHTS:
            raise ValueError(f"recurrent_weight must be one of {RECURRENT_WEIGHTS}, got {self.recurrent_weight!r}")
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {tuple(CELLS)}, got {self.cell!r}")
        if self.cell == "zoneout" and not 0 < self.zoneout < 1:
            raise ValueError(f"zoneout must be in (0, 1), got {self.zoneout}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.dropout_mask not in DROPOUT_MASKS:
            raise ValueError(f"dropout_mask must be one of {DROPOUT_MASKS}, got {self.dropout_mask!r}")
        if not 0 <= self.input_dropout < 1:
            raise ValueError(f"input_dropout must be in [0, 1), got {self.input_dropout}")

    def to_dict(self) -> dict[str, Any]:
        """Plain values for checkpoints."""
        return asdict(self)


def autograd_recurrence(cell: RNNCell, x_proj: Tensor, h: Tensor, weight_hh: Tensor | None = None) -> Tensor:
    """The reference loop: h_t = cell.step(x_proj_t, h_{t-1}) for t = 0..T-1, differentiated by autograd.

    x_proj: (B, T, H) projected inputs (`cell.project_input`); h: (B, H); `weight_hh` replaces the
    cell's W_hh when given. Returns (B, T, H).
    """
    outputs = []
    # unbind, not x_proj[:, t]: with indexing, every backward step would write a (B, T, H) zero
    # tensor holding one slice of gradient; unbind's backward stacks the slices once.
    for x_proj_t in x_proj.unbind(1):
        h = cell.step(x_proj_t, h, weight_hh)
        outputs.append(h)
    return torch.stack(outputs, dim=1)


class RNNLanguageModel(nn.Module):
    """Predicts the next character at every position of a batch of character ids."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        sizes = [config.embedding_dim] + [config.hidden_size] * config.num_layers
        cell_class = CELLS[config.cell]
        options = {"zoneout": config.zoneout} if config.cell == "zoneout" else {}
        self.cells = nn.ModuleList(cell_class(i, h, config.recurrent_init, **options)
                                   for i, h in zip(sizes[:-1], sizes[1:]))
        if config.recurrent_weight == "orthogonal":
            for cell in self.cells:
                make_recurrent_weight_orthogonal(cell)
        # Between layers, not inside the recurrence: dropping recurrent connections would perturb
        # the memory itself at every step (Zaremba et al., 2014). dropout_mask "sequence" drops the
        # same units at every step of a window instead of a fresh draw per position.
        self.dropout = nn.Dropout(config.dropout) if config.dropout_mask == "step" else SequenceDropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    @property
    def kind(self) -> str:
        """How the training log names the recurrence."""
        cell = "" if self.config.cell == "vanilla" else f"{self.config.cell} "
        return f"{cell}tanh RNN ({self.config.rnn_impl})"

    @classmethod
    def from_checkpoint(cls, state: dict[str, Any]) -> RNNLanguageModel:
        """The model a checkpoint describes (`model_config`), holding its weights (`model`)."""
        model = cls(ModelConfig(**state["model_config"]))
        model.load_state_dict(state["model"])
        return model

    def init_hidden(self, batch_size: int) -> Tensor:
        """The zero state every sequence starts from: (num_layers, B, H)."""
        weight = self.head.weight
        return weight.new_zeros(self.config.num_layers, batch_size, self.config.hidden_size)

    def forward(self, tokens: Tensor, hidden: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """tokens (B, T) int64, hidden (L, B, H) or None -> logits (B, T, V), hidden (L, B, H).

        Pass the returned hidden state back in to continue a text where the last call stopped.
        """
        logits, hidden, _ = self.forward_with_states(tokens, hidden)
        return logits, hidden

    def forward_with_states(self, tokens: Tensor, hidden: Tensor | None = None
                            ) -> tuple[Tensor, Tensor, list[Tensor]]:
        """`forward`, plus every layer's hidden states h_t^(l) for all t: a list of L tensors (B, T, H).

        The states are the layers' outputs before dropout: what the regularisers penalise and what
        a viewer of the hidden units shows.
        """
        if hidden is None:
            hidden = self.init_hidden(tokens.shape[0])
        states: list[Tensor] = []
        x: Tensor | None = None  # the previous layer's outputs, (B, T, H)
        for cell, h0 in zip(self.cells, hidden.unbind(0)):
            x_proj = self.embed_and_project(tokens) if x is None else cell.project_input(self.dropout(x))
            weight_hh = self.recurrent_weight(cell)
            if self.config.rnn_impl == "bptt":
                x = cell.recurrence(x_proj, h0, weight_hh)
            else:
                x = autograd_recurrence(cell, x_proj, h0, weight_hh)
            states.append(x)
        logits = self.head(self.dropout(x))  # (B, T, V)
        return logits, torch.stack([layer[:, -1] for layer in states]), states

    def recurrent_weight(self, cell: RNNCell) -> Tensor:
        """W_hh as this forward pass uses it: in training with weight_drop p, DropConnect (Wan et al.,
        2013; on W_hh as in Merity et al., 2017): each entry zeroed with probability p, the rest
        scaled by 1/(1-p), one mask for every step of the window. Otherwise W_hh itself.
        """
        if self.training and self.config.weight_drop > 0:
            return F.dropout(cell.weight_hh, self.config.weight_drop)
        return cell.weight_hh

    def embed_and_project(self, tokens: Tensor) -> Tensor:
        """Layer 0's projected inputs e_t W_ih^T + b_ih + b_hh for token ids of any shape.

        In training with input_dropout p, each position's embedding is dropped whole:
        e_t -> e_t m_t / (1 - p), m_t ~ Bernoulli(1 - p), one draw per position. The projection
        proj(e) = e W_ih^T + b is affine, so proj(e_t m_t / (1 - p)) = b + (proj(e_t) - b) m_t / (1 - p)
        with b = proj(0): the mask can act after the projection, and the V-row table still serves.
        """
        projected = self.project_embedding(tokens)
        p = self.config.input_dropout
        if not (self.training and p > 0):
            return projected
        bias = self.cells[0].project_input(projected.new_zeros(self.config.embedding_dim))  # (H,): proj(0)
        keep = projected.new_empty(*tokens.shape, 1).bernoulli_(1 - p)  # (..., 1): m_t, 0 or 1
        return bias + (projected - bias) * keep / (1 - p)

    def project_embedding(self, tokens: Tensor) -> Tensor:
        """e_t W_ih^T + b_ih + b_hh for token ids of any shape, without input dropout."""
        cell = self.cells[0]
        if self.config.rnn_impl == "bptt" and tokens.numel() > self.config.vocab_size:
            table = cell.project_input(self.embedding.weight)  # (V, H): one row per character
            # Gather from an (at least) float32 copy even under bf16 autocast: the lookup's backward
            # sums the gradient of every position that holds a character into its row (a space
            # fills ~17% of positions, over a thousand per batch), and a bfloat16 running sum of
            # that many terms loses several percent. The gathered rows go back to the loop's dtype.
            accumulate = torch.promote_types(table.dtype, torch.float32)  # bf16 -> fp32; fp64 stays
            return F.embedding(tokens, table.to(accumulate)).to(table.dtype)
        return cell.project_input(self.embedding(tokens))

    def num_parameters(self) -> int:
        """Trainable parameter count."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
