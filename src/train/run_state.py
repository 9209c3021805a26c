"""What a checkpoint holds, so that a resumed run continues exactly, and how a Trainer writes and reads it.

`Progress` is how far the run has got (epoch, position in it, step, histories); the RNG states are
those training draws from. The model, optimizer and scheduler states are their own state_dicts.
`merge_for_resume` decides which settings a resumed run takes from the checkpoint and which from
the new command line.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from src.config import TrainConfig
from src.errors import UserError
from src.train.distributed import World, gather, rank_seed

if TYPE_CHECKING:  # only for the annotations: training imports this module
    from src.train.training import Trainer


@dataclass
class Progress:
    """How far a run has got; saved in every checkpoint as plain values."""

    epoch: int = 0  # completed epochs
    batch_in_epoch: int = 0  # batches of the current epoch already trained on
    step: int = 0  # optimizer steps in total
    train_seconds: float = 0.0  # time spent in optimizer steps (not validation or sampling)
    epoch_loss_sum: float = 0.0  # sum of this epoch's batch losses so far
    best_valid_loss: float = math.inf
    step_losses: list[float] = field(default_factory=list)
    epoch_steps: list[int] = field(default_factory=list)
    epoch_train_losses: list[float] = field(default_factory=list)
    epoch_valid_losses: list[float] = field(default_factory=list)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)  # DiagnosticsRecord.to_dict() each time
    finished: bool = False  # the last epoch was trained and best.pt tested: nothing left to resume


def rng_state(device: torch.device) -> dict[str, Tensor]:
    """The global RNG states that training consumes.

    The CPU's draws the initial weights; the training device's draws the dropout masks (the CPU's
    again on the CPU; CUDA's or MPS's own generator on those), so both are saved.
    """
    state = {"torch": torch.get_rng_state()}
    if device.type != "cpu":
        state[device.type] = torch.get_device_module(device.type).get_rng_state(device)
    return state


def set_rng_state(state: dict[str, Tensor], device: torch.device) -> None:
    """Restore what `rng_state` saved (a device's state only when resuming on that kind of device)."""
    torch.set_rng_state(state["torch"])
    if device.type != "cpu" and device.type in state:
        torch.get_device_module(device.type).set_rng_state(state[device.type], device)


def gather_rank_states(world: World, device: torch.device, carried_hidden: Tensor | None) -> dict[str, Any]:
    """The per-process part of a checkpoint, from every rank: RNG states and carried hidden states.

    Each rank draws its own dropout masks and (stateful mode) carries the states of its own
    streams, so all of them are saved: "rng" (rank 0's, what a single process restores),
    "rng_ranks" (one per rank) and "carried_hidden", the ranks' (L, B, H) states concatenated
    along the batch into (L, world x B, H), the layout of one process with every stream.
    """
    rngs = gather(world, rng_state(device))
    carried = gather(world, carried_hidden.cpu() if carried_hidden is not None else None)
    return {"rng": rngs[0], "rng_ranks": rngs, "world_size": world.size,
            "carried_hidden": torch.cat(carried, dim=1) if carried[0] is not None else None}


def restore_rank_states(state: dict[str, Any], world: World, device: torch.device, batch_size: int,
                        seed: int) -> Tensor | None:
    """Set this rank's RNG from a checkpoint and return its carried hidden states (or None).

    With the world size the checkpoint was written with, every rank gets its own RNG state back
    (an exact resume). With another, rank 0 takes the first state and the others are re-seeded
    from (seed, rank, step): the data order is unchanged, only dropout masks differ.
    """
    rngs = state.get("rng_ranks", [state["rng"]])
    if len(rngs) == world.size:
        set_rng_state(rngs[world.rank], device)
    elif world.main:
        set_rng_state(rngs[0], device)
    else:
        torch.manual_seed(rank_seed(seed, world.rank, state["progress"]["step"]))
    carried = state.get("carried_hidden")
    if carried is None:
        return None
    return carried[:, world.rank * batch_size:(world.rank + 1) * batch_size].to(device)


def trainer_state(trainer: Trainer) -> dict[str, Any]:
    """Everything a checkpoint holds: config, vocabulary, weights, optimizer, schedule, progress, RNG states
    (and, when distilling, the teacher files' digests).

    With weight averaging, "model" (what evaluate.py and generate.py load) is the average, and
    "training_model" the weights training continues from.
    """
    weights = {"model": trainer.model.state_dict()}
    if trainer.average:
        weights = {"model": trainer.average.state_dict(), "training_model": trainer.model.state_dict()}
    return {
        "config": trainer.config.to_dict(),
        "model_config": trainer.model_config.to_dict(),
        "vocab": trainer.vocab.chars,
        **weights,
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.scheduler.state_dict(),
        "progress": asdict(trainer.progress),
        **gather_rank_states(trainer.world, trainer.device, trainer.carried_hidden),
        "teachers_sha256": getattr(trainer.train_data, "teachers_sha256", None),  # when distilling (--teachers)
    }


def restore_trainer(trainer: Trainer, state: dict[str, Any]) -> None:
    """Put a new Trainer where `trainer_state` left its run (weights, average, optimizer, schedule, RNG)."""
    trainer.model.load_state_dict(state.get("training_model", state["model"]))
    if trainer.average:
        trainer.average.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.scheduler.load_state_dict(state["scheduler"])
    trainer.progress = Progress(**state["progress"])
    trainer.carried_hidden = restore_rank_states(state, trainer.world, trainer.device, trainer.config.batch_size,
                                                 trainer.config.seed)


# Flags that only steer one invocation; a resumed run takes these from the new command line and
# everything else from the checkpoint, so a resumed run trains exactly as the original would have.
RUN_CONTROL_FIELDS = ("max_steps", "max_minutes", "device", "resume", "checkpoint_dir", "plot", "save_every",
                      "log_interval", "sample_length", "diagnostics_every", "no_diagnostics", "diagnostics_plot")


def merge_for_resume(saved: dict[str, Any], given: dict[str, Any]) -> TrainConfig:
    """The config of a resumed run: the checkpoint's settings plus this invocation's run controls.

    Changing anything that shapes the model, the data or the optimisation on resume would silently
    produce a different run, so it is refused with a message naming the flag. The one exception is
    more --epochs than the checkpoint's: that extends the run.
    """
    known = {f.name for f in fields(TrainConfig)}
    defaults = TrainConfig()
    # A flag newer than the checkpoint takes its default, which is how the run was trained.
    base = {name: saved.get(name, getattr(defaults, name)) for name in known}
    if "epochs" in given and given["epochs"] > base["epochs"]:
        base["epochs"] = given["epochs"]  # extending the run: the LR schedule is re-planned (src/train/schedule.py)
    for name, value in given.items():
        if name not in RUN_CONTROL_FIELDS and base.get(name) != value:
            flag = "--" + name.replace("_", "-")
            raise UserError(
                f"cannot change {flag} when resuming (checkpoint has {base.get(name)!r}, got {value!r})"
            )
    for name in RUN_CONTROL_FIELDS:
        base[name] = given.get(name, getattr(defaults, name))
    return TrainConfig(**base)
