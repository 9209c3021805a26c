"""The data a run sees: the training split batched for its --train-mode, and splits too short to score refused."""

from __future__ import annotations

import pytest
import torch

from src.config import TrainConfig
from src.data.corpus_ids import load_corpus_ids
from src.data.dataset import StreamDataset, WindowDataset
from src.errors import UserError
from src.train.run_data import load_run_data
from tests.textgen import make_corpus


def write_text(tmp_path) -> str:
    """A text of just over 1,000 characters, so that a fraction of 0.001 leaves a split of one character."""
    return str(make_corpus(tmp_path / "t.txt", characters=1000))


def test_the_run_data_carries_the_corpus_splits_and_vocabulary(tmp_path):
    config = TrainConfig(data_file=write_text(tmp_path), valid_fraction=0.1, test_fraction=0.1, seq_len=16)
    data, ids = load_run_data(config, None), load_corpus_ids(config)
    assert torch.equal(data.valid, ids.valid) and torch.equal(data.test, ids.test)
    length = len((tmp_path / "t.txt").read_text(encoding="utf-8"))
    assert data.train_chars == ids.train.numel() == length - 2 * int(length * 0.1)
    assert data.vocab.chars == ids.chars and data.source == ids.source


@pytest.mark.parametrize(("mode", "kind"), [("windows", WindowDataset), ("stateful", StreamDataset)])
def test_the_training_split_is_batched_for_the_train_mode(tmp_path, mode, kind):
    config = TrainConfig(data_file=write_text(tmp_path), valid_fraction=0.1, test_fraction=0.1, seq_len=16,
                         batch_size=4, train_mode=mode)
    assert isinstance(load_run_data(config, None).train, kind)


def test_a_validation_split_of_one_character_is_refused(tmp_path):
    config = TrainConfig(data_file=write_text(tmp_path), valid_fraction=0.001, test_fraction=0.1, seq_len=16)
    with pytest.raises(UserError, match="the validation split has fewer than 2 characters"):
        load_run_data(config, None)


def test_a_test_split_of_one_character_is_refused_but_an_empty_one_is_not(tmp_path):
    path = write_text(tmp_path)
    with pytest.raises(UserError, match="the test split has fewer than 2 characters"):
        load_run_data(TrainConfig(data_file=path, valid_fraction=0.1, test_fraction=0.001, seq_len=16), None)
    empty = load_run_data(TrainConfig(data_file=path, valid_fraction=0.1, test_fraction=0.0, seq_len=16), None)
    assert empty.test.numel() == 0
