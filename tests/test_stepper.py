"""The single-step sampling path computes exactly what the full model computes."""

import pytest
import torch

from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.model.stepper import RNNStepper


@pytest.mark.parametrize("use_numpy", [True, False], ids=["numpy", "torch"])
def test_stepping_character_by_character_equals_the_full_forward_pass(use_numpy):
    torch.manual_seed(0)
    model = RNNLanguageModel(ModelConfig(vocab_size=13, embedding_dim=6, hidden_size=10, num_layers=3)).double()
    tokens = torch.randint(0, 13, (1, 12))
    h0 = torch.randn(3, 1, 10, dtype=torch.float64)
    with torch.no_grad():
        expected_logits, expected_hidden = model(tokens, h0)

    stepper = RNNStepper(model, use_numpy=use_numpy)
    stepper.reset(h0)
    stepped = torch.stack([stepper.step(int(c)).clone() for c in tokens[0]])
    torch.testing.assert_close(stepped, expected_logits[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(stepper.hidden(), expected_hidden, rtol=0, atol=1e-12)


@pytest.mark.parametrize("use_numpy", [True, False], ids=["numpy", "torch"])
def test_reset_without_a_state_starts_from_zeros(use_numpy):
    torch.manual_seed(1)
    model = RNNLanguageModel(ModelConfig(vocab_size=7, embedding_dim=3, hidden_size=4, num_layers=2))
    stepper = RNNStepper(model, use_numpy=use_numpy)
    stepper.step(3)
    stepper.reset()
    with torch.no_grad():
        expected, _ = model(torch.tensor([[5]]))
    torch.testing.assert_close(stepper.step(5), expected[0, 0])


def test_the_stepper_is_a_snapshot_that_later_training_does_not_change():
    torch.manual_seed(2)
    model = RNNLanguageModel(ModelConfig(vocab_size=7, embedding_dim=3, hidden_size=4, num_layers=2))
    stepper = RNNStepper(model)
    before = stepper.step(2).clone()
    with torch.no_grad():
        model.head.bias.add_(1.0)
    stepper.reset()
    torch.testing.assert_close(stepper.step(2), before)
