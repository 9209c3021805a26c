"""The phases after an epoch: the checkpoint comes first, Ctrl-C is honoured between phases, and
nothing in them needs float64 on the training device; and a run that diverges stops at once."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import src.train.training
from src.config import TrainConfig
from src.errors import UserError
from src.train.interrupt import GracefulInterrupt
from src.train.run import EXIT_INTERRUPTED, fit
from src.train.training import Trainer
from tests.no_float64_device import NoFloat64Device
from tests.tiny_run import interrupt_during, last_checkpoint, tiny_config


def test_a_whole_epoch_with_diagnostics_makes_no_float64_on_the_training_device(tmp_path):
    trainer = Trainer(tiny_config(tmp_path), resume_state=None)
    with NoFloat64Device(trainer.model), GracefulInterrupt() as stop:
        trainer.run_epoch_batches(stop)
        trainer.end_epoch(epoch_seconds=1.0, stop=stop)
    assert trainer.progress.epoch == 1
    assert len(trainer.progress.diagnostics) == 1


def test_the_stand_in_device_refuses_float64_made_from_the_model(tmp_path):
    model = torch.nn.Linear(2, 2)
    with NoFloat64Device(model), pytest.raises(RuntimeError, match="no float64"):
        model.weight.double()


def test_the_epoch_is_checkpointed_before_a_failing_optional_phase(tmp_path, monkeypatch):
    def broken_diagnostics(*args, **kwargs):
        raise RuntimeError("diagnostics failed")

    monkeypatch.setattr(src.train.training, "measure", broken_diagnostics)
    config = tiny_config(tmp_path)
    with pytest.raises(RuntimeError, match="diagnostics failed"):
        fit(config, given={})
    assert last_checkpoint(config)["progress"]["epoch"] == 1


@pytest.mark.parametrize("phase, function, call", [("validation", "evaluate", 1), ("diagnostics", "measure", 1),
                                                   ("sampling", "progress_sample", 1)])
def test_ctrl_c_after_the_last_epochs_training_saves_and_exits_130(tmp_path, monkeypatch, capsys, phase, function,
                                                                    call):
    interrupt_during(monkeypatch, function, call)
    config = tiny_config(tmp_path)
    assert fit(config, given={}) == EXIT_INTERRUPTED
    assert "continue with --resume" in capsys.readouterr().out
    assert last_checkpoint(config)["progress"]["epoch"] == 1
    assert not (Path(config.checkpoint_dir) / "results.json").exists()  # the final test never ran


def test_ctrl_c_during_the_final_test_exits_130(tmp_path, monkeypatch):
    interrupt_during(monkeypatch, "evaluate", call=2)  # 1: validation, 2: the test split
    assert fit(tiny_config(tmp_path), given={}) == EXIT_INTERRUPTED


def test_ctrl_c_during_validation_trains_no_further_step(tmp_path, monkeypatch):
    interrupt_during(monkeypatch, "evaluate")
    config = tiny_config(tmp_path, epochs=2)
    assert fit(config, given={}) == EXIT_INTERRUPTED
    progress = last_checkpoint(config)["progress"]
    assert progress["step"] == progress["epoch_steps"][0]  # nothing after epoch 1's validation


def test_a_stopped_run_resumes_to_its_end(tmp_path, monkeypatch):
    interrupt_during(monkeypatch, "measure")
    config = tiny_config(tmp_path)
    assert fit(config, given={}) == EXIT_INTERRUPTED
    monkeypatch.undo()
    resumed = TrainConfig(**{**config.to_dict(), "resume": True})
    assert fit(resumed, given={"resume": True, "checkpoint_dir": config.checkpoint_dir, "plot": config.plot,
                               "diagnostics_plot": config.diagnostics_plot}) == 0
    assert (Path(config.checkpoint_dir) / "results.json").exists()


def test_a_run_whose_gradient_norm_overflows_stops_with_a_one_line_error(tmp_path, monkeypatch):
    # A diverged run's gradient norm overflows; clipping would then zero every update while the loss stays finite.
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", lambda parameters, max_norm: torch.tensor(math.inf))
    with pytest.raises(UserError, match="the gradient norm became inf at step 1: training diverged; lower --lr"):
        fit(tiny_config(tmp_path), given={})


def test_a_run_whose_loss_is_not_finite_stops_with_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(src.train.training, "next_char_loss", lambda logits, targets: logits.sum() * math.nan)
    with pytest.raises(UserError, match="the training loss became nan at step 1; lower --lr or --grad-clip"):
        fit(tiny_config(tmp_path), given={})
