"""Anchors: torch.nn.RNN and torch.nn.LSTM trained exactly the way train.py trains our tanh RNN.

    python -m bench.anchors --library lstm --data-file text.txt --max-minutes 30 --hidden-size 512

(from the repository's root, like the other scripts).

The run is train.py's own (`src.train.training.fit`): the same data and split, windows, batches,
optimizer, learning-rate schedule, budget, checkpoints and exact evaluation. Only the recurrence
is the library's, so every results table can hold the two rows a reader asks for: the plain
library tanh RNN and a gated model. Every train.py flag works here too (see --help), except
those that act inside our recurrence (`--cell`, `--weight-drop`, `--ar`, ...): they are refused
with a one-line error naming them, rather than silently ignored.

Two things differ, because they read our cells' equations: the gradient/saturation diagnostics
are off and no samples are drawn. The effective-memory curve needs only the forward pass, so
it is measured on the best checkpoint at the end (same positions and contexts as our runs) and
written to `<checkpoint-dir>/memory.json` with its span.

Library recurrent layers are allowed here (and in tests/), never in src/: they are the reference.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from src.analysis.diagnostics import memory_curve, memory_span
from src.cli import add_dataclass_arguments, run_main
from src.config import TrainConfig
from src.data.corpus import load_corpus
from src.data.vocab import CharVocab
from src.device import resolve_device
from src.errors import UserError
from src.model.rnn_model import ModelConfig
from src.train.checkpoint import load_checkpoint
from src.train.run import fit


class LibraryLanguageModel(nn.Module):
    """Embedding -> a library recurrent stack -> linear head, with our model's interface.

    Dropout as in ours: between layers (the library layer's own `dropout`) and before the head.
    The hidden state crosses the interface as one tensor (L, B, S): the LSTM's (h, c) pair is
    concatenated on the last axis, so evaluation can carry and slice it like ours.
    """

    layer_type: type[nn.Module] = nn.RNN
    kind = "torch.nn.RNN (tanh)"

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.recurrence = self.layer_type(config.embedding_dim, config.hidden_size, config.num_layers,
                                          batch_first=True, dropout=config.dropout if config.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden_size, config.vocab_size)

    @classmethod
    def from_checkpoint(cls, state: dict[str, Any]) -> LibraryLanguageModel:
        """The model a checkpoint describes, holding its weights."""
        model = cls(ModelConfig(**state["model_config"]))
        model.load_state_dict(state["model"])
        return model

    def pack(self, state: Tensor | tuple[Tensor, Tensor]) -> Tensor:
        """The library's state as one (L, B, S) tensor."""
        return torch.cat(state, dim=-1) if isinstance(state, tuple) else state

    def unpack(self, hidden: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """Back from `pack` to what the library layer takes (nn.RNN: the tensor itself)."""
        return hidden

    def forward(self, tokens: Tensor, hidden: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """tokens (B, T) -> logits (B, T, V), hidden (L, B, S), like RNNLanguageModel.forward."""
        outputs, state = self.recurrence(self.embedding(tokens), None if hidden is None else self.unpack(hidden))
        return self.head(self.dropout(outputs)), self.pack(state)

    def num_parameters(self) -> int:
        """Trainable parameter count."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


class LibraryLSTMModel(LibraryLanguageModel):
    """The gated anchor: torch.nn.LSTM, (h, c) carried as one tensor."""

    layer_type = nn.LSTM
    kind = "torch.nn.LSTM"

    def unpack(self, hidden: Tensor) -> tuple[Tensor, Tensor]:
        """(h, c) from their concatenation on the last axis."""
        h, c = hidden.chunk(2, dim=-1)
        return h.contiguous(), c.contiguous()


ANCHORS = {"rnn": LibraryLanguageModel, "lstm": LibraryLSTMModel}


def write_memory(config: TrainConfig, anchor: type[LibraryLanguageModel]) -> dict[str, Any]:
    """Effective memory of best.pt on the validation split; written to memory.json and returned."""
    directory = Path(config.checkpoint_dir)
    state = load_checkpoint(directory / "best.pt")
    device = resolve_device(config.device)
    model = anchor.from_checkpoint(state).to(device)
    valid_ids = CharVocab(state["vocab"]).encode(load_corpus(config).valid)
    contexts, losses = memory_curve(model, valid_ids, device, state["config"]["precision"])
    record = {"memory_context": contexts, "memory_loss": losses, "memory_span": memory_span(contexts, losses)}
    (directory / "memory.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"memory span of best.pt: {record['memory_span']} characters "
          f"(loss with k=1/{contexts[-1]}: {losses[0]:.3f}/{losses[-1]:.3f}) -> {directory / 'memory.json'}")
    return record


# Flags that act inside our recurrence or on our states: the library layers have no such hooks, so
# the anchor would silently train without them (or fail deep in a step). Their defaults are no-ops.
OUR_RECURRENCE_ONLY = ("cell", "recurrent_weight", "recurrent_init", "weight_drop", "input_dropout",
                       "dropout_mask", "ar", "tar", "norm_stabiliser")


def refuse_flags_of_our_recurrence(config: TrainConfig) -> None:
    """A one-line UserError naming every flag in OUR_RECURRENCE_ONLY set away from its default."""
    defaults = {f.name: f.default for f in fields(TrainConfig)}
    changed = [f"--{name.replace('_', '-')} {getattr(config, name)}" for name in OUR_RECURRENCE_ONLY
               if getattr(config, name) != defaults[name]]
    if changed:
        raise UserError(f"{', '.join(changed)}: not available for the library anchors (torch.nn.RNN/LSTM have "
                        "their own cell and per-step dropout between layers, and none of our W_hh, input or "
                        "state regularisers)")


def main() -> int:
    parser = argparse.ArgumentParser(description="Train torch.nn.RNN or torch.nn.LSTM exactly as train.py trains "
                                                 "the from-scratch tanh RNN, for results tables' anchor rows.")
    parser.add_argument("--library", choices=sorted(ANCHORS), required=True,
                        help="rnn: torch.nn.RNN (tanh, the same equation as ours); lstm: torch.nn.LSTM")
    add_dataclass_arguments(parser, TrainConfig)
    given = vars(parser.parse_args())
    library = given.pop("library")
    # The diagnostics and the sampler read our cells' equations; the library layers have none.
    given.update(no_diagnostics=True, sample_length=0)
    config = TrainConfig(**given)
    refuse_flags_of_our_recurrence(config)
    code = fit(config, given, model_class=ANCHORS[library])
    if code == 0:
        write_memory(config, ANCHORS[library])
    return code


if __name__ == "__main__":
    run_main(main)
