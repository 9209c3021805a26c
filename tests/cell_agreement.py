"""Checks every opt-in cell variant must pass, shared by their test files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from src.model.rnn_model import RNNLanguageModel, autograd_recurrence
from src.model.stepper import ForwardStepper, make_stepper
from src.train.run import fit
from tests.tiny_run import last_checkpoint, tiny_config


def assert_implementations_agree(make_model: Callable[[str], RNNLanguageModel], vocab_size: int = 9) -> None:
    """The bptt and autograd models built by `make_model(impl)` (same weights) give the same logits and gradients.

    60 positions > `vocab_size` characters, so the bptt model's folded layer-0 lookup is used.
    """
    tokens = torch.randint(0, vocab_size, (5, 12))
    models = {impl: make_model(impl) for impl in ("bptt", "autograd")}
    grads = {}
    for impl, model in models.items():
        logits, _ = model(tokens)
        logits.square().mean().backward()
        grads[impl] = {name: p.grad for name, p in model.named_parameters()}
    torch.testing.assert_close(models["bptt"](tokens)[0], models["autograd"](tokens)[0], rtol=0, atol=1e-12)
    for name, grad in grads["bptt"].items():
        torch.testing.assert_close(grad, grads["autograd"][name], rtol=0, atol=1e-12, msg=name)


def assert_gradients_equal_the_autograd_loop(cell: torch.nn.Module, x_proj: torch.Tensor, h0: torch.Tensor,
                                            wrt: tuple[torch.Tensor, ...]) -> None:
    """The cell's hand-written backward (`cell.recurrence`) and autograd through the loop over `cell.step`
    give the same float64 gradients with respect to `wrt`, for an arbitrary upstream gradient."""
    upstream = torch.randn(h0.shape[0], x_proj.shape[1], h0.shape[1], dtype=torch.float64)
    ours = torch.autograd.grad((cell.recurrence(x_proj, h0) * upstream).sum(), wrt)
    ref = torch.autograd.grad((autograd_recurrence(cell, x_proj, h0) * upstream).sum(), wrt)
    for i, (mine, theirs) in enumerate(zip(ours, ref)):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-12, msg=f"the gradient for wrt[{i}]")


def assert_sampling_follows_the_forward_pass(model: RNNLanguageModel) -> None:
    """Sampling a variant steps through the model's own forward pass, one character at a time."""
    stepper = make_stepper(model)
    assert isinstance(stepper, ForwardStepper)
    tokens = torch.tensor([[1, 4, 2, 7, 3]])
    expected, _ = model.eval()(tokens)
    for t, char_id in enumerate(tokens[0].tolist()):
        torch.testing.assert_close(stepper.step(char_id), expected[0, t], rtol=0, atol=1e-12)


def assert_a_whole_run_uses_the_cell(tmp_path: Path, capsys: pytest.CaptureFixture, cell: str,
                                     **overrides: Any) -> tuple[str, dict[str, Any]]:
    """A tiny run with `--cell cell` trains, names the cell in its log, tests best.pt and saves the cell.

    Returns the run's printed output and its checkpoint's model_config, for the cell's own further checks.
    """
    config = tiny_config(tmp_path, cell=cell, **overrides)
    assert fit(config, given={}) == 0
    out = capsys.readouterr().out
    assert f"{cell} tanh RNN" in out and "test (best.pt)" in out
    saved = last_checkpoint(config)["model_config"]
    assert saved["cell"] == cell
    return out, saved
