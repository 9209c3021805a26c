"""The layer-normalised tanh cell (--cell layernorm): its equation, its hand-written backward, its use."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from src.model.layernorm_cell import EPS, LayerNormRNNCell, LayerNormTanhRecurrence
from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.model.stepper import RNNStepper
from tests.cell_agreement import (
    assert_a_whole_run_uses_the_cell,
    assert_gradients_equal_the_autograd_loop,
    assert_implementations_agree,
    assert_sampling_follows_the_forward_pass,
)


def random_inputs(T=6, B=3, H=5, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    x_proj = torch.randn(B, T, H, dtype=dtype, requires_grad=True)
    h0 = torch.randn(B, H, dtype=dtype, requires_grad=True)
    weight_hh = (0.5 * torch.randn(H, H, dtype=dtype)).requires_grad_()
    gain = (1 + 0.3 * torch.randn(H, dtype=dtype)).requires_grad_()
    shift = (0.2 * torch.randn(H, dtype=dtype)).requires_grad_()
    return x_proj, h0, weight_hh, gain, shift


def ln_model(impl: str = "bptt", seed: int = 0) -> RNNLanguageModel:
    torch.manual_seed(seed)
    return RNNLanguageModel(ModelConfig(vocab_size=9, embedding_dim=4, hidden_size=6, num_layers=2, rnn_impl=impl,
                                        cell="layernorm")).double()


@pytest.mark.parametrize("steps", [1, 6])
def test_gradcheck_of_the_hand_written_backward(steps):
    assert torch.autograd.gradcheck(LayerNormTanhRecurrence.apply, random_inputs(T=steps))


def test_step_equals_the_equation_with_pytorchs_layer_norm():
    x_proj, h0, weight_hh, gain, shift = random_inputs()
    cell = LayerNormRNNCell(4, 5).double()
    with torch.no_grad():
        cell.weight_hh.copy_(weight_hh)
        cell.norm_gain.copy_(gain)
        cell.norm_shift.copy_(shift)
    expected = torch.tanh(F.layer_norm(x_proj[:, 0] + h0 @ weight_hh.T, (5,), gain, shift, eps=EPS))
    torch.testing.assert_close(cell.step(x_proj[:, 0], h0), expected, rtol=0, atol=1e-14)


def test_hand_written_gradients_equal_the_autograd_loop():
    x_proj, h0, weight_hh, gain, shift = random_inputs(T=20, B=4, H=8)
    cell = LayerNormRNNCell(8, 8).double()
    with torch.no_grad():
        cell.weight_hh.copy_(weight_hh)
        cell.norm_gain.copy_(gain)
        cell.norm_shift.copy_(shift)
    assert_gradients_equal_the_autograd_loop(cell, x_proj, h0,
                                             (x_proj, h0, cell.weight_hh, cell.norm_gain, cell.norm_shift))


def test_both_implementations_of_the_model_agree_on_logits_and_every_gradient():
    assert_implementations_agree(ln_model)


def test_a_fresh_cell_normalises_to_unit_gain_and_zero_shift():
    cell = LayerNormRNNCell(3, 4)
    assert torch.equal(cell.norm_gain.detach(), torch.ones(4))
    assert torch.equal(cell.norm_shift.detach(), torch.zeros(4))


def test_bf16_outputs_with_gradients_in_each_inputs_dtype():
    x_proj, h0, weight_hh, gain, shift = (t.detach().float().requires_grad_() for t in random_inputs())
    out = LayerNormTanhRecurrence.apply(x_proj.detach().bfloat16().requires_grad_(), h0, weight_hh, gain, shift)
    assert out.dtype == torch.bfloat16
    grads = torch.autograd.grad(out.float().sum(), (h0, weight_hh, gain, shift))
    assert all(g.dtype == torch.float32 for g in grads)


def test_bf16_gradients_stay_within_bf16_rounding_of_the_float32_ones():
    inputs = [t.detach().float() for t in random_inputs(T=12, B=4, H=64)]
    upstream = torch.randn(4, 12, 64)

    def gradients(x_dtype: torch.dtype) -> list[torch.Tensor]:
        leaves = [t.clone().requires_grad_() for t in inputs]
        x_proj = leaves[0].detach().to(x_dtype).requires_grad_()
        out = LayerNormTanhRecurrence.apply(x_proj, *leaves[1:])
        return [g.float() for g in torch.autograd.grad((out.float() * upstream).sum(), [x_proj, *leaves[1:]])]

    for low, high in zip(gradients(torch.bfloat16), gradients(torch.float32)):
        assert (low - high).norm() <= 0.03 * high.norm()


def test_sampling_steps_through_the_models_own_forward_pass():
    assert_sampling_follows_the_forward_pass(ln_model())


def test_the_vanilla_fast_stepper_refuses_another_cell():
    with pytest.raises(ValueError, match="vanilla"):
        RNNStepper(ln_model())


def test_a_whole_run_with_the_layernorm_cell_trains_validates_samples_and_tests(tmp_path, capsys):
    out, _ = assert_a_whole_run_uses_the_cell(tmp_path, capsys, "layernorm")
    assert "--- sample ---" in out
