"""Evaluation predicts every character of a split exactly once, with the context before it."""

import math

import pytest
import torch
import torch.nn.functional as F

from src.analysis.evaluation import Evaluation, evaluate
from src.model.rnn_model import ModelConfig, RNNLanguageModel

CPU = torch.device("cpu")


@pytest.fixture
def model() -> RNNLanguageModel:
    torch.manual_seed(0)
    return RNNLanguageModel(ModelConfig(vocab_size=9, embedding_dim=4, hidden_size=8, num_layers=2)).double()


def full_context_loss(model: RNNLanguageModel, ids: torch.Tensor) -> float:
    """The definition: one pass over the whole text, mean loss of predicting ids[1:]."""
    with torch.no_grad():
        logits, _ = model(ids[:-1].view(1, -1))
    return F.cross_entropy(logits[0], ids[1:]).item()


def test_batch_size_one_equals_a_single_pass_over_the_whole_text(model):
    ids = torch.randint(0, 9, (203,))
    result = evaluate(model, ids, batch_size=1, seq_len=16, device=CPU)
    assert result.characters == 202
    assert result.loss == pytest.approx(full_context_loss(model, ids), rel=1e-12)


def context_free(model: RNNLanguageModel) -> RNNLanguageModel:
    """W_hh = 0 in every layer: each prediction then depends on the current character alone."""
    with torch.no_grad():
        for cell in model.cells:
            cell.weight_hh.zero_()
    return model


def per_character_mean_loss(model: RNNLanguageModel, ids: torch.Tensor) -> float:
    """Each character scored on its own (a batch of length-1 sequences), then averaged."""
    with torch.no_grad():
        logits, _ = model(ids[:-1].view(-1, 1))
    return F.cross_entropy(logits[:, 0], ids[1:]).item()


# 203 ids, 202 predictions: every layout below leaves a remainder of 1-6 characters (or, with 300
# streams, none and one character per stream), so the tail path is exercised too.
@pytest.mark.parametrize("batch_size,seq_len", [(1, 16), (3, 7), (4, 50), (7, 1), (8, 16), (300, 16)])
def test_every_character_is_predicted_once_whatever_the_batch_layout(model, batch_size, seq_len):
    model = context_free(model)
    ids = torch.randint(0, 9, (203,))
    result = evaluate(model, ids, batch_size, seq_len, CPU)
    # A skipped or twice-counted character would move the mean away from the per-character one.
    assert result.loss == pytest.approx(per_character_mean_loss(model, ids), rel=1e-12)
    assert result.characters == 202


def test_window_length_does_not_change_the_result_because_state_is_carried(model):
    ids = torch.randint(0, 9, (150,))
    short = evaluate(model, ids, batch_size=2, seq_len=5, device=CPU).loss
    long = evaluate(model, ids, batch_size=2, seq_len=100, device=CPU).loss
    assert short == pytest.approx(long, rel=1e-12)


def test_bits_per_character_and_perplexity_are_the_loss_in_other_units():
    result = Evaluation(loss=1.5, characters=10)
    assert result.bpc == pytest.approx(1.5 / math.log(2))
    assert result.perplexity == pytest.approx(math.exp(1.5))


def test_evaluation_leaves_the_model_in_the_mode_it_found_it(model):
    model.train()
    evaluate(model, torch.randint(0, 9, (20,)), 2, 4, CPU)
    assert model.training


def test_batch_layout_changes_bits_per_character_by_less_than_a_hundredth(model):
    torch.manual_seed(5)
    ids = torch.randint(0, 9, (5000,))
    one_stream = evaluate(model, ids, batch_size=1, seq_len=64, device=CPU).bpc
    for batch_size in (4, 16):
        assert abs(evaluate(model, ids, batch_size, 64, CPU).bpc - one_stream) < 0.01
