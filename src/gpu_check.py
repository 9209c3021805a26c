"""The checks of `gpu_check.py`: is this GPU (or any device) computing what the CPU proves correct, and how fast?

1. gradients   every cell's forward and hand-written backward in float32 on the device against a
               float64 CPU reference with the same weights (TF32 off): logits and every gradient
               within 2e-4 relative error
2. training    a short bf16 run and a short fp32 run on a generated text; the loss must fall,
               and the checkpoint written on the device must load and sample on the CPU
               (`generate.py --device cpu`); peak device memory is recorded
3. speed       `bench.py` at the given sizes: our bptt loop against PyTorch's RNN layer (cuDNN on CUDA),
               fp32 and bf16, with TF32 set the same way (off) for both
4. ddp         a 2-process torchrun run: on CUDA when two GPUs are present (NCCL), on the CPU with Gloo

Each check reports PASS, FAIL or SKIP with a detail; one failing check never stops the others.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from src.config import TrainConfig
from src.data.practice_text import write_practice_text
from src.model.rnn_model import CELLS, ModelConfig, RNNLanguageModel
from src.precision import cuda_has_native_bf16
from src.script_configs import GpuCheckConfig
from src.train.run import fit

ROOT = Path(__file__).resolve().parents[1]
GRADIENT_TOLERANCE = 2e-4  # float32 against float64 over a few dozen steps of a small model


@dataclass
class CheckResult:
    """One line of the summary table."""

    name: str
    status: str  # PASS, FAIL or SKIP
    detail: str


def relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    """||value - reference|| / ||reference|| (both taken to float64 on the CPU)."""
    value, reference = value.detach().double().cpu(), reference.detach().double().cpu()
    return (value - reference).norm().item() / max(reference.norm().item(), 1e-30)


def check_gradients(device: torch.device) -> list[CheckResult]:
    """Logits and gradients of every cell in float32 on `device` against float64 on the CPU."""
    tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    results = []
    try:
        for cell in CELLS:
            torch.manual_seed(0)
            reference = RNNLanguageModel(ModelConfig(vocab_size=50, embedding_dim=16, hidden_size=64,
                                                     num_layers=2, cell=cell)).double().eval()
            model = RNNLanguageModel(reference.config).to(device).eval()
            model.load_state_dict(reference.state_dict())
            tokens = torch.randint(0, 50, (4, 48))
            errors = {}
            for name, net, inputs in (("reference", reference, tokens), ("device", model, tokens.to(device))):
                logits, _ = net(inputs)
                logits.square().mean().backward()
                errors[name] = (logits, {n: p.grad for n, p in net.named_parameters()})
            worst = relative_error(errors["device"][0], errors["reference"][0])
            for n, grad in errors["reference"][1].items():
                worst = max(worst, relative_error(errors["device"][1][n], grad))
            status = "PASS" if worst < GRADIENT_TOLERANCE else "FAIL"
            results.append(CheckResult(f"gradients: {cell} cell", status,
                                       f"worst relative error of logits and gradients {worst:.1e} "
                                       f"(limit {GRADIENT_TOLERANCE:.0e}) against float64 on the CPU"))
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
    return results


def check_training(device: torch.device, precision: str, steps: int, hidden_size: int, text: Path,
                   workdir: Path) -> CheckResult:
    """A short run in `precision` on `device`; then its checkpoint sampled on the CPU by generate.py."""
    name = f"training: {precision}, checkpoint -> CPU -> generate.py"
    if precision == "bf16" and device.type == "cuda" and not cuda_has_native_bf16(device):
        return CheckResult(name, "SKIP", "this GPU has no bf16 tensor cores")
    folder = workdir / f"train-{precision}"
    config = TrainConfig(data_file=str(text), device=str(device), precision=precision, hidden_size=hidden_size,
                         max_steps=steps, warmup_steps=min(20, steps), sample_length=0, no_diagnostics=True,
                         checkpoint_dir=str(folder), plot=str(folder / "loss.png"))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = fit(config, given={})  # its log would bury the summary table
    peak = f", peak device memory {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB" \
        if device.type == "cuda" else ""
    results = json.loads((folder / "results.json").read_text())
    chance = math.log(results["vocab_size"])
    sample = subprocess.run([sys.executable, str(ROOT / "generate.py"), "--checkpoint", str(folder / "best.pt"),
                             "--device", "cpu", "--length", "40", "--seed", "1"], capture_output=True, text=True,
                            timeout=300)
    learned = results["best_val_loss"] < chance - 1.0
    ok = code == 0 and learned and sample.returncode == 0 and len(sample.stdout) > 40
    detail = (f"{results['steps']} steps, best valid {results['best_val_loss']:.3f} nats (chance {chance:.2f}), "
              f"{results['train_seconds']:.1f} s{peak}; generate.py on the CPU: "
              + ("ok" if sample.returncode == 0 else (sample.stderr.strip().splitlines() or ["failed"])[-1]))
    return CheckResult(name, "PASS" if ok else "FAIL", detail)


def check_speed(device: torch.device, hidden_sizes: tuple[int, ...], workdir: Path) -> list[CheckResult]:
    """bench.py's training-speed ratios of our bptt loop to PyTorch's RNN layer, TF32 off for both."""
    out = workdir / "bench.json"
    precisions = ["fp32", "bf16"] if device.type != "cuda" or cuda_has_native_bf16(device) else ["fp32"]
    small = [] if device.type == "cuda" else ["--vocab-size", "50", "--batch-size", "8", "--seq-len", "16"]
    bench = subprocess.run([sys.executable, str(ROOT / "bench.py"), "--device", str(device), "--hidden-sizes",
                            *map(str, hidden_sizes), "--impls", "torch_rnn", "bptt", "--precisions", *precisions,
                            "--rounds", "5", "--sample-length", "50", "--tf32", "off", "--json", str(out), *small],
                           capture_output=True, text=True, timeout=900)
    if bench.returncode != 0:
        return [CheckResult("speed: bench.py", "FAIL", (bench.stderr.strip().splitlines() or ["no output"])[-1])]
    results = []
    for row in json.loads(out.read_text()):
        if row["impl"] == "bptt":
            results.append(CheckResult(
                f"speed: H={row['hidden_size']} {row['precision']}", "PASS",
                f"{row['train_chars_per_s']:,.0f} training chars/s = {row['train_ratio_vs_torch_rnn']:.2f} x "
                f"PyTorch's RNN layer fp32 (TF32 off for both); activations {row['saved_ratio_vs_torch_rnn']:.2f} x"))
    return results


def check_ddp(device: torch.device, text: Path, workdir: Path) -> CheckResult:
    """Two processes under torchrun, training the same run: NCCL on two GPUs, Gloo on the CPU."""
    name = "ddp: torchrun, 2 processes"
    if device.type == "cuda" and torch.cuda.device_count() < 2:
        return CheckResult(name, "SKIP", f"{torch.cuda.device_count()} GPU here; needs two")
    folder = workdir / "ddp"
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(ROOT / "train.py"), "--data-file", str(text), "--device", device.type, "--hidden-size",
                          "128", "--max-steps", "20", "--sample-length", "0", "--no-diagnostics",
                          "--checkpoint-dir", str(folder), "--plot", str(folder / "loss.png")],
                         capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if run.returncode != 0:
        return CheckResult(name, "FAIL", (run.stderr.strip().splitlines() or ["no output"])[-1][:200])
    results = json.loads((folder / "results.json").read_text())
    return CheckResult(name, "PASS", f"{results['processes']} processes, {results['steps']} steps, best valid "
                       f"{results['best_val_loss']:.3f} nats")


def run_checks(config: GpuCheckConfig, device: torch.device) -> list[CheckResult]:
    """Every check, each guarded so that an exception is a FAIL line rather than the end of the run."""
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(config.workdir) if config.workdir else Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        text = write_practice_text(workdir / "practice.txt")  # what the training checks learn

        def train(precision: str) -> CheckResult:
            return check_training(device, precision, config.steps, config.train_hidden_size, text, workdir)

        checks: list[tuple[str, Callable[[], list[CheckResult] | CheckResult]]] = [
            ("gradients", lambda: check_gradients(device)),
            ("training: fp32", lambda: train("fp32")),
            ("training: bf16", lambda: train("bf16")),
            ("speed", lambda: check_speed(device, config.hidden_sizes, workdir)),
            ("ddp", lambda: check_ddp(device, text, workdir)),
        ]
        results: list[CheckResult] = []
        for name, check in checks:
            try:
                outcome = check()
            except Exception as error:  # noqa: BLE001 - a check that crashes is reported as failed
                reason = (str(error).splitlines() or [""])[0][:200]
                outcome = CheckResult(name, "FAIL", f"{type(error).__name__}: {reason}")
            results += outcome if isinstance(outcome, list) else [outcome]
    return results


def summary_table(results: list[CheckResult]) -> str:
    """The results as a Markdown table, ready to paste into README."""
    lines = ["| check | result | detail |", "| --- | --- | --- |"]
    lines += [f"| {r.name} | {r.status} | {r.detail} |" for r in results]
    return "\n".join(lines)
