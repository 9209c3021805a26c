"""The learning-rate schedule: linear warmup, then cosine decay to a final fraction of the peak (10% by default)."""

import pytest
import torch
from torch.optim.lr_scheduler import LambdaLR

from src.train.schedule import DEFAULT_FINAL_FRACTION, LRSchedule, lr_multiplier


def test_warmup_rises_linearly_to_the_peak():
    assert [lr_multiplier(s, "cosine", 4, 100) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]


def test_cosine_decays_from_the_peak_to_the_final_fraction():
    values = [lr_multiplier(s, "cosine", 10, 110) for s in range(10, 111)]
    assert values[0] == pytest.approx(1.0)
    assert values[50] == pytest.approx((1 + DEFAULT_FINAL_FRACTION) / 2)
    assert values[-1] == pytest.approx(DEFAULT_FINAL_FRACTION)
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_constant_schedule_stays_at_the_peak_after_warmup():
    assert lr_multiplier(5, "constant", 2, 100) == lr_multiplier(99, "constant", 2, 100) == 1.0


def test_scheduler_drives_the_optimizer_learning_rate():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = LambdaLR(optimizer, LRSchedule("cosine", warmup_steps=2, total_steps=10))
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * DEFAULT_FINAL_FRACTION)


def test_a_re_planned_horizon_moves_the_end_of_the_decay():
    schedule = LRSchedule("cosine", warmup_steps=0, total_steps=100)
    assert schedule(50) == pytest.approx((1 + DEFAULT_FINAL_FRACTION) / 2)
    schedule.total_steps = 50
    assert schedule(50) == pytest.approx(DEFAULT_FINAL_FRACTION)


def test_the_horizon_travels_in_the_schedulers_state():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    schedule = LRSchedule("cosine", warmup_steps=2, total_steps=10)
    scheduler = LambdaLR(optimizer, schedule)
    schedule.total_steps = 7
    state = scheduler.state_dict()
    fresh = LRSchedule("cosine", warmup_steps=2, total_steps=10)
    LambdaLR(optimizer, fresh).load_state_dict(state)
    assert fresh.total_steps == 7


def test_an_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="unknown schedule"):
        LRSchedule("linear", 0, 10)


def test_the_cosine_can_end_at_any_final_fraction():
    assert lr_multiplier(110, "cosine", 10, 110, final_fraction=0.0) == pytest.approx(0.0)
    assert lr_multiplier(60, "cosine", 10, 110, final_fraction=0.0) == pytest.approx(0.5)
    assert lr_multiplier(110, "cosine", 10, 110, final_fraction=0.3) == pytest.approx(0.3)


def test_a_re_planned_extension_decays_to_the_schedules_own_final_fraction():
    schedule = LRSchedule("cosine", warmup_steps=0, total_steps=100, final_fraction=0.0)
    before = schedule(50)
    schedule.replan_from(50)
    schedule.total_steps = 150
    assert schedule(50) == pytest.approx(before)
    assert schedule(150) == pytest.approx(0.0)


def test_the_final_fraction_travels_in_the_schedulers_state():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    state = LambdaLR(optimizer, LRSchedule("cosine", warmup_steps=2, total_steps=10, final_fraction=0.0)).state_dict()
    fresh = LRSchedule("cosine", warmup_steps=2, total_steps=10)
    LambdaLR(optimizer, fresh).load_state_dict(state)
    assert fresh.final_fraction == 0.0
