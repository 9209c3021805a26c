"""The learning-rate schedule: linear warmup, then cosine decay to 10% of the peak."""

import pytest
import torch

from src.schedule import FINAL_FRACTION, build_scheduler, lr_multiplier


def test_warmup_rises_linearly_to_the_peak():
    assert [lr_multiplier(s, "cosine", 4, 100) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]


def test_cosine_decays_from_the_peak_to_the_final_fraction():
    values = [lr_multiplier(s, "cosine", 10, 110) for s in range(10, 111)]
    assert values[0] == pytest.approx(1.0)
    assert values[50] == pytest.approx((1 + FINAL_FRACTION) / 2)
    assert values[-1] == pytest.approx(FINAL_FRACTION)
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_constant_schedule_stays_at_the_peak_after_warmup():
    assert lr_multiplier(5, "constant", 2, 100) == lr_multiplier(99, "constant", 2, 100) == 1.0


def test_scheduler_drives_the_optimizer_learning_rate():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    scheduler = build_scheduler(optimizer, "cosine", warmup_steps=2, total_steps=10)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * FINAL_FRACTION)
