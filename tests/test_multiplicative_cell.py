"""The multiplicative-integration cell (--cell multiplicative): its equation, its hand-written backward, its use."""

from __future__ import annotations

import pytest
import torch

from src.model.multiplicative_cell import MultiplicativeRNNCell, MultiplicativeTanhRecurrence
from src.model.rnn_model import ModelConfig, RNNLanguageModel
from tests.cell_agreement import (
    assert_a_whole_run_uses_the_cell,
    assert_gradients_equal_the_autograd_loop,
    assert_implementations_agree,
    assert_sampling_follows_the_forward_pass,
)


def random_inputs(T=6, B=3, H=5, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    w = torch.randn(B, T, H, dtype=dtype, requires_grad=True)
    h0 = torch.randn(B, H, dtype=dtype, requires_grad=True)
    weight_hh = (0.5 * torch.randn(H, H, dtype=dtype)).requires_grad_()
    gains = [(1 + 0.3 * torch.randn(H, dtype=dtype)).requires_grad_() for _ in range(3)]
    bias = (0.2 * torch.randn(H, dtype=dtype)).requires_grad_()
    return (w, h0, weight_hh, *gains, bias)


def cell_with(weight_hh, alpha, beta_h, beta_x, bias, size=5) -> MultiplicativeRNNCell:
    cell = MultiplicativeRNNCell(size, size).double()
    with torch.no_grad():
        cell.weight_hh.copy_(weight_hh)
        cell.mi_alpha.copy_(alpha)
        cell.mi_beta_h.copy_(beta_h)
        cell.mi_beta_x.copy_(beta_x)
        cell.bias_ih.copy_(bias)
        cell.bias_hh.zero_()
    return cell


def mi_model(impl: str = "bptt", seed: int = 0) -> RNNLanguageModel:
    torch.manual_seed(seed)
    model = RNNLanguageModel(ModelConfig(vocab_size=9, embedding_dim=4, hidden_size=6, num_layers=2, rnn_impl=impl,
                                         cell="multiplicative")).double()
    with torch.no_grad():  # gains away from 1, so a term mixed up with another would show
        for cell in model.cells:
            for gain in (cell.mi_alpha, cell.mi_beta_h, cell.mi_beta_x):
                gain.add_(0.5 * torch.randn_like(gain))
    return model


@pytest.mark.parametrize("steps", [1, 6])
def test_gradcheck_of_the_hand_written_backward(steps):
    assert torch.autograd.gradcheck(MultiplicativeTanhRecurrence.apply, random_inputs(T=steps))


def test_step_equals_the_written_equation():
    w, h0, weight_hh, alpha, beta_h, beta_x, bias = random_inputs()
    cell = cell_with(weight_hh, alpha, beta_h, beta_x, bias)
    u = h0 @ weight_hh.T
    expected = torch.tanh(alpha * w[:, 0] * u + beta_h * u + beta_x * w[:, 0] + bias)
    torch.testing.assert_close(cell.step(w[:, 0], h0), expected, rtol=0, atol=1e-14)


def test_the_input_projection_leaves_the_biases_to_the_step():
    cell = MultiplicativeRNNCell(3, 4).double()
    x = torch.randn(2, 3, dtype=torch.float64)
    torch.testing.assert_close(cell.project_input(x), x @ cell.weight_ih.T, rtol=0, atol=1e-15)


def test_hand_written_gradients_equal_the_autograd_loop():
    w, h0, weight_hh, alpha, beta_h, beta_x, bias = random_inputs(T=20, B=4, H=8)
    cell = cell_with(weight_hh, alpha, beta_h, beta_x, bias, size=8)
    wrt = (w, h0, cell.weight_hh, cell.mi_alpha, cell.mi_beta_h, cell.mi_beta_x, cell.bias_ih, cell.bias_hh)
    assert_gradients_equal_the_autograd_loop(cell, w, h0, wrt)


def test_both_implementations_of_the_model_agree_on_logits_and_every_gradient():
    assert_implementations_agree(mi_model)


def test_a_fresh_cell_has_every_gain_at_one():
    cell = MultiplicativeRNNCell(3, 4)
    for gain in (cell.mi_alpha, cell.mi_beta_h, cell.mi_beta_x):
        assert torch.equal(gain.detach(), torch.ones(4))


def test_bf16_outputs_with_gradients_in_each_inputs_dtype():
    w, h0, *rest = (t.detach().float().requires_grad_() for t in random_inputs())
    out = MultiplicativeTanhRecurrence.apply(w.detach().bfloat16().requires_grad_(), h0, *rest)
    assert out.dtype == torch.bfloat16
    grads = torch.autograd.grad(out.float().sum(), (h0, *rest))
    assert all(g.dtype == torch.float32 for g in grads)


def test_sampling_steps_through_the_models_own_forward_pass():
    assert_sampling_follows_the_forward_pass(mi_model())


def test_a_whole_run_with_the_multiplicative_cell_trains_validates_and_tests(tmp_path, capsys):
    assert_a_whole_run_uses_the_cell(tmp_path, capsys, "multiplicative")
