"""Sequence (variational) dropout: one mask per window, shared by every step, off in evaluation."""

from __future__ import annotations

import pytest
import torch

from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.model.sequence_dropout import SequenceDropout
from src.train.run import fit
from tests.tiny_run import last_checkpoint, tiny_config


def test_the_same_units_are_dropped_at_every_step_of_a_sequence():
    torch.manual_seed(0)
    y = SequenceDropout(0.5).train()(torch.ones(4, 9, 32))
    assert torch.equal(y, y[:, :1].expand_as(y))  # every step equals the first
    assert set(y.unique().tolist()) == {0.0, 2.0}  # kept units scaled by 1 / (1 - p)
    assert not torch.equal(y[0], y[1])  # each sequence draws its own mask


def test_the_expected_output_is_the_input():
    torch.manual_seed(0)
    y = SequenceDropout(0.25).train()(torch.full((4000, 1, 50), 3.0))
    assert y.mean().item() == pytest.approx(3.0, rel=0.01)


def test_evaluation_and_p_zero_leave_the_input_unchanged():
    x = torch.randn(2, 5, 8)
    assert torch.equal(SequenceDropout(0.5).eval()(x), x)
    assert torch.equal(SequenceDropout(0.0).train()(x), x)


def test_the_gradient_flows_through_kept_units_only():
    x = torch.randn(3, 6, 10, requires_grad=True)
    torch.manual_seed(1)
    SequenceDropout(0.5).train()(x).sum().backward()
    kept = x.grad[:, :1] != 0
    assert torch.equal(x.grad != 0, kept.expand_as(x.grad))
    torch.testing.assert_close(x.grad[x.grad != 0], torch.full_like(x.grad[x.grad != 0], 2.0))


def test_the_model_uses_it_only_when_asked():
    config = dict(vocab_size=9, embedding_dim=4, hidden_size=6, num_layers=2, dropout=0.3)
    assert isinstance(RNNLanguageModel(ModelConfig(**config)).dropout, torch.nn.Dropout)
    assert isinstance(RNNLanguageModel(ModelConfig(**config, dropout_mask="sequence")).dropout, SequenceDropout)
    with pytest.raises(ValueError, match="dropout_mask"):
        ModelConfig(**config, dropout_mask="unit")


def test_a_whole_run_with_sequence_dropout(tmp_path):
    config = tiny_config(tmp_path, dropout=0.3, dropout_mask="sequence")
    assert fit(config, given={}) == 0
    # Learned something: a uniform guess over the 38 symbols scores ln 38 = 3.64 nats.
    assert last_checkpoint(config)["progress"]["epoch_valid_losses"][0] < 3.4
