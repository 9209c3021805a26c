"""The optimizer: Adam, with decoupled weight decay on matrices only."""

from __future__ import annotations

import torch


def build_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW; weight decay applies to matrices (weights, embeddings), never to biases.

    With weight_decay=0 this is exactly Adam. Biases are left alone because shrinking them
    toward zero is not a useful prior: they only shift each unit's operating point.
    """
    matrices = [p for p in model.parameters() if p.dim() >= 2]
    vectors = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": matrices, "weight_decay": weight_decay},
                              {"params": vectors, "weight_decay": 0.0}], lr=lr)
