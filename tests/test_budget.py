"""A budget stops an invocation and places the end of the LR schedule where training will end."""

import pytest

from src.train.budget import Budget
from tests.clocks import FakeClock


def test_without_a_budget_the_schedule_ends_with_the_epochs():
    assert Budget(None, None, start_step=0).horizon(step=10, natural_end=500) == 500


def test_a_step_budget_ends_the_schedule_at_that_step():
    assert Budget(200, None, start_step=0).horizon(step=10, natural_end=500) == 200
    assert Budget(900, None, start_step=0).horizon(step=10, natural_end=500) == 500


def test_a_time_budget_ends_the_schedule_where_the_pace_so_far_says_time_runs_out():
    clock = FakeClock()
    budget = Budget(None, max_minutes=1.0, start_step=40, clock=clock)
    assert budget.horizon(step=40, natural_end=5000) == 5000  # no pace measured yet
    clock.now += 15.0  # 10 steps in 15 s: 45 s left is 30 more steps
    assert budget.horizon(step=50, natural_end=5000) == 80


def test_the_time_estimate_follows_a_slower_pace():
    clock = FakeClock()
    budget = Budget(None, max_minutes=1.0, start_step=0, clock=clock)
    clock.now += 10.0
    fast = budget.horizon(step=10, natural_end=5000)  # 1 s per step: 50 more
    clock.now += 20.0
    slow = budget.horizon(step=20, natural_end=5000)  # 1.5 s per step: 20 more
    assert (fast, slow) == (60, 40)


def test_the_horizon_never_lies_behind_the_current_step():
    clock = FakeClock()
    budget = Budget(None, max_minutes=1.0, start_step=0, clock=clock)
    clock.now += 90.0
    assert budget.horizon(step=30, natural_end=5000) == 30


@pytest.mark.parametrize("steps, minutes, step, seconds, spent", [
    (10, None, 9, 0, False), (10, None, 10, 0, True), (None, 0.5, 99, 29.9, False), (None, 0.5, 1, 30.0, True),
    (None, None, 10**6, 10**6, False)])
def test_a_budget_is_spent_at_its_step_count_or_its_minutes(steps, minutes, step, seconds, spent):
    clock = FakeClock()
    budget = Budget(steps, minutes, start_step=0, clock=clock)
    clock.now += seconds
    assert budget.spent(step) is spent
