"""gpu_check.py's logic, on the CPU: every check runs and passes here, and a failure gives exit code 1."""

from __future__ import annotations

import pytest
import torch

import src.gpu_check
from src.errors import UserError
from src.gpu_check import check_gradients, check_training, run_checks
from src.script_configs import GpuCheckConfig
from tests.scripts import run


def test_every_check_passes_on_the_cpu_and_prints_one_table(tmp_path):
    # A 2 x 64 model: at the default width, emulated bf16 on an AVX2-only CPU made this test 70 s long.
    result = run("gpu_check.py", "--device", "cpu", "--hidden-sizes", "16", "--steps", "30", "--train-hidden-size",
                 "64", cwd=tmp_path, env={"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "---" not in line][1:]
    names = [row.split(" | ")[0][2:] for row in rows]
    assert {"gradients: vanilla cell", "gradients: zoneout cell", "training: fp32, checkpoint -> CPU -> generate.py",
            "training: bf16, checkpoint -> CPU -> generate.py", "speed: H=16 fp32",
            "ddp: torchrun, 2 processes"} <= set(names)
    assert all(" | PASS | " in row for row in rows)
    assert result.stdout.count("| check | result | detail |") == 1


def test_a_wrong_gradient_fails_its_check(monkeypatch):
    original = torch.Tensor.backward

    def off_by_a_bit(self, *args, **kwargs):
        original(self * (1.001 if self.dtype == torch.float32 else 1.0), *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "backward", off_by_a_bit)
    assert {r.status for r in check_gradients(torch.device("cpu"))} == {"FAIL"}


def test_a_crashing_check_is_a_failed_row_and_the_others_still_run(monkeypatch, tmp_path):
    def crash(*args):
        raise RuntimeError("CUDA error: an illegal memory access was encountered\nmore")

    monkeypatch.setattr(src.gpu_check, "check_gradients", crash)
    monkeypatch.setattr(src.gpu_check, "check_training", lambda *args: src.gpu_check.CheckResult("t", "PASS", ""))
    monkeypatch.setattr(src.gpu_check, "check_speed", lambda *args: [])
    monkeypatch.setattr(src.gpu_check, "check_ddp", lambda *args: src.gpu_check.CheckResult("d", "SKIP", ""))
    results = run_checks(GpuCheckConfig(device="cpu", workdir=str(tmp_path)), torch.device("cpu"))
    assert results[0].status == "FAIL" and "illegal memory access" in results[0].detail
    assert [r.status for r in results[1:]] == ["PASS", "PASS", "SKIP"]


def test_the_bf16_training_check_is_skipped_on_a_gpu_without_bf16_tensor_cores(gpu_generation, tmp_path):
    gpu_generation(7)  # a V100 or T4: torch.cuda.is_bf16_supported() says yes, but it has no bf16 tensor cores
    result = check_training(torch.device("cuda"), "bf16", 10, 16, tmp_path / "text.txt", tmp_path)
    assert result.status == "SKIP" and "no bf16 tensor cores" in result.detail


def test_bad_sizes_are_refused():
    with pytest.raises(UserError, match="--hidden-sizes"):
        GpuCheckConfig(hidden_sizes=(512, 0))


def test_a_training_width_below_one_is_refused():
    with pytest.raises(UserError, match="--train-hidden-size"):
        GpuCheckConfig(train_hidden_size=0)
