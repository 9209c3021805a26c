"""Input dropout: a position's whole character embedding dropped in training, never in evaluation."""

from __future__ import annotations

import pytest
import torch

from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.train.run import fit
from tests.tiny_run import last_checkpoint, tiny_config


def input_dropout_model(input_dropout: float, impl: str = "bptt", cell: str = "vanilla") -> RNNLanguageModel:
    torch.manual_seed(0)
    return RNNLanguageModel(ModelConfig(vocab_size=9, embedding_dim=4, hidden_size=6, num_layers=2, rnn_impl=impl,
                                        cell=cell, input_dropout=input_dropout)).double()


def test_input_dropout_is_off_in_evaluation():
    tokens = torch.randint(0, 9, (3, 7))
    dropped, plain = input_dropout_model(0.5).eval(), input_dropout_model(0.0).eval()
    torch.testing.assert_close(dropped(tokens)[0], plain(tokens)[0], rtol=0, atol=0)


@pytest.mark.parametrize("cell", ["vanilla", "multiplicative"])
def test_each_position_sees_a_zero_embedding_or_its_own_scaled_by_one_over_keep(cell):
    model = input_dropout_model(0.25, cell=cell).train()
    tokens = torch.randint(0, 9, (64, 32))  # more positions than characters: the table path
    projected = model.embed_and_project(tokens)  # (B, T, H)
    first = model.cells[0]
    dropped = first.project_input(torch.zeros(4, dtype=torch.float64)).expand_as(projected)
    kept = first.project_input(model.embedding(tokens) / 0.75)
    is_dropped = torch.isclose(projected, dropped, rtol=0, atol=1e-12).all(-1)
    is_kept = torch.isclose(projected, kept, rtol=0, atol=1e-12).all(-1)
    assert bool((is_dropped | is_kept).all())  # every position is one of the two, whole
    assert is_dropped.float().mean().item() == pytest.approx(0.25, abs=0.03)


def test_input_dropout_draws_the_same_masks_on_both_paths():
    tokens = torch.randint(0, 9, (3, 7))
    results = {}
    for impl in ("bptt", "autograd"):
        model = input_dropout_model(0.5, impl).train()
        torch.manual_seed(3)  # the same masks for both
        logits, _ = model(tokens)
        logits.square().mean().backward()
        results[impl] = logits, model.embedding.weight.grad
    torch.testing.assert_close(results["bptt"][0], results["autograd"][0], rtol=0, atol=1e-12)
    torch.testing.assert_close(results["bptt"][1], results["autograd"][1], rtol=0, atol=1e-12)


def test_a_run_with_input_dropout_learns_and_saves_it_in_the_checkpoint(tmp_path):
    config = tiny_config(tmp_path, input_dropout=0.1)
    assert fit(config, given={}) == 0
    checkpoint = last_checkpoint(config)
    assert checkpoint["model_config"]["input_dropout"] == 0.1
    # Learned something: a uniform guess over the 38 symbols scores ln 38 = 3.64 nats.
    assert checkpoint["progress"]["epoch_valid_losses"][0] < 3.4
