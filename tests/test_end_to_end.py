"""The two scripts as a user runs them, in subprocesses, on a small generated corpus."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from src.data.corpus import split_text
from src.precision import resolve_precision
from src.train.checkpoint import load_checkpoint, save_checkpoint
from tests.scripts import ROOT, TINY_MODEL, assert_one_line_error, run
from tests.textgen import make_corpus


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """One 2-epoch training run that the tests below inspect."""
    workdir = tmp_path_factory.mktemp("run")
    make_corpus(workdir / "corpus.txt")
    result = run("train.py", "--data-file", "corpus.txt", "--epochs", "2", *TINY_MODEL, "--log-interval", "5",
                 cwd=workdir)
    assert result.returncode == 0, result.stderr[-2000:]
    return workdir, result


def test_training_writes_checkpoints_plot_metrics_and_results(trained):
    workdir, _ = trained
    for name in ("checkpoints/last.pt", "checkpoints/best.pt", "loss_curve.png", "checkpoints/metrics.jsonl"):
        assert (workdir / name).is_file() and (workdir / name).stat().st_size > 0, name
    assert (workdir / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((workdir / "checkpoints/results.json").read_text())
    for key in ("test_loss", "test_bpc", "test_ppl", "best_val_loss", "best_val_bpc", "epochs", "steps",
                "train_seconds"):
        assert key in results
    assert results["epochs"] == 2
    assert results["test_bpc"] == pytest.approx(results["test_loss"] / 0.6931471805599453)
    records = [json.loads(line) for line in (workdir / "checkpoints/metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if r["event"] == "epoch"] == [1, 2]
    assert any(r["event"] == "train" for r in records) and records[-1]["event"] == "test"


def test_training_prints_setup_epoch_summaries_samples_and_test_result(trained):
    _, result = trained
    out = result.stdout
    for fragment in ("device: cpu", "vocabulary:", "parameters", "--- sample ---", "test (best.pt):"):
        assert fragment in out
    epochs = re.findall(r"epoch (\d)/2 .* valid ([\d.]+) nats ([\d.]+) bpc ppl ([\d.]+) \| lr", out)
    assert [e[0] for e in epochs] == ["1", "2"]
    assert float(epochs[1][1]) < float(epochs[0][1])  # it learns


def test_a_training_log_sent_to_a_file_has_plain_progress_lines_instead_of_bar_redraws(trained):
    _, result = trained  # its output went to pipes, as to a log file
    assert re.search(r"^  epoch 1/2 \| step 5/\d+ \| train [\d.]+ \| lr ", result.stdout, re.MULTILINE)
    assert "\r" not in result.stderr and "step/s" not in result.stderr


def test_evaluate_scores_a_text_file_like_the_training_run_scored_its_test_split(trained):
    workdir, _ = trained
    _, _, test_text = split_text((workdir / "corpus.txt").read_text(encoding="utf-8"), 0.05, 0.05)
    (workdir / "test.txt").write_text(test_text, encoding="utf-8")
    result = run("evaluate.py", "--text-file", "test.txt", "--batch-size", "16", "--seq-len", "32", cwd=workdir)
    assert result.returncode == 0, result.stderr
    loss = float(re.search(r"test.txt: ([\d.]+) nats", result.stdout).group(1))
    results = json.loads((workdir / "checkpoints/results.json").read_text())
    assert loss == pytest.approx(results["test_loss"], abs=1e-4)


def test_evaluate_scores_in_the_checkpoints_precision_unless_told_otherwise(trained, tmp_path):
    workdir, _ = trained
    state = load_checkpoint(workdir / "checkpoints/best.pt")
    here = resolve_precision("auto", torch.device("cpu"))
    other = "fp32" if here == "bf16" else "bf16"  # what `auto` would not pick on this machine
    state["config"]["precision"] = other
    save_checkpoint(state, tmp_path / "other.pt")
    (tmp_path / "text.txt").write_text("The cat sat on the mat.\n" * 20, encoding="utf-8")
    default = run("evaluate.py", "--checkpoint", str(tmp_path / "other.pt"), "--text-file", "text.txt", cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    assert default.stdout.rstrip().endswith(f"| {other} (the checkpoint's)")
    given = run("evaluate.py", "--checkpoint", str(tmp_path / "other.pt"), "--text-file", "text.txt",
                "--precision", "auto", cwd=tmp_path)
    assert given.stdout.rstrip().endswith(f"| {here} (--precision)")


def test_evaluate_reports_dynamic_evaluation_beside_the_static_figure(trained):
    workdir, _ = trained
    result = run("evaluate.py", "--text-file", "corpus.txt", "--batch-size", "4", "--dynamic", "--dynamic-lr", "0.05",
                 cwd=workdir)
    assert result.returncode == 0, result.stderr
    static, dynamic = result.stdout.strip().splitlines()
    assert static.startswith("corpus.txt: ") and dynamic.startswith("dynamic evaluation (lr 0.05, decay 0): ")
    static_bpc = float(re.search(r"([\d.]+) bpc", static).group(1))
    dynamic_bpc = float(re.search(r"([\d.]+) bpc", dynamic).group(1))
    gain = float(re.search(r"([-+][\d.]+) bpc against static", dynamic).group(1))
    assert gain == pytest.approx(dynamic_bpc - static_bpc, abs=2e-4)


def test_evaluate_scores_several_checkpoints_as_one_ensemble(trained):
    workdir, _ = trained
    best, last = "checkpoints/best.pt", "checkpoints/last.pt"
    alone = run("evaluate.py", "--text-file", "corpus.txt", "--checkpoint", best, cwd=workdir)
    twice = run("evaluate.py", "--text-file", "corpus.txt", "--checkpoint", f"{best},{best}", cwd=workdir)
    assert twice.returncode == 0, twice.stderr
    assert twice.stdout.startswith("ensemble of 2 checkpoints")
    score = re.compile(r"corpus.txt: ([\d.]+) nats")
    # Two copies of one model average to that model.
    assert float(score.search(twice.stdout).group(1)) == pytest.approx(float(score.search(alone.stdout).group(1)),
                                                                       abs=2e-4)
    mixed = run("evaluate.py", "--text-file", "corpus.txt", "--checkpoint", f"{best},{last}", cwd=workdir)
    assert mixed.returncode == 0 and score.search(mixed.stdout), mixed.stderr


def test_evaluate_refuses_an_ensemble_of_models_trained_on_other_texts(trained, tmp_path):
    workdir, _ = trained
    state = load_checkpoint(workdir / "checkpoints/best.pt")
    state["vocab"] = state["vocab"][:-1] + ["\u2603"]
    save_checkpoint(state, tmp_path / "other.pt")
    result = run("evaluate.py", "--text-file", "corpus.txt", "--checkpoint",
                 f"checkpoints/best.pt,{tmp_path / 'other.pt'}", cwd=workdir)
    assert_one_line_error(result, "another vocabulary")


def test_evaluate_without_a_text_file_is_a_one_line_error(trained):
    workdir, _ = trained
    assert_one_line_error(run("evaluate.py", cwd=workdir), "--text-file")


def test_training_takes_diagnostics_every_epoch_by_default(trained):
    workdir, result = trained
    assert (workdir / "diagnostics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    records = [json.loads(line) for line in (workdir / "checkpoints/metrics.jsonl").read_text().splitlines()]
    diagnostics = [r for r in records if r["event"] == "diagnostics"]
    assert [d["epoch"] for d in diagnostics] == [1.0, 2.0]
    for key in ("grad_norms", "saturation", "histograms", "spectral_radius", "max_singular_value",
                "memory_context", "memory_loss", "seconds"):
        assert key in diagnostics[0]
    assert result.stdout.count("diagnostics | grad") == 2
    results = json.loads((workdir / "checkpoints/results.json").read_text())
    assert results["diagnostics_seconds"] == pytest.approx(sum(d["seconds"] for d in diagnostics))


@pytest.fixture(scope="module")
def diagnostics_variants(tmp_path_factory) -> Path:
    """The `trained` run repeated with diagnostics off (in off/) and every 20 steps (in every/)."""
    workdir = tmp_path_factory.mktemp("diagnostics")
    make_corpus(workdir / "corpus.txt")
    common = ["--data-file", "corpus.txt", "--epochs", "2", *TINY_MODEL, "--log-interval", "5"]
    for folder, flag in (("off", "--no-diagnostics"), ("every", "--diagnostics-every=20")):
        result = run("train.py", *common, flag, "--checkpoint-dir", folder, "--diagnostics-plot", f"{folder}.png",
                     cwd=workdir)
        assert result.returncode == 0, result.stderr[-2000:]
    return workdir


def test_diagnostics_never_change_the_trained_weights(trained, diagnostics_variants):
    workdir, _ = trained
    reference = torch.load(workdir / "checkpoints/last.pt", weights_only=True)["model"]
    for folder in ("off", "every"):
        weights = torch.load(diagnostics_variants / folder / "last.pt", weights_only=True)["model"]
        assert all(torch.equal(reference[name], weights[name]) for name in reference), folder


def test_diagnostics_can_be_switched_off(diagnostics_variants):
    assert not (diagnostics_variants / "off.png").exists()
    assert '"diagnostics"' not in (diagnostics_variants / "off/metrics.jsonl").read_text()


def test_diagnostics_can_be_taken_every_n_steps(diagnostics_variants):
    assert (diagnostics_variants / "every.png").is_file()
    records = [json.loads(line) for line in (diagnostics_variants / "every/metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in records if r["event"] == "diagnostics"]
    last_step = max(r["step"] for r in records if r["event"] == "epoch")
    assert steps == list(range(20, last_step + 1, 20))


def test_a_zero_test_fraction_reports_validation_only(tmp_path):
    make_corpus(tmp_path / "corpus.txt")
    result = run("train.py", "--data-file", "corpus.txt", "--epochs", "1", *TINY_MODEL, "--test-fraction", "0",
                 "--no-diagnostics", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "no test split" in result.stdout
    results = json.loads((tmp_path / "checkpoints/results.json").read_text())
    assert results["test_loss"] is None and results["best_val_loss"] > 0


def test_checkpoint_loads_with_weights_only_and_holds_what_resuming_needs(trained):
    workdir, _ = trained
    state = torch.load(workdir / "checkpoints/last.pt", weights_only=True, map_location="cpu")
    for key in ("config", "model_config", "vocab", "model", "optimizer", "scheduler", "progress", "rng"):
        assert key in state
    assert state["progress"]["step"] > 0 and state["config"]["hidden_size"] == 24


def test_generate_streams_a_continuation_of_the_prompt(trained):
    workdir, _ = trained
    result = run("generate.py", "--prompt", "The cat", "--length", "60", "--seed", "3", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("The cat")
    assert len(result.stdout.rstrip("\n")) == len("The cat") + 60
    again = run("generate.py", "--prompt", "The cat", "--length", "60", "--seed", "3", cwd=workdir)
    assert again.stdout == result.stdout


def test_generate_draws_several_samples_with_filters(trained):
    workdir, _ = trained
    result = run("generate.py", "--prompt", "A", "--length", "20", "--num-samples", "2", "--top-k", "5",
                 "--top-p", "0.9", "--temperature", "1.2", "--seed", "1", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("--- sample") == 2


def train_until_interrupted(args: list[str], cwd: Path, logged_steps: int = 3) -> subprocess.CompletedProcess:
    """Start train.py, press Ctrl-C once `logged_steps` training steps are logged, wait for it to stop."""
    process = subprocess.Popen([sys.executable, str(ROOT / "train.py"), *args, "--log-interval", "1"], cwd=cwd,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = cwd / "checkpoints/metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.read_text().count("\n") >= logged_steps) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_resumed_training_ends_with_the_same_weights_as_an_uninterrupted_run(trained, tmp_path):
    workdir, _ = trained
    make_corpus(tmp_path / "corpus.txt")
    stopped = train_until_interrupted(["--data-file", "corpus.txt", "--epochs", "2", *TINY_MODEL], tmp_path)
    assert stopped.returncode == 130, stopped.stderr[-2000:]
    resumed = run("train.py", "--resume", "--log-interval", "5", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed from" in resumed.stdout

    straight = torch.load(workdir / "checkpoints/last.pt", weights_only=True)
    pieced = torch.load(tmp_path / "checkpoints/last.pt", weights_only=True)
    assert straight["progress"]["step"] == pieced["progress"]["step"]
    for name, tensor in straight["model"].items():
        assert torch.equal(tensor, pieced["model"][name]), name
    for slot, values in straight["optimizer"]["state"].items():
        assert torch.equal(values["exp_avg_sq"], pieced["optimizer"]["state"][slot]["exp_avg_sq"])


def test_ctrl_c_saves_last_checkpoint_and_plot_then_exits(tmp_path):
    make_corpus(tmp_path / "corpus.txt", characters=200_000)
    stopped = train_until_interrupted(["--data-file", "corpus.txt", "--epochs", "50", *TINY_MODEL], tmp_path)
    assert stopped.returncode == 130, stopped.stderr[-2000:]
    assert "continue with --resume" in stopped.stdout
    assert (tmp_path / "checkpoints/last.pt").is_file() and (tmp_path / "loss_curve.png").is_file()
    state = torch.load(tmp_path / "checkpoints/last.pt", weights_only=True)
    assert state["progress"]["step"] >= 3 and state["progress"]["batch_in_epoch"] > 0


def test_missing_data_without_network_is_a_one_line_error(tmp_path):
    offline = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    result = run("train.py", "--data-dir", "nowhere", cwd=tmp_path, env=offline)
    assert_one_line_error(result, "nowhere", "--data-file")


def test_missing_data_file_is_a_one_line_error(tmp_path):
    assert_one_line_error(run("train.py", "--data-file", "absent.txt", cwd=tmp_path), "absent.txt")


def test_corpus_shorter_than_one_window_is_a_one_line_error(tmp_path):
    (tmp_path / "short.txt").write_text("x" * 2000, encoding="utf-8")
    result = run("train.py", "--data-file", "short.txt", "--seq-len", "4096", cwd=tmp_path)
    assert_one_line_error(result, "--seq-len")


def test_corrupt_checkpoint_is_a_one_line_error(trained, tmp_path):
    workdir, _ = trained
    data = (workdir / "checkpoints/best.pt").read_bytes()
    (tmp_path / "broken.pt").write_bytes(data[: len(data) // 3])
    assert_one_line_error(run("generate.py", "--checkpoint", "broken.pt", cwd=tmp_path), "broken.pt")


def test_prompt_with_unseen_characters_is_a_one_line_error_naming_them(trained):
    workdir, _ = trained
    result = run("generate.py", "--prompt", "The €uro", cwd=workdir)
    assert_one_line_error(result, "'€'", "--drop-unknown")
    dropped = run("generate.py", "--prompt", "The €uro", "--drop-unknown", "--length", "5", cwd=workdir)
    assert dropped.returncode == 0 and dropped.stdout.startswith("The uro")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_is_a_one_line_error(trained):
    workdir, _ = trained
    assert_one_line_error(run("generate.py", "--device", "cuda", cwd=workdir), "CUDA")
    assert_one_line_error(run("train.py", "--data-file", "corpus.txt", "--device", "cuda", cwd=workdir), "CUDA")


def test_stateful_training_resumes_mid_epoch_to_the_same_weights(tmp_path):
    make_corpus(tmp_path / "corpus.txt")
    common = ["--data-file", "corpus.txt", "--epochs", "1", *TINY_MODEL, "--train-mode", "stateful"]
    straight = run("train.py", *common, "--checkpoint-dir", "straight", cwd=tmp_path)
    assert straight.returncode == 0, straight.stderr[-2000:]
    stopped = train_until_interrupted(common, tmp_path)
    assert stopped.returncode == 130, stopped.stderr[-2000:]
    state = torch.load(tmp_path / "checkpoints/last.pt", weights_only=True)
    assert state["carried_hidden"] is not None and state["progress"]["batch_in_epoch"] > 0  # stopped mid-epoch
    resumed = run("train.py", "--resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a = torch.load(tmp_path / "straight/last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "checkpoints/last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[name], b[name]) for name in a)
