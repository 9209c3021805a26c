"""--recurrent-weight orthogonal: W_hh = exp(A - A^T) stays orthogonal and trains through A."""

from __future__ import annotations

import pytest
import torch

from src.model.bptt import tanh_recurrence
from src.model.orthogonal import SkewExponential
from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.train.checkpoint import load_checkpoint, save_checkpoint
from src.train.run import fit
from tests.tiny_run import last_checkpoint, tiny_config

CONFIG = dict(vocab_size=9, embedding_dim=4, hidden_size=6, num_layers=2, recurrent_weight="orthogonal")


def orthogonal_model(impl: str = "bptt", seed: int = 0) -> RNNLanguageModel:
    torch.manual_seed(seed)
    return RNNLanguageModel(ModelConfig(**CONFIG, rnn_impl=impl)).double()


def assert_orthogonal(matrix: torch.Tensor, atol: float = 1e-12) -> None:
    torch.testing.assert_close(matrix.T @ matrix, torch.eye(matrix.shape[0], dtype=matrix.dtype), rtol=0, atol=atol)


def test_the_recurrent_weight_is_orthogonal_at_initialisation():
    for cell in orthogonal_model().cells:
        assert_orthogonal(cell.weight_hh.detach())


def test_the_recurrent_weight_stays_orthogonal_after_large_optimizer_steps():
    model = orthogonal_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=5.0)
    for _ in range(3):
        optimizer.zero_grad()
        model(torch.randint(0, 9, (4, 10)))[0].square().mean().backward()
        optimizer.step()
    for cell in model.cells:
        assert_orthogonal(cell.weight_hh.detach())


def test_the_hand_written_backward_and_the_autograd_loop_give_the_same_gradient_to_a():
    tokens = torch.randint(0, 9, (3, 12))
    grads = {}
    for impl in ("bptt", "autograd"):
        model = orthogonal_model(impl)
        model(tokens)[0].square().mean().backward()
        grads[impl] = {name: p.grad for name, p in model.named_parameters()}
    assert "cells.0.parametrizations.weight_hh.original" in grads["bptt"]
    for name, grad in grads["bptt"].items():
        torch.testing.assert_close(grad, grads["autograd"][name], rtol=0, atol=1e-12, msg=name)


def test_gradcheck_through_the_skew_exponential_and_the_hand_written_recurrence():
    torch.manual_seed(0)
    a = (0.3 * torch.randn(6, 6, dtype=torch.float64)).requires_grad_()
    x_proj = torch.randn(2, 5, 6, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(2, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, x, h: tanh_recurrence(x, h, SkewExponential()(a)), (a, x_proj, h0))


def test_an_orthogonal_checkpoint_loads_back_to_the_same_function(tmp_path):
    model = orthogonal_model()
    save_checkpoint({"config": {}, "model_config": model.config.to_dict(), "vocab": [], "model": model.state_dict()},
                    tmp_path / "m.pt")
    loaded = RNNLanguageModel.from_checkpoint(load_checkpoint(tmp_path / "m.pt")).double()
    tokens = torch.randint(0, 9, (2, 6))
    torch.testing.assert_close(loaded(tokens)[0], model(tokens)[0], rtol=0, atol=1e-12)


def test_a_whole_run_with_an_orthogonal_recurrent_weight(tmp_path):
    config = tiny_config(tmp_path, recurrent_weight="orthogonal")
    assert fit(config, given={}) == 0
    state = last_checkpoint(config)
    model = RNNLanguageModel.from_checkpoint(state)
    assert_orthogonal(model.cells[0].weight_hh.detach(), atol=1e-5)  # float32 weights
    assert state["progress"]["diagnostics"][0]["spectral_radius"] == pytest.approx([1.0, 1.0], abs=1e-4)
