"""Long runs that survive anything: mid-epoch saves, a kill -9 between them, extending a finished run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import torch

from src.config import TrainConfig
from src.errors import UserError
from src.train.autosave import Autosave
from src.train.metrics_log import MetricsLog
from src.train.run import fit
from src.train.run_state import merge_for_resume
from src.train.schedule import DEFAULT_FINAL_FRACTION, LRSchedule
from tests.clocks import FakeClock
from tests.scripts import ROOT, TINY_MODEL, assert_one_line_error, run
from tests.textgen import make_corpus
from tests.tiny_run import last_checkpoint, resume_given, tiny_config


def test_a_save_is_due_every_interval_after_the_last_save():
    clock = FakeClock(start=0.0)
    autosave = Autosave(minutes=10, clock=clock)
    clock.now = 599
    assert not autosave.due()
    clock.now = 600
    assert autosave.due()
    autosave.saved()
    clock.now = 1199
    assert not autosave.due()


def test_a_zero_interval_never_saves_mid_epoch():
    clock = FakeClock(start=0.0)
    autosave = Autosave(minutes=0, clock=clock)
    clock.now = 1e9
    assert not autosave.due()


def test_an_extended_schedule_continues_from_the_current_rate_to_the_floor_at_the_new_end():
    schedule = LRSchedule("cosine", warmup_steps=10, total_steps=100)
    before = schedule(60)
    schedule.replan_from(60)
    schedule.total_steps = 300
    assert schedule(60) == pytest.approx(before)
    assert schedule(61) < before
    assert schedule(300) == pytest.approx(DEFAULT_FINAL_FRACTION)
    assert schedule(180) == pytest.approx(DEFAULT_FINAL_FRACTION + (before - DEFAULT_FINAL_FRACTION) / 2)


def test_extending_during_warmup_keeps_the_plain_plan():
    schedule = LRSchedule("cosine", warmup_steps=10, total_steps=100)
    schedule.replan_from(5)
    schedule.total_steps = 300
    assert schedule(150) == LRSchedule("cosine", 10, 300)(150)


def test_resume_accepts_more_epochs_and_refuses_fewer():
    saved = TrainConfig(epochs=5).to_dict()
    assert merge_for_resume(saved, {"resume": True, "epochs": 8}).epochs == 8
    with pytest.raises(UserError, match="--epochs"):
        merge_for_resume(saved, {"resume": True, "epochs": 3})


def test_a_resumed_metrics_log_drops_the_steps_trained_again(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(path)
    for step in (1, 2, 3, 4):
        log.write("train", step=step)
    MetricsLog(path, resumed_at_step=2).write("train", step=3)
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [1, 2, 3]


def test_a_finished_run_extended_with_more_epochs_trains_on(tmp_path, capsys):
    config = tiny_config(tmp_path, sample_length=0, no_diagnostics=True)
    assert fit(config, given={}) == 0
    one_epoch = last_checkpoint(config)
    lr_at_end = one_epoch["optimizer"]["param_groups"][0]["lr"]
    assert fit(TrainConfig(**{**config.to_dict(), "resume": True, "epochs": 2}),
               given=resume_given(config, epochs=2)) == 0
    extended = last_checkpoint(config)
    assert extended["progress"]["epoch"] == 2 and extended["config"]["epochs"] == 2
    assert extended["progress"]["step"] == 2 * one_epoch["progress"]["step"]
    assert extended["optimizer"]["param_groups"][0]["lr"] == pytest.approx(lr_at_end)  # annealed: stays at 10%
    assert "resumed from" in capsys.readouterr().out


def test_resuming_a_finished_run_says_it_is_finished(tmp_path):
    config = tiny_config(tmp_path, sample_length=0, no_diagnostics=True)
    assert fit(config, given={}) == 0
    with pytest.raises(UserError, match="finished .1 of 1 epochs"):
        fit(TrainConfig(**{**config.to_dict(), "resume": True}), given=resume_given(config))


def test_a_run_killed_right_after_a_mid_epoch_save_resumes_to_the_same_weights(tmp_path):
    make_corpus(tmp_path / "corpus.txt")
    common = ["--data-file", "corpus.txt", "--epochs", "2", *TINY_MODEL, "--no-diagnostics"]
    straight = run("train.py", *common, "--checkpoint-dir", "straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-2000:]

    # Save after every step (an interval far below one step), and kill -9 after the save at step 10.
    process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *common, "--save-every", "1e-9"],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    for line in process.stdout:
        if line.startswith("saved") and "at step 10 " in line:
            os.kill(process.pid, signal.SIGKILL)
            break
    assert process.wait(timeout=60) == -signal.SIGKILL
    killed = torch.load(tmp_path / "checkpoints/last.pt", weights_only=True)
    assert killed["progress"]["step"] >= 10 and killed["progress"]["batch_in_epoch"] > 0  # mid-epoch

    resumed = run("train.py", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a = torch.load(tmp_path / "straight/last.pt", weights_only=True)
    b = torch.load(tmp_path / "checkpoints/last.pt", weights_only=True)
    assert a["progress"]["step"] == b["progress"]["step"]
    assert all(torch.equal(a["model"][name], b["model"][name]) for name in a["model"])


def test_a_negative_save_interval_is_a_one_line_error(tmp_path):
    assert_one_line_error(run("train.py", "--save-every", "-1", cwd=tmp_path), "--save-every")
