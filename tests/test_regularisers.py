"""State penalties: each one's formula, off by default, and a training loss that only they change."""

from __future__ import annotations

import pytest
import torch

from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.train.regularisers import StatePenalties
from src.train.run import fit
from tests.tiny_run import last_checkpoint, tiny_config

# One layer, batch 1, three steps, two units: easy to work out by hand.
STATES = [torch.tensor([[[0.5, -0.5], [1.0, 0.0], [0.0, 0.0]]])]


def test_activation_regularisation_is_the_mean_square_state():
    # squares: 0.25 0.25 1 0 0 0 -> mean 0.25
    assert StatePenalties(ar=2.0)(STATES).item() == pytest.approx(2.0 * 0.25)


def test_temporal_activation_regularisation_is_the_mean_square_step_change():
    # changes: (0.5, 0.5), (-1, 0) -> squares 0.25 0.25 1 0 -> mean 0.375
    assert StatePenalties(tar=1.0)(STATES).item() == pytest.approx(0.375)


def test_norm_stabiliser_is_the_mean_square_change_of_the_state_norm():
    norms = [0.5 ** 0.5, 1.0, 0.0]
    expected = ((norms[1] - norms[0]) ** 2 + (norms[2] - norms[1]) ** 2) / 2
    assert StatePenalties(norm_stabiliser=1.0)(STATES).item() == pytest.approx(expected)


def test_penalties_average_over_layers():
    doubled = StatePenalties(ar=1.0)(STATES + [2 * STATES[0]]).item()
    assert doubled == pytest.approx((0.25 + 1.0) / 2)


def test_no_coefficient_means_no_penalty():
    assert not StatePenalties().active
    assert StatePenalties().__call__(STATES).item() == 0.0


@pytest.mark.parametrize("impl", ["bptt", "autograd"])
def test_the_states_returned_are_each_layers_outputs_and_the_top_one_makes_the_logits(impl):
    torch.manual_seed(0)
    model = RNNLanguageModel(ModelConfig(vocab_size=9, embedding_dim=4, hidden_size=6, num_layers=2,
                                         rnn_impl=impl)).double().eval()
    tokens = torch.randint(0, 9, (3, 7))
    logits, hidden, states = model.forward_with_states(tokens)
    assert [s.shape for s in states] == [(3, 7, 6), (3, 7, 6)]
    torch.testing.assert_close(model.head(states[-1]), logits, rtol=0, atol=1e-14)
    torch.testing.assert_close(torch.stack([s[:, -1] for s in states]), hidden, rtol=0, atol=0)


def test_the_penalty_gradient_reaches_every_layer_through_the_hand_written_backward():
    grads = {}
    for impl in ("bptt", "autograd"):
        torch.manual_seed(0)
        model = RNNLanguageModel(ModelConfig(vocab_size=9, embedding_dim=4, hidden_size=6, num_layers=2,
                                             rnn_impl=impl)).double()
        _, _, states = model.forward_with_states(torch.randint(0, 9, (3, 20), generator=torch.Generator()
                                                               .manual_seed(1)))
        StatePenalties(ar=1.0, tar=0.5, norm_stabiliser=0.1)(states).backward()
        grads[impl] = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    assert set(grads["bptt"]) == set(grads["autograd"]) and "cells.0.weight_hh" in grads["bptt"]
    for name, grad in grads["bptt"].items():
        torch.testing.assert_close(grad, grads["autograd"][name], rtol=0, atol=1e-12, msg=name)


def weight_drop_model(impl: str, weight_drop: float) -> RNNLanguageModel:
    torch.manual_seed(0)
    return RNNLanguageModel(ModelConfig(vocab_size=9, embedding_dim=4, hidden_size=6, num_layers=2, rnn_impl=impl,
                                        weight_drop=weight_drop)).double()


def test_weight_drop_is_off_in_evaluation():
    tokens = torch.randint(0, 9, (3, 7))
    dropped, plain = weight_drop_model("bptt", 0.5).eval(), weight_drop_model("bptt", 0.0).eval()
    torch.testing.assert_close(dropped(tokens)[0], plain(tokens)[0], rtol=0, atol=0)


def test_weight_drop_masks_recurrent_weights_alike_on_both_paths_and_they_get_no_gradient():
    tokens = torch.randint(0, 9, (3, 7))
    results = {}
    for impl in ("bptt", "autograd"):
        model = weight_drop_model(impl, 0.5).train()
        torch.manual_seed(3)  # the same masks for both
        logits, _ = model(tokens)
        logits.square().mean().backward()
        results[impl] = logits, model.cells[0].weight_hh.grad
    torch.testing.assert_close(results["bptt"][0], results["autograd"][0], rtol=0, atol=1e-12)
    torch.testing.assert_close(results["bptt"][1], results["autograd"][1], rtol=0, atol=1e-12)
    assert 0 < (results["bptt"][1] == 0).sum() < 36  # the dropped entries, and only those


def test_a_whole_run_with_every_regulariser_on(tmp_path):
    config = tiny_config(tmp_path, ar=0.1, tar=0.1, norm_stabiliser=0.01, weight_drop=0.2)
    assert fit(config, given={}) == 0
    # Learned something: a uniform guess over the 38 symbols scores ln 38 = 3.64 nats.
    assert last_checkpoint(config)["progress"]["epoch_valid_losses"][0] < 3.4
