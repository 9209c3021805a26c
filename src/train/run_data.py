"""The data one training run sees: the corpus's ids, the training split cut into batches, and the size checks.

    --train-mode windows    the training ids as windows of seq_len + 1 (src/data/dataset.py: WindowDataset),
                            reshuffled every epoch
    --train-mode stateful   the training ids as batch_size x world_size parallel streams (StreamDataset),
                            read in order, so a batch continues where the last one ended
    --teachers              the windows, each batch with the teachers' distributions at its positions
                            (src/train/distillation.py: DistillationWindows)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from src.analysis.ensemble import split_paths
from src.config import TrainConfig
from src.data.corpus_ids import load_corpus_ids
from src.data.dataset import StreamDataset, WindowDataset
from src.data.vocab import CharVocab
from src.errors import UserError
from src.train.distillation import DistillationWindows, distillation_data
from src.train.distributed import World, barrier


@dataclass
class RunData:
    """The splits a Trainer uses, ready for it: batches to train on, ids to score, and their origin."""

    source: str
    vocab: CharVocab
    train: WindowDataset | StreamDataset | DistillationWindows
    train_chars: int
    valid: Tensor
    test: Tensor


def load_run_data(config: TrainConfig, resume_state: dict[str, Any] | None, world: World = World(),
                  device: torch.device = torch.device("cpu")) -> RunData:
    """Load (or, on first use, encode and cache) the corpus and wrap its training split for `config`.

    `resume_state`: the checkpoint a resumed run continues (None for a fresh run). Its vocabulary
    is kept (a fresh run takes the training text's), and its teachers' digests, when distilling,
    must still be those of the teacher files.
    `device`: where the teachers (--teachers) read the training text, in `config.precision`.
    Raises UserError when the validation or test split is too short to predict anything.
    """
    if not world.main:
        barrier(world)  # rank 0 builds (or checks) the id cache first, so no two processes write it
    resumed = resume_state or {}
    corpus = load_corpus_ids(config, resumed.get("vocab"))
    if world.main:
        barrier(world)
    if corpus.valid.numel() < 2:
        raise UserError("the validation split has fewer than 2 characters; use a longer text")
    # An empty test split is fine (--test-fraction 0: the run reports validation only); one
    # character is not, since there would be nothing to predict it from.
    if corpus.test.numel() == 1:
        raise UserError("the test split has fewer than 2 characters; use a longer text")
    train: WindowDataset | StreamDataset | DistillationWindows
    if config.train_mode == "stateful":
        train = StreamDataset(corpus.train, config.seq_len, config.batch_size * world.size)
    else:
        train = WindowDataset(corpus.train, config.seq_len, config.window_stride, config.shift_windows)
        if config.teachers:
            teachers = split_paths(config.teachers)
            if world.main:  # minutes for a large text: say what the run is doing before its header
                print(f"distillation: reading the training text with {len(teachers)} teacher(s) ...", flush=True)
            train = distillation_data(train, teachers, corpus.chars, config.batch_size, device, config.precision,
                                      resumed.get("teachers_sha256"), world, config.distill_temperature)
    return RunData(corpus.source, CharVocab(corpus.chars), train, corpus.train.numel(), corpus.valid, corpus.test)
