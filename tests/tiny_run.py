"""Test helpers for in-process training runs: a tiny configuration on a generated corpus, its last.pt."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch

import src.train.run_report
import src.train.training
from src.config import TrainConfig
from tests.textgen import make_corpus


def tiny_config(tmp_path: Path, **overrides) -> TrainConfig:
    """A 2 x 24 model, one epoch of ~43 steps on a 24,000-character corpus, every output under tmp_path."""
    make_corpus(tmp_path / "corpus.txt")
    settings = dict(data_file=str(tmp_path / "corpus.txt"), epochs=1, hidden_size=24, embedding_dim=8, seq_len=32,
                    batch_size=16, warmup_steps=5, sample_length=40, checkpoint_dir=str(tmp_path / "checkpoints"),
                    plot=str(tmp_path / "loss_curve.png"), diagnostics_plot=str(tmp_path / "diagnostics.png"))
    return TrainConfig(**{**settings, **overrides})


def last_checkpoint(config: TrainConfig) -> dict:
    """The run's last.pt, loaded as a user would (weights_only)."""
    return torch.load(Path(config.checkpoint_dir) / "last.pt", weights_only=True)


def resume_given(config: TrainConfig, **flags) -> dict:
    """The flags a user types to resume `config`'s run in place (its folders and quiet settings), plus `flags`."""
    return {"resume": True, "checkpoint_dir": config.checkpoint_dir, "plot": config.plot,
            "diagnostics_plot": config.diagnostics_plot, "sample_length": config.sample_length,
            "no_diagnostics": config.no_diagnostics, **flags}


def interrupt_during(monkeypatch: pytest.MonkeyPatch, name: str, call: int = 1) -> None:
    """Make the `call`-th call of `name` by the run (src.train.training or src.train.run_report) arrive with a
    Ctrl-C pending."""
    calls = []
    for module in (src.train.training, src.train.run_report):
        if not hasattr(module, name):
            continue

        def with_ctrl_c(*args, original=getattr(module, name), **kwargs):
            calls.append(name)
            if len(calls) == call:
                signal.raise_signal(signal.SIGINT)
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, with_ctrl_c)
