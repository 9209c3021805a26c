"""Device choice: auto finds the best available; an absent device is a clear error."""

import pytest
import torch

from src.device import resolve_device
from src.errors import UserError


def test_auto_picks_an_available_device():
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}


def test_cpu_is_always_available():
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_requesting_absent_cuda_is_a_user_error():
    with pytest.raises(UserError, match="CUDA is not available"):
        resolve_device("cuda")


def test_unknown_device_name_is_a_user_error():
    with pytest.raises(UserError, match="unknown device"):
        resolve_device("tpu")
