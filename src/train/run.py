"""`fit`: everything `python train.py` does, in one process or as one rank of a torchrun launch.

It loads the checkpoint to resume (if any), joins the ranks, and runs the epochs and the final
test around the `Trainer` (src/train/training.py), turning Ctrl-C into a saved checkpoint and exit code
130 and a finished run into a one-line error.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from src.config import TrainConfig
from src.errors import UserError
from src.model.rnn_model import RNNLanguageModel
from src.train.checkpoint import load_checkpoint
from src.train.distributed import World, any_rank, leave, world_from_env
from src.train.interrupt import GracefulInterrupt, StopRequested
from src.train.run_report import describe, test_best
from src.train.run_state import merge_for_resume
from src.train.training import Trainer

EXIT_INTERRUPTED = 130  # the shell's convention for "stopped by SIGINT"


def fit(config: TrainConfig, given: dict[str, Any], model_class: type[torch.nn.Module] = RNNLanguageModel) -> int:
    """Run (or resume) training as configured; returns the process exit code.

    `given` holds the flags typed on the command line; with --resume they override only the
    run-control settings of the checkpoint's config (see `merge_for_resume`).
    """
    world = world_from_env()
    resume_state = None
    if config.resume:
        resume_state = load_checkpoint(Path(config.checkpoint_dir) / "last.pt")
        config = merge_for_resume(resume_state["config"], given)
        done = resume_state["progress"]["epoch"]
        if done >= config.epochs and resume_state["progress"].get("finished", False):
            raise UserError(f"the run in {config.checkpoint_dir} is finished ({done} of {config.epochs} epochs); to "
                            f"train it longer, resume with --epochs larger than {config.epochs}")
        config = share_global_batch(config, resume_state, world)
    try:
        return run(Trainer(config, resume_state, model_class, world), resumed=resume_state is not None)
    finally:
        leave(world)


def run(trainer: Trainer, resumed: bool) -> int:
    """The epochs, then the test of best.pt; Ctrl-C saves and returns EXIT_INTERRUPTED."""
    config, p = trainer.config, trainer.progress
    describe(trainer)
    if resumed:
        trainer.say(f"resumed from {Path(config.checkpoint_dir) / 'last.pt'} at epoch {p.epoch + 1}, step {p.step}")
    with GracefulInterrupt(any_rank=lambda flag: any_rank(trainer.world, flag, trainer.device)) as stop:
        try:
            while p.epoch < config.epochs and not trainer.budget_spent():
                epoch_started = time.monotonic()
                trainer.run_epoch_batches(stop)
                stop.check()
                trainer.end_epoch(time.monotonic() - epoch_started, stop)
                if trainer.budget_spent():
                    trainer.say(f"budget reached at step {p.step} (--max-steps/--max-minutes): stopping")
                    break
            test_best(trainer)
            p.finished = p.epoch >= config.epochs
            trainer.save(best=False)  # records that the run is finished (or where a budget stopped it)
            stop.check()
        except StopRequested:
            trainer.save(best=False)
            if trainer.world.main:
                trainer.plot_losses()
            trainer.say(f"stopped at step {p.step}: saved {Path(config.checkpoint_dir) / 'last.pt'} and "
                        f"{config.plot}; continue with --resume")
            return EXIT_INTERRUPTED
    return 0


def share_global_batch(config: TrainConfig, state: dict[str, Any], world: World) -> TrainConfig:
    """A resumed run's --batch-size per rank: the checkpoint's global batch, shared by this launch's ranks.

    The global batch (ranks x --batch-size) is what the optimisation sees; it stays, whatever the
    number of processes, so a run written by N ranks resumes with M when M divides it.
    """
    saved_world = state.get("world_size", 1)
    if saved_world == world.size:
        return config
    global_batch = saved_world * config.batch_size
    if global_batch % world.size:
        raise UserError(f"the checkpoint's global batch is {global_batch} windows ({saved_world} processes x "
                        f"{config.batch_size}), which {world.size} processes cannot share evenly; resume with a "
                        f"number of processes that divides {global_batch}")
    return replace(config, batch_size=global_batch // world.size)
