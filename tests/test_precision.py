"""Precision: auto picks bf16 only on CPUs with native bf16; bf16 is refused where unsupported."""

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from src.errors import UserError
from src.precision import (
    autocast,
    checkpoint_precision,
    cpu_has_native_bf16,
    emulated_bf16_warning,
    native_bf16,
    resolve_precision,
)

CPU = torch.device("cpu")


@pytest.fixture
def cpuinfo(tmp_path) -> Callable[[str], Path]:
    """Writes a stand-in for /proc/cpuinfo with the given flags and returns its path."""
    def write(flags: str) -> Path:
        path = tmp_path / f"cpuinfo-{len(list(tmp_path.iterdir()))}"
        path.write_text(f"flags\t\t: {flags}\n")
        return path
    return write


def test_native_bf16_is_read_from_the_cpu_flags(cpuinfo, tmp_path):
    with_bf16, without = cpuinfo("fpu sse2 avx512f avx512_bf16 avx512_vnni"), cpuinfo("fpu sse2 avx2 fma")
    assert cpu_has_native_bf16(with_bf16)
    assert not cpu_has_native_bf16(without)
    assert not cpu_has_native_bf16(tmp_path / "absent")


def test_auto_follows_the_cpu_flags_on_the_cpu():
    assert resolve_precision("auto", CPU) == ("bf16" if cpu_has_native_bf16() else "fp32")


def test_explicit_precisions_are_kept():
    assert resolve_precision("fp32", CPU) == "fp32"
    assert resolve_precision("bf16", CPU) == "bf16"


def test_bf16_on_mps_is_a_user_error():
    with pytest.raises(UserError, match="mps"):
        resolve_precision("bf16", torch.device("mps"))


def test_bf16_autocast_runs_matrix_multiplies_in_bfloat16():
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    with autocast(CPU, "bf16"):
        assert (a @ b).dtype == torch.bfloat16
    with autocast(CPU, "fp32"):
        assert (a @ b).dtype == torch.float32


def test_a_checkpoint_is_scored_in_the_precision_it_trained_in_by_default():
    assert checkpoint_precision(None, "fp32", CPU) == "fp32"
    assert checkpoint_precision(None, "bf16", CPU) == "bf16"


def test_a_requested_precision_wins_over_the_checkpoints():
    assert checkpoint_precision("fp32", "bf16", CPU) == "fp32"
    assert checkpoint_precision("auto", "fp32", CPU) == resolve_precision("auto", CPU)


def test_a_bf16_checkpoint_on_mps_says_to_pass_fp32():
    with pytest.raises(UserError, match="--precision fp32"):
        checkpoint_precision(None, "bf16", torch.device("mps"))


def test_bf16_on_a_cpu_without_bf16_instructions_gets_a_warning_and_nothing_else_does(cpuinfo):
    with_bf16, without = cpuinfo("fpu sse2 avx512f avx512_bf16"), cpuinfo("fpu sse2 avx2 fma")
    assert "no bf16 instructions" in emulated_bf16_warning("bf16", CPU, without)
    assert emulated_bf16_warning("fp32", CPU, without) is None
    assert emulated_bf16_warning("bf16", CPU, with_bf16) is None


def test_bf16_on_a_gpu_before_ampere_gets_a_warning_and_on_ampere_or_later_none(gpu_generation):
    gpu_generation(7)  # a V100 or T4: no bf16 tensor cores
    assert "no bf16 tensor cores" in emulated_bf16_warning("bf16", torch.device("cuda"))
    assert emulated_bf16_warning("fp32", torch.device("cuda")) is None
    gpu_generation(8)
    assert emulated_bf16_warning("bf16", torch.device("cuda")) is None


def test_bf16_is_native_on_a_cpu_with_bf16_instructions_only(cpuinfo):
    with_bf16, without = cpuinfo("fpu sse2 avx512f amx_bf16"), cpuinfo("fpu sse2 avx2 fma")
    assert native_bf16(CPU, with_bf16) and not native_bf16(CPU, without)
    assert not native_bf16(torch.device("mps"), with_bf16)


def test_bf16_is_native_on_gpus_from_ampere_on_not_on_older_ones(gpu_generation):
    gpu_generation(9)  # an H100
    assert native_bf16(torch.device("cuda:0"))
    gpu_generation(7)
    assert not native_bf16(torch.device("cuda:0"))
