"""Weight averaging (`--weight-average`): the moving average's rule, and a run that keeps the average."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from src.config import TrainConfig
from src.errors import UserError
from src.model.rnn_model import RNNLanguageModel
from src.train.run import EXIT_INTERRUPTED, fit
from src.train.weight_average import WeightAverage
from tests.tiny_run import interrupt_during, last_checkpoint, resume_given, tiny_config


def scalar_model(value: float) -> torch.nn.Linear:
    """A model with one weight, set to `value`."""
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(value)
    return model


def test_the_rate_warms_up_as_one_plus_t_over_ten_plus_t_then_stays_at_the_decay():
    average = WeightAverage(scalar_model(0.0), decay=0.99)
    assert average.rate(1) == pytest.approx(2 / 11)
    assert average.rate(80) == pytest.approx(81 / 90)
    assert average.rate(10_000) == 0.99


def test_the_average_forgets_the_initial_weights_by_the_product_of_the_rates():
    # Weights 0 at t = 0, then 1 after every step: the initial weight keeps the share prod d_t,
    # which for d_t = (1 + t) / (10 + t) telescopes to 10! (n + 1)! / (n + 10)!.
    model = scalar_model(0.0)
    average = WeightAverage(model, decay=0.999)
    with torch.no_grad():
        model.weight.fill_(1.0)
    n = 5
    for step in range(1, n + 1):
        average.update(model, step)
    kept = math.factorial(10) * math.factorial(n + 1) / math.factorial(n + 10)
    assert average.state_dict()["weight"].item() == pytest.approx(1 - kept)


def test_applied_lends_the_average_to_the_model_and_gives_its_own_weights_back_bit_for_bit():
    model = scalar_model(0.0)
    average = WeightAverage(model, decay=0.9)
    with torch.no_grad():
        model.weight.fill_(1.0 / 3.0)
    own = model.weight.detach().clone()
    with average.applied(model):
        assert model.weight.item() == 0.0
    assert torch.equal(model.weight, own)


def test_a_decay_outside_zero_to_one_is_refused_naming_the_flag():
    with pytest.raises(UserError, match="--weight-average"):
        TrainConfig(weight_average=1.0)


def test_an_averaging_run_saves_the_average_as_the_model_and_its_own_weights_to_resume(tmp_path):
    config = tiny_config(tmp_path, weight_average=0.99)
    assert fit(config, given={}) == 0
    state = last_checkpoint(config)
    assert set(state["training_model"]) == set(state["model"])
    assert any(not torch.equal(state["model"][name], state["training_model"][name]) for name in state["model"])
    # What evaluate.py and generate.py load is the average.
    loaded = RNNLanguageModel.from_checkpoint(state).state_dict()
    assert all(torch.equal(loaded[name], state["model"][name]) for name in loaded)


def test_an_averaging_run_validates_the_average_and_logs_its_own_weights_beside_it(tmp_path):
    config = tiny_config(tmp_path, weight_average=0.99)
    assert fit(config, given={}) == 0
    lines = (Path(config.checkpoint_dir) / "metrics.jsonl").read_text().splitlines()
    epoch = next(record for record in map(json.loads, lines) if record["event"] == "epoch")
    assert epoch["valid_loss"] != epoch["valid_loss_training_weights"]
    assert last_checkpoint(config)["progress"]["best_valid_loss"] == epoch["valid_loss"]


def test_a_run_without_averaging_saves_only_its_weights(tmp_path):
    config = tiny_config(tmp_path)
    assert fit(config, given={}) == 0
    assert "training_model" not in last_checkpoint(config)


def test_a_stopped_averaging_run_resumes_to_the_same_average_and_weights(tmp_path, monkeypatch):
    (tmp_path / "straight").mkdir()
    (tmp_path / "pieced").mkdir()
    straight = tiny_config(tmp_path / "straight", epochs=2, weight_average=0.99, no_diagnostics=True)
    assert fit(straight, given={}) == 0
    pieced = tiny_config(tmp_path / "pieced", epochs=2, weight_average=0.99, no_diagnostics=True)
    interrupt_during(monkeypatch, "progress_sample")  # the sample after epoch 1
    assert fit(pieced, given={}) == EXIT_INTERRUPTED
    monkeypatch.undo()
    assert fit(TrainConfig(**{**pieced.to_dict(), "resume": True}), given=resume_given(pieced)) == 0
    a, b = last_checkpoint(straight), last_checkpoint(pieced)
    assert a["progress"]["step"] == b["progress"]["step"]
    for key in ("model", "training_model"):
        assert all(torch.equal(a[key][name], b[key][name]) for name in a[key]), key
