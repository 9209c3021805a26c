"""A run stopped by a budget ends with its learning rate annealed, not at the peak."""

from __future__ import annotations

import functools

import pytest

import src.train.training
from src.train.budget import Budget
from src.train.run import fit
from src.train.schedule import DEFAULT_FINAL_FRACTION
from tests.tiny_run import last_checkpoint, tiny_config


class TickingClock:
    """A clock that advances one second every time it is read: every step then costs the same time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def final_learning_rate(config) -> float:
    return last_checkpoint(config)["optimizer"]["param_groups"][0]["lr"]


def test_a_step_budget_ends_annealed(tmp_path):
    config = tiny_config(tmp_path, epochs=5, max_steps=30, no_diagnostics=True, sample_length=0)
    assert fit(config, given={}) == 0
    assert last_checkpoint(config)["progress"]["step"] == 30
    assert final_learning_rate(config) == pytest.approx(config.lr * DEFAULT_FINAL_FRACTION)


def test_a_time_budget_ends_annealed(tmp_path, monkeypatch):
    monkeypatch.setattr(src.train.training, "Budget", functools.partial(Budget, clock=TickingClock()))
    config = tiny_config(tmp_path, epochs=5, max_minutes=1.0, no_diagnostics=True, sample_length=0)
    assert fit(config, given={}) == 0
    steps = last_checkpoint(config)["progress"]["step"]
    assert 10 < steps < 5 * 43  # stopped by the budget, well before the epochs' natural end
    assert final_learning_rate(config) < 1.5 * config.lr * DEFAULT_FINAL_FRACTION


def test_without_a_budget_the_schedule_runs_over_the_epochs(tmp_path):
    config = tiny_config(tmp_path, epochs=2, no_diagnostics=True, sample_length=0)
    assert fit(config, given={}) == 0
    state = last_checkpoint(config)
    assert state["progress"]["step"] == state["scheduler"]["lr_lambdas"][0]["total_steps"]
    assert final_learning_rate(config) == pytest.approx(config.lr * DEFAULT_FINAL_FRACTION)


def test_a_step_budget_ends_at_the_chosen_final_fraction(tmp_path):
    config = tiny_config(tmp_path, epochs=5, max_steps=30, final_lr_fraction=0.0, no_diagnostics=True,
                         sample_length=0)
    assert fit(config, given={}) == 0
    assert final_learning_rate(config) == pytest.approx(0.0, abs=1e-12)
