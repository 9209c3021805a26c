"""Checkpoints: atomic writes, weights_only loads, CPU tensors, clear errors for bad files."""

import hashlib

import pytest
import torch

import src.train.checkpoint
from src.errors import UserError
from src.train.checkpoint import load_checkpoint, load_checkpoint_with_digest, save_checkpoint


def minimal_state() -> dict:
    return {"config": {"hidden_size": 4}, "model_config": {"vocab_size": 3}, "vocab": ["a", "b"],
            "model": {"w": torch.arange(6.0).view(2, 3)}, "progress": {"step": 7, "losses": [1.5, 1.25]}}


def test_round_trip_through_a_weights_only_load(tmp_path):
    save_checkpoint(minimal_state(), tmp_path / "c.pt")
    raw = torch.load(tmp_path / "c.pt", weights_only=True)  # the guarantee, checked directly
    assert raw["progress"] == {"step": 7, "losses": [1.5, 1.25]}
    loaded = load_checkpoint(tmp_path / "c.pt")
    assert torch.equal(loaded["model"]["w"], torch.arange(6.0).view(2, 3))
    assert loaded["vocab"] == ["a", "b"]


def test_saving_leaves_no_temporary_files_and_replaces_the_old_checkpoint(tmp_path):
    save_checkpoint(minimal_state(), tmp_path / "c.pt")
    state = minimal_state()
    state["progress"]["step"] = 8
    save_checkpoint(state, tmp_path / "c.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]
    assert load_checkpoint(tmp_path / "c.pt")["progress"]["step"] == 8


class Unpicklable:
    def __reduce__(self):
        raise RuntimeError("cannot pickle this")


def test_a_failed_save_keeps_the_previous_checkpoint_intact(tmp_path):
    save_checkpoint(minimal_state(), tmp_path / "c.pt")
    state = minimal_state()
    state["model"]["bad"] = Unpicklable()  # torch.save fails midway through writing
    with pytest.raises(RuntimeError, match="cannot pickle"):
        save_checkpoint(state, tmp_path / "c.pt")
    assert load_checkpoint(tmp_path / "c.pt")["progress"]["step"] == 7
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_saved_tensors_are_on_the_cpu(tmp_path):
    save_checkpoint(minimal_state(), tmp_path / "c.pt")
    assert load_checkpoint(tmp_path / "c.pt")["model"]["w"].device.type == "cpu"


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    save_checkpoint(minimal_state(), tmp_path / "c.pt")
    data = (tmp_path / "c.pt").read_bytes()
    (tmp_path / "c.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "c.pt")


def test_foreign_torch_file_is_a_clear_error(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(UserError, match="not an rnn-from-scratch checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_checkpoint(tmp_path / "absent.pt")


def test_the_digest_is_of_the_bytes_loaded_even_if_the_file_is_replaced_meanwhile(tmp_path, monkeypatch):
    save_checkpoint(minimal_state(), tmp_path / "c.pt")
    original = hashlib.sha256((tmp_path / "c.pt").read_bytes()).hexdigest()
    replacement = minimal_state()
    replacement["model"]["w"] += 1.0
    load = torch.load

    def load_then_replace(source, **kwargs):
        state = load(source, **kwargs)
        save_checkpoint(replacement, tmp_path / "c.pt")  # another model at the same path, after the load
        return state

    monkeypatch.setattr(src.train.checkpoint.torch, "load", load_then_replace)
    state, digest = load_checkpoint_with_digest(tmp_path / "c.pt")
    assert torch.equal(state["model"]["w"], minimal_state()["model"]["w"])
    assert digest == original
