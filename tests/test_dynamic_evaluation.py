"""Dynamic evaluation scores each window before adapting to it, and adapts toward the text."""

from __future__ import annotations

import pytest
import torch

from src.analysis.dynamic_evaluation import SGDAdapter, dynamic_evaluate
from src.analysis.evaluation import evaluate
from src.model.rnn_model import ModelConfig, RNNLanguageModel

CPU = torch.device("cpu")


def small_model(seed: int = 0) -> RNNLanguageModel:
    torch.manual_seed(seed)
    return RNNLanguageModel(ModelConfig(vocab_size=9, embedding_dim=4, hidden_size=16, num_layers=2)).double()


def test_a_text_of_one_window_scores_as_in_static_evaluation_whatever_the_step_size():
    ids = torch.randint(0, 9, (33,))
    static = evaluate(small_model(), ids, batch_size=1, seq_len=64, device=CPU).loss
    dynamic = dynamic_evaluate(small_model(), ids, 1, 64, CPU, "fp32", lr=10.0, decay=0.0).loss
    assert dynamic == pytest.approx(static, rel=1e-12)


def test_adaptation_lowers_the_loss_on_a_text_that_repeats_itself():
    ids = torch.tensor([1, 2, 3, 4, 5, 6, 7, 8] * 100)
    static = evaluate(small_model(), ids, batch_size=1, seq_len=16, device=CPU).loss
    dynamic = dynamic_evaluate(small_model(), ids, 1, 16, CPU, "fp32", lr=0.5, decay=0.0).loss
    assert dynamic < static - 0.5


def test_the_update_is_a_gradient_step_plus_a_pull_toward_the_trained_weights():
    weight = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    holder = torch.nn.Module()
    holder.weight = weight
    adapter = SGDAdapter(holder, lr=0.1, decay=0.5)
    adapter((weight ** 2).sum())  # gradient 2w: w <- w - 0.1 * 2w = 0.8 w; no pull yet (w = w0)
    torch.testing.assert_close(weight.detach(), torch.tensor([0.8, -1.6], dtype=torch.float64))
    adapter((weight * 0).sum())  # zero gradient: w <- w + 0.5 (w0 - w)
    torch.testing.assert_close(weight.detach(), torch.tensor([0.9, -1.8], dtype=torch.float64))
