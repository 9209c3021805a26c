"""The cell is exactly the equation h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)."""

import math

import torch

from src.model.rnn_cell import RNNCell


def test_cell_step_equals_the_equation_computed_by_hand():
    torch.manual_seed(0)
    cell = RNNCell(input_size=3, hidden_size=4).double()
    x, h_prev = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)

    expected = torch.empty(2, 4, dtype=torch.float64)
    weight_ih, weight_hh = cell.weight_ih.detach(), cell.weight_hh.detach()
    bias = (cell.bias_ih + cell.bias_hh).detach()
    for b in range(2):
        for j in range(4):
            a = bias[j] + sum(x[b, i] * weight_ih[j, i] for i in range(3))
            a += sum(h_prev[b, k] * weight_hh[j, k] for k in range(4))
            expected[b, j] = math.tanh(a)

    torch.testing.assert_close(cell(x, h_prev), expected, rtol=0, atol=1e-12)


def test_hoisted_input_projection_then_step_equals_one_step():
    torch.manual_seed(1)
    cell = RNNCell(5, 6)
    x, h = torch.randn(7, 5), torch.randn(7, 6)
    torch.testing.assert_close(cell.step(cell.project_input(x), h), cell(x, h))


def test_project_input_handles_a_whole_sequence_at_once():
    torch.manual_seed(2)
    cell = RNNCell(5, 6)
    x = torch.randn(3, 4, 5)  # (B, T, I)
    projected = cell.project_input(x)
    assert projected.shape == (3, 4, 6)
    torch.testing.assert_close(projected[:, 2], cell.project_input(x[:, 2]))


def test_initialisation_is_uniform_within_one_over_sqrt_hidden_size():
    torch.manual_seed(3)
    cell = RNNCell(10, 100)
    bound = 1 / math.sqrt(100)
    for parameter in cell.parameters():
        assert parameter.abs().max() <= bound
        assert parameter.abs().max() > 0.9 * bound  # actually spread over the range, not all zeros


def test_parameter_shapes_match_torch_nn_rnn_layout():
    cell = RNNCell(input_size=3, hidden_size=4)
    assert cell.weight_ih.shape == (4, 3)
    assert cell.weight_hh.shape == (4, 4)
    assert cell.bias_ih.shape == cell.bias_hh.shape == (4,)


def test_orthogonal_recurrent_init_gives_an_orthogonal_w_hh():
    torch.manual_seed(4)
    cell = RNNCell(3, 16, recurrent_init="orthogonal")
    torch.testing.assert_close(cell.weight_hh @ cell.weight_hh.T, torch.eye(16), rtol=0, atol=1e-5)


def test_identity_recurrent_init_gives_the_identity_and_leaves_the_rest_uniform():
    cell = RNNCell(3, 8, recurrent_init="identity")
    assert torch.equal(cell.weight_hh.detach(), torch.eye(8))
    assert cell.weight_ih.abs().max() <= 1 / math.sqrt(8)
