"""What a run reports about itself: the header it prints first, and the test score it ends with."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from src.analysis.evaluation import Evaluation, evaluate
from src.precision import emulated_bf16_warning
from src.train.checkpoint import load_checkpoint
from src.train.distributed import barrier

if TYPE_CHECKING:  # only for the annotations: training imports this module
    from src.train.training import Trainer


def describe(trainer: Trainer) -> None:
    """The run's header: where, on what, how big (printed by rank 0)."""
    c, world, say = trainer.config, trainer.world, trainer.say
    ranks = f" on each of {world.size} processes" if world.distributed else ""
    say(f"device: {trainer.device}{ranks}")
    say(f"data: {trainer.source}")
    say(f"characters: train {trainer.train_chars:,} | valid {trainer.valid_ids.numel():,} "
        f"| test {trainer.test_ids.numel():,}")
    say(f"vocabulary: {len(trainer.vocab)} symbols ({len(trainer.vocab) - 1} characters + unknown)")
    say(f"model: {trainer.model_config.num_layers} x {trainer.model_config.hidden_size} {trainer.model.kind}, "
        f"embedding {trainer.model_config.embedding_dim}, {trainer.model.num_parameters():,} parameters, "
        f"{c.precision}")
    warning = emulated_bf16_warning(c.precision, trainer.device)
    if warning:
        say(f"{warning} (a new run takes float32 with --precision fp32 or auto)")
    batch = (f"global batch {world.size} processes x {c.batch_size} = {world.size * c.batch_size}"
             if world.distributed else f"batch {c.batch_size}")
    say(f"training: {trainer.steps_per_epoch} steps/epoch x {c.epochs} epochs, {batch} x {c.seq_len} characters")
    if c.teachers:
        tau = c.distill_temperature
        softened = "" if tau == 1 else f" x {tau**2:g}, both at temperature {tau:g}"
        say(f"distillation: objective = {1 - c.distill_weight:g} x CE(text) + {c.distill_weight:g} x CE(teachers)"
            f"{softened}, the average of {c.teachers}")
    if c.max_minutes is not None:
        say(f"budget: {c.max_minutes:g} minutes; the LR schedule's end is re-estimated from the pace before "
            "every step")
    elif trainer.lr_schedule.total_steps < trainer.natural_end:
        say(f"budget: the LR schedule ends with --max-steps at step {trainer.lr_schedule.total_steps}")


def test_best(trainer: Trainer) -> dict[str, Any]:
    """Evaluate best.pt on the test split (if there is one); write and return results.json.

    Every rank scores its share of the test text (src/analysis/evaluation.py); rank 0 writes the results.
    """
    c, p = trainer.config, trainer.progress
    test: Evaluation | None = None
    if trainer.test_ids.numel() > 0:
        barrier(trainer.world)  # rank 0 has finished writing best.pt before anyone reads it
        best = load_checkpoint(trainer.checkpoint_dir / "best.pt")
        model = trainer.model_class.from_checkpoint(best).to(trainer.device)
        test = evaluate(model, trainer.test_ids, c.batch_size, c.seq_len, trainer.device, c.precision,
                        world=trainer.world)
    results = {
        "test_loss": test.loss if test else None, "test_bpc": test.bpc if test else None,
        "test_ppl": test.perplexity if test else None,
        "best_val_loss": p.best_valid_loss, "best_val_bpc": p.best_valid_loss / math.log(2),
        "epochs": p.epoch, "steps": p.step, "train_seconds": p.train_seconds,
        "diagnostics_seconds": sum(d["seconds"] for d in p.diagnostics),
        "test_characters": test.characters if test else 0, "parameters": trainer.model.num_parameters(),
        "vocab_size": len(trainer.vocab), "data": trainer.source, "device": str(trainer.device),
        "processes": trainer.world.size, "config": c.to_dict(),
    }
    if not trainer.world.main:
        return results
    (trainer.checkpoint_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    trainer.metrics.write("test", **{k: v for k, v in results.items() if k != "config"})
    if test is None:
        trainer.say(f"no test split (--test-fraction 0): validation only -> {trainer.checkpoint_dir / 'results.json'}")
    else:
        trainer.say(f"test (best.pt): {test.loss:.4f} nats | {test.bpc:.4f} bpc | perplexity {test.perplexity:.2f} "
                    f"| {test.characters:,} characters -> {trainer.checkpoint_dir / 'results.json'}")
    return results
