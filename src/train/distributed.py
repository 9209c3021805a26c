"""Data-parallel training with PyTorch's own `torch.distributed`, launched by `torchrun`.

`torchrun --nproc_per_node=N train.py ...` starts N processes ("ranks") with RANK, WORLD_SIZE and
LOCAL_RANK in their environment. Plain `python train.py` has none of them: one process, a world of
size 1, and every function here does nothing.

Each rank holds a whole copy of the model and trains on its own share of every global batch of
N x --batch-size windows; DistributedDataParallel averages the gradients after each backward pass
(NCCL between CUDA devices, Gloo on the CPU), so every rank takes the same optimizer step. Choices
that must be identical everywhere (stop now? save now? where does the LR schedule end?) are agreed
by an all-reduce: each rank's clock and Ctrl-C arrive at slightly different moments, and a rank
that stopped alone would leave the others waiting forever.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from src.errors import UserError


@dataclass(frozen=True)
class World:
    """This process's place among the ranks of one training run."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0  # the rank among those on this machine: which GPU it drives

    @property
    def main(self) -> bool:
        """Rank 0 alone prints, plots, samples and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """More than one process."""
        return self.size > 1


def world_from_env() -> World:
    """The world torchrun describes in the environment, or a single process."""
    if "WORLD_SIZE" not in os.environ:
        return World()
    return World(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)))


def join(world: World, device: torch.device) -> torch.device:
    """Join the process group (when launched by torchrun); returns the device this rank trains on.

    On CUDA each rank drives the GPU of its LOCAL_RANK and talks NCCL; on the CPU, Gloo.
    """
    if not world.distributed:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    elif device.type == "cpu":
        backend = "gloo"
    else:
        raise UserError(f"torchrun training runs on cuda (NCCL) or cpu (Gloo), not {device.type}")
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return device


def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """The seed of a rank's own random draws (dropout masks): rank 0 and a single process never re-seed."""
    return seed + 1_000_003 * rank + step


def leave(world: World) -> None:
    """Leave the process group at the end of the run."""
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def exit_process(code: int) -> NoReturn:
    """`sys.exit(code)`; a torchrun rank instead ends at once, output flushed, without the interpreter's shutdown.

    Why: once DistributedDataParallel has used a Gloo process group, the group and its worker
    threads outlive `destroy_process_group()` (torch 2.13) until the interpreter shuts down. A Gloo
    work launched from a backward pass holds a Python object (autograd's saved context), so the
    worker that releases it needs the GIL; if that happens while the interpreter is finalising, the
    thread is torn down inside the work's C++ destructor and the process aborts (SIGABRT,
    "terminate called without an active exception") after a run that succeeded, in a few percent
    of CPU launches. By the time a script returns there is nothing left to finish: checkpoints are
    written atomically, metrics.jsonl and results.json are closed after every write.
    """
    if world_from_env().distributed:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def sum_over_ranks(world: World, values: list[float], device: torch.device) -> list[float]:
    """Element-wise sums of `values` over all ranks (the values themselves for one process).

    float64, so that sums of losses over millions of characters keep their digits.
    """
    if not world.distributed:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def sum_tensor_over_ranks(world: World, tensor: Tensor, device: torch.device) -> Tensor:
    """The element-wise sum of `tensor` (on the CPU) over all ranks, on the CPU; `tensor` itself for one process.

    It travels through `device` because NCCL reduces CUDA tensors only.
    """
    if not world.distributed:
        return tensor
    on_device = tensor.to(device)
    dist.all_reduce(on_device)
    return on_device.cpu()


def any_rank(world: World, flag: bool, device: torch.device) -> bool:
    """True on every rank if `flag` is true on any."""
    return sum_over_ranks(world, [float(flag)], device)[0] > 0


def gather(world: World, value: Any) -> list[Any]:
    """Every rank's `value` (picklable), in rank order, on every rank."""
    if not world.distributed:
        return [value]
    gathered: list[Any] = [None] * world.size
    dist.all_gather_object(gathered, value)
    return gathered


def barrier(world: World) -> None:
    """Wait until every rank gets here (e.g. until rank 0 has written a checkpoint the others read)."""
    if world.distributed:
        dist.barrier()


class ForwardWithStates(nn.Module):
    """`model.forward_with_states` as a module's `forward`.

    DistributedDataParallel synchronises the gradients of what runs through its wrapped module's
    `forward`; the state penalties need every layer's states, so this is what it wraps then.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, tokens: Tensor, hidden: Tensor | None = None) -> tuple[Tensor, Tensor, list[Tensor]]:
        return self.model.forward_with_states(tokens, hidden)


def wrap(world: World, module: nn.Module, device: torch.device) -> nn.Module:
    """`module` wrapped in DistributedDataParallel across the world (itself for one process)."""
    if not world.distributed:
        return module
    return DistributedDataParallel(module, device_ids=[device] if device.type == "cuda" else None)
