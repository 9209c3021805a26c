"""What a run reports about itself: the header it prints first, and the test score it ends with."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from src.checkpoint import load_checkpoint
from src.evaluation import Evaluation, evaluate

if TYPE_CHECKING:  # only for the annotations: training imports this module
    from src.training import Trainer


def test_best(trainer: Trainer) -> dict[str, Any]:
    """Evaluate best.pt on the test split (if there is one); write and return results.json."""
    c, p = trainer.config, trainer.progress
    test: Evaluation | None = None
    if trainer.test_ids.numel() > 0:
        best = load_checkpoint(trainer.checkpoint_dir / "best.pt")
        model = trainer.model_class.from_checkpoint(best).to(trainer.device)
        test = evaluate(model, trainer.test_ids, c.batch_size, c.seq_len, trainer.device, c.precision)
    results = {
        "test_loss": test.loss if test else None, "test_bpc": test.bpc if test else None,
        "test_ppl": test.perplexity if test else None,
        "best_val_loss": p.best_valid_loss, "best_val_bpc": p.best_valid_loss / math.log(2),
        "epochs": p.epoch, "steps": p.step, "train_seconds": p.train_seconds,
        "diagnostics_seconds": sum(d["seconds"] for d in p.diagnostics),
        "test_characters": test.characters if test else 0, "parameters": trainer.model.num_parameters(),
        "vocab_size": len(trainer.vocab), "data": trainer.source, "device": str(trainer.device),
        "config": c.to_dict(),
    }
    (trainer.checkpoint_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    trainer.metrics.write("test", **{k: v for k, v in results.items() if k != "config"})
    if test is None:
        print(f"no test split (--test-fraction 0): validation only -> {trainer.checkpoint_dir / 'results.json'}",
              flush=True)
    else:
        print(f"test (best.pt): {test.loss:.4f} nats | {test.bpc:.4f} bpc | perplexity {test.perplexity:.2f} "
              f"| {test.characters:,} characters -> {trainer.checkpoint_dir / 'results.json'}", flush=True)
    return results

def describe(trainer: Trainer) -> None:
    """The run's header: where, on what, how big."""
    print(f"device: {trainer.device}")
    print(f"data: {trainer.source}")
    print(f"characters: train {trainer.train_chars:,} | valid {trainer.valid_ids.numel():,} "
          f"| test {trainer.test_ids.numel():,}")
    print(f"vocabulary: {len(trainer.vocab)} symbols ({len(trainer.vocab) - 1} characters + unknown)")
    print(f"model: {trainer.model_config.num_layers} x {trainer.model_config.hidden_size} {trainer.model.kind}, "
          f"embedding {trainer.model_config.embedding_dim}, {trainer.model.num_parameters():,} parameters, "
          f"{trainer.config.precision}")
    print(f"training: {trainer.steps_per_epoch} steps/epoch x {trainer.config.epochs} epochs, "
          f"batch {trainer.config.batch_size} x {trainer.config.seq_len} characters", flush=True)
    c = trainer.config
    if c.max_minutes is not None:
        print(f"budget: {c.max_minutes:g} minutes; the LR schedule's end is re-estimated from the pace before "
              "every step", flush=True)
    elif trainer.lr_schedule.total_steps < trainer.natural_end:
        print(f"budget: the LR schedule ends with --max-steps at step {trainer.lr_schedule.total_steps}", flush=True)
