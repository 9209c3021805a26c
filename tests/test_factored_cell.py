"""The multiplicative RNN cell (--cell factored): its equation, its hand-written backward, its use."""

from __future__ import annotations

import pytest
import torch

from src.model.factored_cell import FactoredRNNCell, FactoredTanhRecurrence
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
    v = (1 + 0.5 * torch.randn(B, T, H, dtype=dtype)).requires_grad_()
    h0 = torch.randn(B, H, dtype=dtype, requires_grad=True)
    weight_fh = (0.5 * torch.randn(H, H, dtype=dtype)).requires_grad_()
    weight_hf = (0.5 * torch.randn(H, H, dtype=dtype)).requires_grad_()
    return w, v, h0, weight_fh, weight_hf


def cell_with(weight_fh, weight_hf, size=5) -> FactoredRNNCell:
    cell = FactoredRNNCell(size, size).double()
    with torch.no_grad():
        cell.weight_hh.copy_(weight_fh)
        cell.weight_hf.copy_(weight_hf)
    return cell


def factored_model(impl: str = "bptt", seed: int = 0) -> RNNLanguageModel:
    torch.manual_seed(seed)
    model = RNNLanguageModel(ModelConfig(vocab_size=9, embedding_dim=4, hidden_size=6, num_layers=2, rnn_impl=impl,
                                         cell="factored")).double()
    with torch.no_grad():  # W_hf away from I and b_fx away from 1, so a transposed or skipped factor would show
        for cell in model.cells:
            cell.weight_hf.add_(0.3 * torch.randn_like(cell.weight_hf))
            cell.bias_fx.add_(0.5 * torch.randn_like(cell.bias_fx))
    return model


@pytest.mark.parametrize("steps", [1, 6])
def test_gradcheck_of_the_hand_written_backward(steps):
    assert torch.autograd.gradcheck(FactoredTanhRecurrence.apply, random_inputs(T=steps))


def test_step_equals_the_written_equation():
    w, v, h0, weight_fh, weight_hf = random_inputs()
    cell = cell_with(weight_fh, weight_hf)
    expected = torch.tanh(w[:, 0] + (v[:, 0] * (h0 @ weight_fh.T)) @ weight_hf.T)
    got = cell.step(torch.cat([w[:, 0], v[:, 0]], dim=-1), h0)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-14)


def test_the_input_projection_gives_the_additive_term_and_the_factor_gains():
    cell = FactoredRNNCell(3, 4).double()
    x = torch.randn(2, 3, dtype=torch.float64)
    w, v = cell.project_input(x).split(4, dim=-1)
    torch.testing.assert_close(w, x @ cell.weight_ih.T + cell.bias_ih + cell.bias_hh, rtol=0, atol=1e-15)
    torch.testing.assert_close(v, x @ cell.weight_fx.T + cell.bias_fx, rtol=0, atol=1e-15)


def test_hand_written_gradients_equal_the_autograd_loop():
    w, v, h0, weight_fh, weight_hf = random_inputs(T=20, B=4, H=8)
    cell = cell_with(weight_fh, weight_hf, size=8)
    x_proj = torch.cat([w, v], dim=-1).detach().requires_grad_()
    assert_gradients_equal_the_autograd_loop(cell, x_proj, h0, (x_proj, h0, cell.weight_hh, cell.weight_hf))


def test_both_implementations_of_the_model_agree_on_logits_and_every_gradient():
    assert_implementations_agree(factored_model)


def test_a_fresh_cell_is_the_vanilla_cell_with_its_recurrent_rows_scaled_by_the_input():
    cell = FactoredRNNCell(3, 4).double()
    assert torch.equal(cell.weight_hf.detach(), torch.eye(4, dtype=torch.float64))
    assert torch.equal(cell.bias_fx.detach(), torch.ones(4, dtype=torch.float64))
    x, h = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    v = x @ cell.weight_fx.T + 1
    expected = torch.tanh(x @ cell.weight_ih.T + cell.bias_ih + cell.bias_hh + v * (h @ cell.weight_hh.T))
    torch.testing.assert_close(cell(x, h), expected, rtol=0, atol=1e-14)


def test_the_diagnostics_read_the_recurrent_matrix_of_a_zero_input():
    cell = FactoredRNNCell(3, 4).double()
    h = torch.randn(2, 4, dtype=torch.float64)
    zero_input = torch.zeros(2, 3, dtype=torch.float64)
    linear_part = torch.atanh(cell(zero_input, h)) - cell.bias_ih - cell.bias_hh
    torch.testing.assert_close(linear_part, h @ cell.recurrent_matrix().T, rtol=0, atol=1e-12)


def test_dropconnect_masks_the_factor_read_out_of_the_state():
    model = RNNLanguageModel(ModelConfig(vocab_size=9, hidden_size=6, cell="factored", weight_drop=0.5)).train()
    masked = model.recurrent_weight(model.cells[0])
    assert masked.shape == model.cells[0].weight_hh.shape and (masked == 0).any()


def test_bf16_outputs_with_gradients_in_each_inputs_dtype():
    w, v, h0, *weights = (t.detach().float().requires_grad_() for t in random_inputs())
    out = FactoredTanhRecurrence.apply(w.detach().bfloat16().requires_grad_(), v.detach().bfloat16().requires_grad_(),
                                       h0, *weights)
    assert out.dtype == torch.bfloat16
    grads = torch.autograd.grad(out.float().sum(), (h0, *weights))
    assert all(g.dtype == torch.float32 for g in grads)


def test_sampling_steps_through_the_models_own_forward_pass():
    assert_sampling_follows_the_forward_pass(factored_model())


def test_a_whole_run_with_the_factored_cell_trains_validates_and_tests(tmp_path, capsys):
    assert_a_whole_run_uses_the_cell(tmp_path, capsys, "factored")
