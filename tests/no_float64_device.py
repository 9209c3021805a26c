"""A CPU stand-in for a training device without float64 (Apple's MPS), for device-independence tests.

Every tensor of the given module, and every tensor computed from one, counts as "on the device"
until it is explicitly copied to the CPU (`.to("cpu", copy=True)`, `.cpu()` from a real device);
an operation that would make a float64 tensor on the device raises, as MPS does. A copy *into* an
existing tensor (`copy_`, as `load_state_dict` does) leaves the destination where it was.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


def _tensors(tree: Any) -> list[torch.Tensor]:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]


class NoFloat64Device(TorchDispatchMode):
    """`with NoFloat64Device(model):` makes float64 on model's (emulated) device an error."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        # Keyed by storage, so views and `.data` aliases count too; the tensors are kept alive so
        # that a freed storage's address can never be reused by a CPU tensor and mistaken for it.
        self.on_device: dict[int, torch.Tensor] = {}
        for tensor in module.state_dict().values():
            self._place(tensor)

    def _place(self, tensor: torch.Tensor) -> None:
        self.on_device[tensor.untyped_storage().data_ptr()] = tensor

    def _is_on_device(self, tensor: torch.Tensor) -> bool:
        return tensor.untyped_storage().data_ptr() in self.on_device

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if func is torch.ops.aten.copy_.default:
            return out
        if func is torch.ops.aten._to_copy.default and kwargs.get("device") == torch.device("cpu"):
            return out  # an explicit copy to the CPU leaves the device
        if any(self._is_on_device(t) for t in _tensors((args, kwargs))):
            for tensor in _tensors(out):
                if tensor.dtype == torch.float64:
                    raise RuntimeError(f"{func} made a float64 tensor on a device that has no float64")
                self._place(tensor)
        return out
