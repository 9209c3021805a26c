"""The training run's data as ids: the three splits, memory-mapped through the id cache.

    --data-file F       F encoded once (src/data/id_cache.py); train / valid / test are contiguous
                        slices of its ids, at the same character counts as `split_text`
    --dataset D         the three WikiText files, each encoded once
    --test-file T       T encoded as the test split

The vocabulary is the characters of the training part (the first n_train characters of F, or
wiki.train.raw), unless a resumed run brings its own. `--train-fraction f` then keeps only the
first f of the training ids: validation, test and the vocabulary are unchanged, so the points of a
learning curve differ in nothing but the text they train on. Every split is a 1-D uint8 (or uint16)
tensor viewing the memory map: nothing is read into memory until a batch needs it, and batches
are converted to int64 one at a time (src/data/dataset.py, src/analysis/evaluation.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from src.config import TrainConfig
from src.data.corpus import WIKITEXT_DATASETS, WIKITEXT_FILES, training_prefix, wikitext_folder
from src.data.id_cache import cached_ids, text_length, training_characters
from src.errors import UserError


@dataclass
class CorpusIds:
    """The splits as compact id tensors, the vocabulary they use, and where they came from."""

    train: Tensor
    valid: Tensor
    test: Tensor
    chars: list[str]
    source: str


def as_tensor(ids: np.ndarray) -> Tensor:
    """A tensor sharing the (memory-mapped) array's storage."""
    return torch.from_numpy(ids)


def load_corpus_ids(config: TrainConfig, chars: list[str] | None = None) -> CorpusIds:
    """The ids of the text the config asks for; `chars` (a resumed run's vocabulary) fixes the vocabulary."""
    test_fraction = 0.0 if config.test_file is not None else config.test_fraction
    if config.data_file is not None:
        path = Path(config.data_file)
        length = text_length(path)
        if length == 0:
            raise UserError(f"data file is empty: {path}")
        n_valid, n_test = int(length * config.valid_fraction), int(length * test_fraction)
        n_train = length - n_valid - n_test
        chars = chars if chars is not None else training_characters(path, n_train)
        ids = as_tensor(cached_ids(path, chars, vocabulary_of_first=n_train))
        train, valid, test = ids[:n_train], ids[n_train:n_train + n_valid], ids[n_train + n_valid:]
        source = (f"{path} (contiguous split {1 - config.valid_fraction - test_fraction:.0%}/"
                  f"{config.valid_fraction:.0%}/{test_fraction:.0%})")
    else:
        folder = wikitext_folder(config.wikitext_dir, config.dataset)
        files = {split: folder / name for split, name in WIKITEXT_FILES.items()}
        chars = chars if chars is not None else training_characters(files["train"])
        train, valid, test = (as_tensor(cached_ids(files[split], chars)) for split in ("train", "valid", "test"))
        source = f"{WIKITEXT_DATASETS[config.dataset][1]} raw ({folder}/)"
    if config.test_file is not None:
        test = as_tensor(cached_ids(Path(config.test_file), chars))
        source = f"{source}; test: {config.test_file}"
    if config.train_fraction < 1:
        kept = training_prefix(train.numel(), config.train_fraction)
        source = f"{source}; training on its first {kept:,} of {train.numel():,} characters"
        train = train[:kept]
    return CorpusIds(train, valid, test, chars, source)
