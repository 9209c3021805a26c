"""The Trainer: data -> model -> Adam steps -> validation, checkpoints, plot, samples.

`fit` (src/train/run.py) drives a Trainer through its epochs. The pieces the Trainer wires together each
live in their own module (the data, the budget, the optimizer, the run's progress and RNG states,
evaluation, diagnostics...); this one owns the order of events. The final test is
src/train/run_report.py's.
"""

from __future__ import annotations

import math
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.optim.lr_scheduler import LambdaLR

from src.analysis.diagnostics import measure
from src.analysis.evaluation import Evaluation, evaluate, next_char_loss
from src.analysis.plotting import plot_diagnostics, plot_loss_curve
from src.config import TrainConfig
from src.device import resolve_device
from src.errors import UserError
from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.model.sampling import progress_sample
from src.precision import autocast, resolve_precision
from src.train.autosave import Autosave
from src.train.budget import Budget
from src.train.checkpoint import save_checkpoint
from src.train.distillation import distillation_objective
from src.train.distributed import ForwardWithStates, World, any_rank, join, rank_seed, sum_over_ranks, wrap
from src.train.interrupt import GracefulInterrupt
from src.train.metrics_log import MetricsLog
from src.train.optimizer import build_optimizer
from src.train.progress_display import EpochProgress
from src.train.regularisers import StatePenalties
from src.train.run_data import load_run_data
from src.train.run_state import Progress, restore_trainer, trainer_state
from src.train.schedule import LRSchedule
from src.train.weight_average import WeightAverage


