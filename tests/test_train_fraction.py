"""--train-fraction: a learning curve's runs train on the start of the training split and differ in nothing else."""

from __future__ import annotations

import torch

from src.config import TrainConfig
from src.data.corpus import load_corpus
from src.data.corpus_ids import load_corpus_ids
from src.train.run import fit
from tests.scripts import TINY_MODEL, assert_one_line_error, run
from tests.textgen import make_corpus
from tests.tiny_run import last_checkpoint, tiny_config


def test_a_train_fraction_keeps_the_start_of_the_training_split_and_the_rest_unchanged(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("".join(chr(ord("a") + (i * 7) % 26) for i in range(1000)) + "Z", encoding="utf-8")
    whole = load_corpus_ids(TrainConfig(data_file=str(path), valid_fraction=0.1, test_fraction=0.1))
    part = load_corpus_ids(TrainConfig(data_file=str(path), valid_fraction=0.1, test_fraction=0.1, train_fraction=0.25))
    assert torch.equal(part.train, whole.train[:200])  # 25% of the 801 training characters
    assert torch.equal(part.valid, whole.valid) and torch.equal(part.test, whole.test)
    assert part.chars == whole.chars
    assert "training on its first 200 of 801 characters" in part.source


def test_the_string_loader_keeps_the_same_start(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("".join(chr(ord("a") + (i * 3) % 26) for i in range(1000)), encoding="utf-8")
    config = TrainConfig(data_file=str(path), valid_fraction=0.1, test_fraction=0.0, train_fraction=0.5)
    text, ids = load_corpus(config), load_corpus_ids(config)
    assert len(text.train) == ids.train.numel() == 450 and len(text.valid) == ids.valid.numel() == 100


def test_a_run_on_half_its_training_text_takes_half_the_steps_and_saves_the_fraction(tmp_path):
    for folder in ("whole", "half"):
        (tmp_path / folder).mkdir()
    whole, half = tiny_config(tmp_path / "whole"), tiny_config(tmp_path / "half", train_fraction=0.5)
    assert fit(whole, given={}) == 0 and fit(half, given={}) == 0
    steps = [last_checkpoint(config)["progress"]["step"] for config in (whole, half)]
    assert steps[1] in (steps[0] // 2, steps[0] // 2 + 1)
    assert last_checkpoint(half)["config"]["train_fraction"] == 0.5


def test_a_fraction_too_small_for_one_window_is_a_one_line_error(tmp_path):
    make_corpus(tmp_path / "corpus.txt")
    result = run("train.py", "--data-file", "corpus.txt", *TINY_MODEL, "--train-fraction", "0.001", cwd=tmp_path)
    assert_one_line_error(result, "has 21 characters", "--train-fraction")
