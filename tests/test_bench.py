"""bench.py runs end to end and reports every column (no timing assertions: speed is measured, not tested)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench_rows(tmp_path_factory) -> list[dict]:
    """The JSON rows of one tiny benchmark run."""
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench.py"), "--hidden-sizes", "8", "16", "--vocab-size", "20",
         "--embedding-dim", "4", "--seq-len", "6", "--batch-size", "3", "--rounds", "1", "--sample-length", "4",
         "--precisions", "fp32", "bf16", "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text())


def test_benchmark_writes_one_row_per_impl_precision_and_size(bench_rows):
    assert {(r["impl"], r["precision"], r["hidden_size"]) for r in bench_rows} == {
        (impl, precision, hidden)
        for impl in ("torch_rnn", "autograd", "bptt", "layernorm_autograd", "layernorm_bptt", "multiplicative_autograd",
                     "multiplicative_bptt", "factored_autograd", "factored_bptt", "zoneout_autograd", "zoneout_bptt")
        for precision in ("fp32", "bf16")
        for hidden in (8, 16)}
    required = {"impl", "hidden_size", "vocab_size", "train_chars_per_s", "train_ratio_vs_torch_rnn",
                "eval_chars_per_s", "sample_chars_per_s", "saved_activation_bytes", "device", "precision"}
    assert all(required <= row.keys() for row in bench_rows)
    assert all(r["saved_activation_bytes"] > 0 for r in bench_rows)


def test_every_ratio_is_against_float32_torch_rnn_of_the_same_size(bench_rows):
    for row in bench_rows:
        reference = next(r for r in bench_rows if (r["impl"], r["precision"], r["hidden_size"])
                         == ("torch_rnn", "fp32", row["hidden_size"]))
        assert row["train_ratio_vs_torch_rnn"] == pytest.approx(
            row["train_chars_per_s"] / reference["train_chars_per_s"], rel=1e-9)
        assert row["saved_ratio_vs_torch_rnn"] == pytest.approx(
            row["saved_activation_bytes"] / reference["saved_activation_bytes"], rel=1e-9)


def test_an_unknown_device_is_a_one_line_error():
    result = subprocess.run([sys.executable, str(ROOT / "bench.py"), "--device", "tpu"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: unknown device 'tpu': use auto, cpu, cuda, cuda:N or mps"]

