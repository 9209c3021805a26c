"""Several trained models as one predictor: the average of their next-character distributions.

    p(c_{t+1} | c_<=t) = (1/K) sum_k softmax(logits_k(c_<=t))

Each member reads the text with its own recurrent state. `Ensemble` has the interface of
`RNNLanguageModel` (tokens, hidden) -> (scores, hidden), so `evaluate` scores it as it scores one
model; its scores are log p, which a softmax leaves unchanged. Its state packs the members'
states (L_k, B, H_k) side by side as one (1, B, sum_k L_k H_k) tensor, so members may differ in
width, depth and cell.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from src.errors import UserError
from src.model.rnn_model import RNNLanguageModel
from src.train.checkpoint import load_checkpoint


class Ensemble(nn.Module):
    """The members' averaged probabilities, from tokens (B, T): log p (B, T, V) and the packed state."""

    def __init__(self, members: Sequence[RNNLanguageModel]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.state_sizes = [m.config.num_layers * m.config.hidden_size for m in members]

    def forward(self, tokens: Tensor, hidden: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """tokens (B, T), hidden (1, B, D) or None -> log p (B, T, V) in float32, hidden (1, B, D)."""
        states = [None] * len(self.members) if hidden is None else hidden[0].split(self.state_sizes, dim=-1)
        log_probs, new_states = [], []
        for member, packed in zip(self.members, states):
            c = member.config
            h0 = None if packed is None else packed.reshape(-1, c.num_layers, c.hidden_size).transpose(0, 1)
            logits, h = member(tokens, None if h0 is None else h0.contiguous())
            log_probs.append(torch.log_softmax(logits.float(), dim=-1))
            new_states.append(h.transpose(0, 1).reshape(tokens.shape[0], -1))
        # log of the mean probability, computed without leaving log space (no underflow for rare characters)
        mean_log_p = torch.logsumexp(torch.stack(log_probs), dim=0) - math.log(len(log_probs))
        return mean_log_p, torch.cat(new_states, dim=-1).unsqueeze(0)


def load_members(paths: Sequence[str], vocab_chars: list[str] | None = None
                 ) -> tuple[list[RNNLanguageModel], list[str], dict]:
    """Load checkpoints that share one vocabulary: (models in eval mode, the vocabulary, the first state).

    `vocab_chars`, if given, is the vocabulary they must all have (see `members_from`).
    """
    return members_from(paths, [load_checkpoint(path) for path in paths], vocab_chars)


def members_from(paths: Sequence[str], states: Sequence[dict], vocab_chars: list[str] | None = None
                 ) -> tuple[list[RNNLanguageModel], list[str], dict]:
    """The models of loaded checkpoints `states` (read from `paths`), as `load_members` returns them.

    `vocab_chars`, if given, is the vocabulary they must all have (e.g. the run's that distils from
    them). A member with another vocabulary would number the characters differently: a UserError.
    """
    expected = vocab_chars if vocab_chars is not None else states[0]["vocab"]
    for path, state in zip(paths, states):
        if state["vocab"] != expected:
            raise UserError(f"{path} has another vocabulary ({len(state['vocab'])} characters, not "
                            f"{len(expected)}): ensemble members and teachers must be trained on the same text")
    return [RNNLanguageModel.from_checkpoint(s).eval() for s in states], list(expected), states[0]


def split_paths(value: str) -> list[str]:
    """'a.pt,b.pt' -> ['a.pt', 'b.pt'] (a flag that names one or more checkpoints)."""
    paths = [p.strip() for p in value.split(",") if p.strip()]
    if not paths:
        raise UserError(f"no checkpoint named in {value!r}")
    return paths
