"""Suite-wide set-up: each pytest-xdist worker (pyproject.toml runs two) keeps to one thread; shared fixtures."""

import os
from collections.abc import Callable
from types import SimpleNamespace

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two workers on two cores, each with torch's default of one thread per core, oversubscribe the
    # machine: the suite took 270 s that way and 189 s with one thread per worker. Set before torch
    # is imported, and inherited by every script a test runs in a subprocess.
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def gpu_generation(monkeypatch) -> Callable[[int], None]:
    """Makes every CUDA device report the given major compute capability (no GPU needed)."""
    import torch  # here, not at the top: the worker set-up above must run before torch is first imported

    def pretend(major: int) -> None:
        monkeypatch.setattr(torch.version, "hip", None)
        monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: SimpleNamespace(major=major))
    return pretend
