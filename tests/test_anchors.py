"""The anchors of bench/anchors.py: library RNNs trained by our own training run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.anchors import LibraryLanguageModel, LibraryLSTMModel, refuse_flags_of_our_recurrence
from src.analysis.evaluation import evaluate
from src.config import TrainConfig
from src.errors import UserError
from src.model.rnn_model import ModelConfig, RNNLanguageModel
from tests.scripts import assert_one_line_error
from tests.textgen import make_corpus

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ModelConfig(vocab_size=11, embedding_dim=5, hidden_size=7, num_layers=2)


def test_the_library_rnn_anchor_is_our_equation_with_copied_weights():
    torch.manual_seed(0)
    ours, anchor = RNNLanguageModel(CONFIG).double(), LibraryLanguageModel(CONFIG).double()
    weights = {"embedding.weight": ours.embedding.weight, "head.weight": ours.head.weight,
               "head.bias": ours.head.bias}
    for layer, cell in enumerate(ours.cells):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            weights[f"recurrence.{name}_l{layer}"] = getattr(cell, name)
    anchor.load_state_dict(weights)
    tokens = torch.randint(0, 11, (3, 9))
    torch.testing.assert_close(anchor(tokens)[0], ours(tokens)[0], rtol=1e-12, atol=1e-12)


def test_the_lstm_anchor_carries_its_cell_state_through_evaluation():
    torch.manual_seed(1)
    model = LibraryLSTMModel(CONFIG).double()
    ids = torch.randint(0, 11, (120,))
    one_pass = evaluate(model, ids, batch_size=1, seq_len=200, device=torch.device("cpu")).loss
    windowed = evaluate(model, ids, batch_size=1, seq_len=7, device=torch.device("cpu")).loss
    assert windowed == pytest.approx(one_pass, rel=1e-12)


def test_the_anchor_script_trains_tests_and_measures_memory(tmp_path):
    make_corpus(tmp_path / "corpus.txt")
    result = subprocess.run(
        [sys.executable, "-m", "bench.anchors", "--library", "lstm", "--data-file", str(tmp_path / "corpus.txt"),
         "--epochs", "1", "--hidden-size", "16", "--embedding-dim", "8", "--seq-len", "32", "--batch-size", "16",
         "--checkpoint-dir", str(tmp_path / "ck"), "--plot", str(tmp_path / "loss.png")],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "torch.nn.LSTM" in result.stdout
    results = json.loads((tmp_path / "ck/results.json").read_text())
    assert results["test_loss"] > 0 and results["config"]["no_diagnostics"]
    memory = json.loads((tmp_path / "ck/memory.json").read_text())
    assert memory["memory_span"] in memory["memory_context"]


def test_the_anchor_script_refuses_flags_of_our_recurrence_with_one_line(tmp_path):
    make_corpus(tmp_path / "corpus.txt")
    result = subprocess.run(
        [sys.executable, "-m", "bench.anchors", "--library", "lstm", "--data-file", str(tmp_path / "corpus.txt"),
         "--dropout-mask", "sequence", "--weight-drop", "0.3"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert_one_line_error(result, "--dropout-mask sequence", "--weight-drop 0.3")


@pytest.mark.parametrize("flag", [dict(cell="multiplicative"), dict(recurrent_weight="orthogonal"),
                                  dict(recurrent_init="identity"), dict(input_dropout=0.1), dict(ar=1.0),
                                  dict(tar=1.0), dict(norm_stabiliser=0.1)])
def test_every_flag_the_library_layers_would_ignore_is_refused(flag):
    with pytest.raises(UserError, match="not available for the library anchors"):
        refuse_flags_of_our_recurrence(TrainConfig(**flag))


def test_flags_the_anchors_honour_pass():
    refuse_flags_of_our_recurrence(TrainConfig(dropout=0.3, lr=4e-3, weight_average=0.999, shift_windows=True))
