"""The zoneout cell (--cell zoneout): masks, the leaky evaluation, the hand-written backward, its use."""

from __future__ import annotations

import pytest
import torch

from src.config import TrainConfig
from src.errors import UserError
from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.model.zoneout_cell import ZoneoutRNNCell, ZoneoutTanhRecurrence
from tests.cell_agreement import assert_a_whole_run_uses_the_cell, assert_implementations_agree


def random_inputs(T=6, B=3, H=5, p=0.3, seed=0):
    torch.manual_seed(seed)
    x_proj = torch.randn(B, T, H, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(B, H, dtype=torch.float64, requires_grad=True)
    weight_hh = (0.5 * torch.randn(H, H, dtype=torch.float64)).requires_grad_()
    masks = (torch.rand(B, T, H) < p).double()
    return x_proj, h0, weight_hh, masks


def zoneout_model(impl: str = "bptt", zoneout: float = 0.3) -> RNNLanguageModel:
    torch.manual_seed(0)
    return RNNLanguageModel(ModelConfig(vocab_size=9, embedding_dim=4, hidden_size=6, num_layers=2, rnn_impl=impl,
                                        cell="zoneout", zoneout=zoneout)).double()


@pytest.mark.parametrize("masks", ["bernoulli", "leaky"])
def test_gradcheck_of_the_hand_written_backward(masks):
    x_proj, h0, weight_hh, bernoulli = random_inputs()
    mask = bernoulli if masks == "bernoulli" else torch.full_like(bernoulli, 0.3)
    assert torch.autograd.gradcheck(ZoneoutTanhRecurrence.apply, (x_proj, h0, weight_hh, mask))


def test_hand_written_gradients_equal_the_autograd_loop_with_the_same_masks():
    x_proj, h0, weight_hh, masks = random_inputs(T=20, B=4, H=8)
    cell = ZoneoutRNNCell(8, 8, zoneout=0.3).double()
    with torch.no_grad():
        cell.weight_hh.copy_(weight_hh)
    upstream = torch.randn(4, 20, 8, dtype=torch.float64)
    ours = ZoneoutTanhRecurrence.apply(x_proj, h0, cell.weight_hh, masks)
    h, reference = h0, []
    for t in range(20):
        h = cell.step(x_proj[:, t], h, mask=masks[:, t])
        reference.append(h)
    reference = torch.stack(reference, dim=1)
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-14)
    wrt = (x_proj, h0, cell.weight_hh)
    for mine, theirs in zip(torch.autograd.grad((ours * upstream).sum(), wrt),
                            torch.autograd.grad((reference * upstream).sum(), wrt)):
        torch.testing.assert_close(mine, theirs, rtol=0, atol=1e-12)


def test_a_zoned_out_unit_keeps_its_previous_value_and_the_others_take_the_vanilla_update():
    x_proj, h0, weight_hh, _ = random_inputs(T=1)
    mask = torch.zeros(3, 5, dtype=torch.float64)
    mask[:, :2] = 1
    out = ZoneoutTanhRecurrence.apply(x_proj, h0, weight_hh, mask.unsqueeze(1))[:, 0]
    torch.testing.assert_close(out[:, :2], h0[:, :2], rtol=0, atol=0)
    vanilla = torch.tanh(x_proj[:, 0] + h0 @ weight_hh.T)
    torch.testing.assert_close(out[:, 2:], vanilla[:, 2:], rtol=0, atol=1e-15)


def test_training_masks_are_bernoulli_p_and_evaluation_uses_the_constant_p():
    cell = ZoneoutRNNCell(3, 4, zoneout=0.25)
    like = torch.zeros(1)
    torch.manual_seed(0)
    drawn = cell.train().masks(torch.Size([200, 50, 4]), like)
    assert set(drawn.unique().tolist()) == {False, True}
    assert abs(drawn.float().mean().item() - 0.25) < 0.01
    assert torch.equal(cell.eval().masks(torch.Size([2, 3, 4]), like), torch.full((2, 3, 4), 0.25))


def test_both_implementations_of_the_model_agree_at_evaluation():
    assert_implementations_agree(lambda impl: zoneout_model(impl).eval())


def test_the_probability_is_checked():
    with pytest.raises(ValueError, match="zoneout"):
        ModelConfig(vocab_size=5, cell="zoneout", zoneout=1.0)
    with pytest.raises(UserError, match="--zoneout"):
        TrainConfig(zoneout=0.0)


def test_a_whole_run_with_the_zoneout_cell_trains_validates_and_tests(tmp_path, capsys):
    _, saved = assert_a_whole_run_uses_the_cell(tmp_path, capsys, "zoneout", zoneout=0.2)
    assert saved["zoneout"] == 0.2
