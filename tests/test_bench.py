"""bench.py runs end to end and reports every column (no timing assertions: speed is measured, not tested)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_writes_one_row_per_impl_precision_and_size(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench.py"), "--hidden-sizes", "8", "16", "--vocab-size", "20",
         "--embedding-dim", "4", "--seq-len", "6", "--batch-size", "3", "--rounds", "1", "--sample-length", "4",
         "--json", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())
    assert {(r["impl"], r["precision"], r["hidden_size"]) for r in rows} == {
        (impl, precision, hidden) for impl in ("torch_rnn", "autograd", "bptt") for precision in ("fp32", "bf16")
        for hidden in (8, 16)}
    required = {"impl", "hidden_size", "vocab_size", "train_chars_per_s", "train_ratio_vs_torch_rnn",
                "eval_chars_per_s", "sample_chars_per_s", "saved_activation_bytes", "device", "precision"}
    assert all(required <= row.keys() for row in rows)
    reference = [r for r in rows if r["impl"] == "torch_rnn" and r["precision"] == "fp32"]
    assert all(r["train_ratio_vs_torch_rnn"] == 1.0 for r in reference)
    assert all(r["saved_activation_bytes"] > 0 for r in rows)
