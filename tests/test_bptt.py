"""The hand-written backward through time equals autograd's, and trains identically."""

import pytest
import torch
import torch.nn.functional as F

from src.model.bptt import tanh_recurrence
from src.model.rnn_cell import RNNCell
from src.model.rnn_model import ModelConfig, RNNLanguageModel, autograd_recurrence


def random_inputs(T=6, B=3, H=5, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    x_proj = torch.randn(B, T, H, dtype=dtype, requires_grad=True)
    h0 = torch.randn(B, H, dtype=dtype, requires_grad=True)
    weight_hh = (0.5 * torch.randn(H, H, dtype=dtype)).requires_grad_()
    return x_proj, h0, weight_hh


def test_gradcheck_of_the_hand_written_backward_including_the_initial_state():
    assert torch.autograd.gradcheck(tanh_recurrence, random_inputs())


def test_gradcheck_with_a_single_time_step():
    assert torch.autograd.gradcheck(tanh_recurrence, random_inputs(T=1))


def test_forward_equals_the_equation_step_by_step():
    x_proj, h0, weight_hh = random_inputs()
    h, expected = h0, []
    for t in range(x_proj.shape[1]):
        h = torch.tanh(x_proj[:, t] + h @ weight_hh.T)
        expected.append(h)
    torch.testing.assert_close(tanh_recurrence(x_proj, h0, weight_hh), torch.stack(expected, dim=1),
                               rtol=0, atol=1e-14)


def test_gradients_equal_the_autograd_loop_for_an_arbitrary_upstream_gradient():
    x_proj, h0, weight_hh = random_inputs(T=20, B=4, H=8)
    upstream = torch.randn(4, 20, 8, dtype=torch.float64)
    cell = RNNCell(8, 8).double()
    with torch.no_grad():
        cell.weight_hh.copy_(weight_hh)

    ours = torch.autograd.grad((tanh_recurrence(x_proj, h0, weight_hh) * upstream).sum(), (x_proj, h0, weight_hh))
    ref = torch.autograd.grad((autograd_recurrence(cell, x_proj, h0) * upstream).sum(), (x_proj, h0, cell.weight_hh))
    for mine, theirs in zip(ours, ref):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-12)


def test_bfloat16_inputs_give_gradients_in_each_inputs_own_dtype():
    x_proj, h0, weight_hh = random_inputs(dtype=torch.float32)
    out = tanh_recurrence(x_proj.detach().bfloat16().requires_grad_(), h0, weight_hh)
    assert out.dtype == torch.bfloat16
    d_h0, d_weight = torch.autograd.grad(out.float().sum(), (h0, weight_hh))
    assert d_h0.dtype == d_weight.dtype == torch.float32


def test_training_steps_give_the_same_losses_on_both_paths():
    torch.manual_seed(0)
    tokens = torch.randint(0, 30, (8, 33))
    losses = {}
    for impl in ("autograd", "bptt"):
        torch.manual_seed(1)
        model = RNNLanguageModel(ModelConfig(vocab_size=30, embedding_dim=8, hidden_size=16, num_layers=2,
                                             rnn_impl=impl))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        history = []
        for _ in range(5):
            logits, _ = model(tokens[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, 30), tokens[:, 1:].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        losses[impl] = history
    assert losses["bptt"] == pytest.approx(losses["autograd"], abs=1e-5)
    assert losses["bptt"][-1] < losses["bptt"][0]
