"""The single-step sampling path computes exactly what the full model computes."""

import torch

from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.model.stepper import RNNStepper


def test_stepping_character_by_character_equals_the_full_forward_pass():
    torch.manual_seed(0)
    model = RNNLanguageModel(ModelConfig(vocab_size=13, embedding_dim=6, hidden_size=10, num_layers=3)).double()
    tokens = torch.randint(0, 13, (1, 12))
    h0 = torch.randn(3, 1, 10, dtype=torch.float64)
    with torch.no_grad():
        expected_logits, expected_hidden = model(tokens, h0)

    stepper = RNNStepper(model)
    stepper.reset(h0)
    stepped = torch.stack([stepper.step(int(c)).clone() for c in tokens[0]])
    torch.testing.assert_close(stepped, expected_logits[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(stepper.hidden(), expected_hidden, rtol=0, atol=1e-12)


def test_reset_without_a_state_starts_from_zeros():
    torch.manual_seed(1)
    model = RNNLanguageModel(ModelConfig(vocab_size=7, embedding_dim=3, hidden_size=4, num_layers=2))
    stepper = RNNStepper(model)
    stepper.step(3)
    stepper.reset()
    with torch.no_grad():
        expected, _ = model(torch.tensor([[5]]))
    torch.testing.assert_close(stepper.step(5), expected[0, 0])
