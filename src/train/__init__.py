"""A training run: the Trainer and what it conducts (schedule, budget, optimizer, regularisers,
checkpoints, interrupts, torchrun ranks, distillation, the weight average, the metrics log)."""