class Trainer:
    """Holds a run's objects so that each phase (step, epoch end, test) is a short method."""

    def __init__(self, config: TrainConfig, resume_state: dict[str, Any] | None,
                 model_class: type[torch.nn.Module] = RNNLanguageModel, world: World = World()) -> None:
        """`model_class` is ours; `bench/anchors.py` passes library RNNs with the same interface.

        `world`: this process's place in a torchrun launch (src/train/distributed.py); one process by default.
        """
        self.world = world
        self.device = join(world, resolve_device(config.device))
        # Record the precision actually used, so a resumed run keeps it on any machine.
        config = replace(config, precision=resolve_precision(config.precision, self.device))
        self.config = config
        self.checkpoint_dir = Path(config.checkpoint_dir)
        torch.manual_seed(config.seed)

        data = load_run_data(config, resume_state, world, self.device)
        self.source, self.vocab, self.train_chars = data.source, data.vocab, data.train_chars
        self.train_data, self.valid_ids, self.test_ids = data.train, data.valid, data.test
        # Stateful mode: the state at the end of the last batch, where the next batch continues.
        self.carried_hidden: Tensor | None = None

        self.model_config = ModelConfig(len(self.vocab), config.embedding_dim, config.hidden_size, config.num_layers,
                                        config.rnn_impl, config.dropout, config.recurrent_init, config.cell,
                                        config.weight_drop, config.recurrent_weight, config.zoneout,
                                        config.dropout_mask, config.input_dropout)
        self.model_class = model_class
        self.model = model_class(self.model_config).to(self.device)
        if world.rank > 0:  # the same initial weights everywhere, but each rank its own dropout masks
            torch.manual_seed(rank_seed(config.seed, world.rank))
        self.optimizer = build_optimizer(self.model, config.lr, config.weight_decay)
        self.average = WeightAverage(self.model, config.weight_average) if config.weight_average else None
        self.penalties = StatePenalties(config.ar, config.tar, config.norm_stabiliser)
        # What the training step calls: the model, through DDP's gradient averaging with several ranks.
        self.step_module = wrap(world, ForwardWithStates(self.model) if self.penalties.active else self.model,
                                self.device)
        self.steps_per_epoch = self.train_data.num_batches(config.batch_size, world.size)
        self.natural_end = config.epochs * self.steps_per_epoch  # where the schedule ends without a budget
        self.lr_schedule = LRSchedule(config.lr_schedule, config.warmup_steps, total_steps=self.natural_end,
                                      final_fraction=config.final_lr_fraction)
        self.scheduler = LambdaLR(self.optimizer, self.lr_schedule)  # restoring it restores lr_schedule too
        self.progress = Progress()
        if resume_state:
            restore_trainer(self, resume_state)
            if config.epochs > resume_state["config"]["epochs"]:  # an extension: decay from here to the new end
                self.lr_schedule.replan_from(self.progress.step)
            self.progress.finished = False  # until this invocation has tested
        self.budget = Budget(config.max_steps, config.max_minutes, start_step=self.progress.step)
        self.autosave = Autosave(config.save_every)
        self.plan_schedule()
        self.metrics = MetricsLog(self.checkpoint_dir / "metrics.jsonl",
                                  resumed_at_step=self.progress.step if resume_state else None, enabled=world.main)

    # --- checkpoints ---------------------------------------------------------------------------
    def save(self, best: bool) -> None:
        """Write last.pt (and best.pt when validation improved). Every rank calls it; rank 0 writes."""
        state = trainer_state(self)
        if self.world.main:
            save_checkpoint(state, self.checkpoint_dir / "last.pt")
            if best:
                save_checkpoint(state, self.checkpoint_dir / "best.pt")
        self.autosave.saved()

    def plot_losses(self) -> None:
        """Redraw the loss curve from the run's history."""
        p = self.progress
        plot_loss_curve(self.config.plot, p.step_losses, p.epoch_steps, p.epoch_train_losses, p.epoch_valid_losses)

    # --- training ------------------------------------------------------------------------------
    def train_step(self, inputs: Tensor, targets: Tensor, teacher_p: Tensor | None = None) -> tuple[float, float]:
        """One Adam step on this rank's batch; returns (its loss in nats, the gradient norm before clipping).

        `teacher_p` (B, T, V): the teachers' distributions at the batch's positions, when distilling.

        With several ranks, backward() leaves every rank the gradient averaged over all of them.
        The learning rate for the next step is set afterwards, by `agree_after_step`.
        """
        inputs, targets = inputs.to(self.device), targets.to(self.device)
        with autocast(self.device, self.config.precision):
            if self.penalties.active:
                logits, hidden, states = self.step_module(inputs, self.carried_hidden)
            else:
                logits, hidden = self.step_module(inputs, self.carried_hidden)
        if self.config.train_mode == "stateful":
            # Carry the state, not its history: backprop stops at this window's start.
            self.carried_hidden = hidden.detach().float()
        loss = next_char_loss(logits, targets)
        objective = loss
        if teacher_p is not None:
            objective = distillation_objective(logits, loss, teacher_p.to(self.device), self.config.distill_weight,
                                               self.config.distill_temperature)
        if self.penalties.active:
            objective = objective + self.penalties(states)
        self.optimizer.zero_grad(set_to_none=True)
        objective.backward()
        max_norm = self.config.grad_clip if self.config.grad_clip > 0 else math.inf
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), max_norm)
        self.optimizer.step()
        return loss.item(), float(grad_norm)

    def plan_schedule(self) -> None:
        """End the LR schedule where this invocation's budget will end training (see src/train/budget.py)."""
        self.lr_schedule.total_steps = self.budget.horizon(self.progress.step, self.natural_end)

    def agree_after_step(self, loss: float, stop: GracefulInterrupt) -> tuple[float, bool, bool]:
        """After a step: (the loss averaged over ranks, stop now?, save now?), and the next step's LR.

        Every rank must stop, save and anneal at the same step, but clocks and Ctrl-C differ per
        process, so the votes (and the budget's estimate of where the schedule ends) are summed
        over the ranks in one all-reduce. For one process the values are used as they are.
        """
        p, n = self.progress, self.world.size
        votes = [loss, float(stop.requested or self.budget.spent(p.step)), float(self.autosave.due()),
                 float(self.budget.horizon(p.step, self.natural_end))]
        loss_sum, stop_votes, save_votes, horizons = sum_over_ranks(self.world, votes, self.device)
        self.lr_schedule.total_steps = round(horizons / n)
        self.scheduler.step()
        return loss_sum / n, stop_votes > 0, save_votes > 0

    def run_epoch_batches(self, stop: GracefulInterrupt) -> None:
        """Train on the rest of the current epoch, or until a budget or Ctrl-C stops it."""
        c, p = self.config, self.progress
        shown = EpochProgress(self.steps_per_epoch, p.batch_in_epoch, f"epoch {p.epoch + 1}/{c.epochs}",
                              enabled=self.world.main)
        batches = self.train_data.batches(c.batch_size, epoch_seed=c.seed * 1_000_003 + p.epoch,
                                          start_batch=p.batch_in_epoch, rank=self.world.rank,
                                          world_size=self.world.size)
        if p.batch_in_epoch == 0:
            self.carried_hidden = None  # every epoch starts each stream from a zero state
        window_loss, window_steps = 0.0, 0
        for batch in batches:  # (inputs, targets), plus the teachers' distributions when distilling
            inputs = batch[0]
            tick = time.perf_counter()
            loss, grad_norm = self.train_step(*batch)
            seconds = time.perf_counter() - tick
            p.train_seconds += seconds
            p.step += 1
            p.batch_in_epoch += 1
            if self.average:
                self.average.update(self.model, p.step)
            loss, stop_now, save_now = self.agree_after_step(loss, stop)
            p.epoch_loss_sum += loss
            p.step_losses.append(loss)
            window_loss, window_steps = window_loss + loss, window_steps + 1
            chars_per_s = inputs.numel() * self.world.size / seconds  # all ranks together
            shown.step_done(p.epoch_loss_sum / p.batch_in_epoch, chars_per_s)
            if p.step % c.log_interval == 0:
                lr = self.scheduler.get_last_lr()[0]
                self.metrics.write("train", step=p.step, epoch=p.epoch + 1, loss=window_loss / window_steps,
                                   lr=lr, grad_norm=grad_norm, chars_per_s=chars_per_s)
                shown.logged(p.batch_in_epoch, window_loss / window_steps, lr, chars_per_s)
                window_loss, window_steps = 0.0, 0
            if not math.isfinite(loss):
                raise UserError(f"the training loss became {loss} at step {p.step}; lower --lr or --grad-clip")
            if not math.isfinite(grad_norm):
                # Clipping scales an overflowed gradient by max_norm / inf = 0: the weights would stop
                # moving while the loss stays finite, so the run would go on, dead, until its end.
                raise UserError(f"the gradient norm became {grad_norm} at step {p.step}: training diverged; "
                                "lower --lr")
            if not c.no_diagnostics and c.diagnostics_every and p.step % c.diagnostics_every == 0 and self.world.main:
                shown.write(self.take_diagnostics())
            if save_now:
                self.save(best=False)
                self.say(f"saved {self.checkpoint_dir / 'last.pt'} at step {p.step} (mid-epoch: every "
                         f"{c.save_every:g} minutes)", shown)
            if stop_now:
                break
        shown.close()

    def end_epoch(self, epoch_seconds: float, stop: GracefulInterrupt) -> None:
        """Validate, log and checkpoint after a (possibly partial) epoch; then diagnostics, plot, sample.

        The checkpoint is written before anything optional, so a failure in an optional phase
        can never lose the epoch's training, and Ctrl-C is honoured between the phases.
        """
        c, p = self.config, self.progress
        complete = p.batch_in_epoch >= self.steps_per_epoch
        epoch_number = p.epoch + 1
        train_loss = p.epoch_loss_sum / max(1, p.batch_in_epoch)
        with self.kept_weights():
            valid = self.validate()
        own = self.validate() if self.average else None  # what averaging buys: the trained weights, beside it
        improved = valid.loss < p.best_valid_loss
        p.best_valid_loss = min(p.best_valid_loss, valid.loss)
        p.epoch_steps.append(p.step)
        p.epoch_train_losses.append(train_loss)
        p.epoch_valid_losses.append(valid.loss)
        if complete:
            p.epoch, p.batch_in_epoch, p.epoch_loss_sum = p.epoch + 1, 0, 0.0
        lr = self.scheduler.get_last_lr()[0]
        self.metrics.write("epoch", epoch=epoch_number, complete=complete, step=p.step, train_loss=train_loss,
                           valid_loss=valid.loss, valid_bpc=valid.bpc, valid_ppl=valid.perplexity, lr=lr,
                           epoch_seconds=epoch_seconds, train_seconds=p.train_seconds,
                           **({"valid_loss_training_weights": own.loss} if own else {}))
        partial = "" if complete else " (partial)"
        own_line = f" (training weights {own.loss:.4f})" if own else ""
        self.say(f"epoch {epoch_number}/{c.epochs}{partial} | step {p.step} | train {train_loss:.4f} | "
                 f"valid {valid.loss:.4f} nats {valid.bpc:.4f} bpc ppl {valid.perplexity:.2f}{own_line} | "
                 f"lr {lr:.2e} | {epoch_seconds:.1f}s{' | best' if improved else ''}")
        self.save(best=improved)
        stop.check()
        if not c.no_diagnostics and not c.diagnostics_every:
            if self.world.main:  # measured on one copy of the model: the others wait at the next check
                self.say(self.take_diagnostics())
            self.save(best=False)  # last.pt keeps the diagnostics history (a resumed plot continues it)
            stop.check()
        if self.world.main:
            self.plot_losses()
            if c.sample_length:
                self.say(f"--- sample ---\n{self.sample(seed=c.seed + epoch_number)}\n--------------")
        stop.check()

    def validate(self) -> Evaluation:
        """The whole validation split scored with the weights the model holds now (shared by the ranks)."""
        c = self.config
        return evaluate(self.model, self.valid_ids, c.batch_size, c.seq_len, self.device, c.precision,
                        world=self.world)

    def say(self, message: str, shown: EpochProgress | None = None) -> None:
        """Print a line of the training log (rank 0 only), above the progress bar if one is showing."""
        if not self.world.main:
            return
        if shown is not None:
            shown.write(message)
        else:
            print(message, flush=True)

    def kept_weights(self) -> AbstractContextManager[None]:
        """A block in which the model holds the weights the run keeps: their average, when there is one."""
        return self.average.applied(self.model) if self.average else nullcontext()

    def budget_spent(self) -> bool:
        """Whether a budget has ended this invocation, agreed by every rank."""
        return any_rank(self.world, self.budget.spent(self.progress.step), self.device)

    def take_diagnostics(self) -> str:
        """Measure the diagnostics on the validation split, log and plot them; returns the summary line."""
        c, p = self.config, self.progress
        with self.kept_weights():
            record = measure(self.model, self.valid_ids, c.seq_len, self.device, c.precision, step=p.step,
                             epoch=p.step / self.steps_per_epoch)
        p.diagnostics.append(record.to_dict())
        self.metrics.write("diagnostics", **record.to_dict())
        plot_diagnostics(c.diagnostics_plot, p.diagnostics)
        return record.summary()

    def sample(self, seed: int) -> str:
        """A short continuation of "The " with the weights the run keeps (see `progress_sample`)."""
        with self.kept_weights():
            return progress_sample(self.model, self.vocab, self.config.sample_length, seed)
