"""Distillation: the teachers' table is their full-context distribution, aligned with every window."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import src.train.distillation
from src.config import TrainConfig
from src.data.dataset import WindowDataset
from src.data.id_cache import file_sha256
from src.errors import UserError
from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.train.distillation import DistillationWindows, distillation_objective, teacher_table
from src.train.distributed import World
from src.train.run import EXIT_INTERRUPTED, fit
from tests.tiny_run import interrupt_during, last_checkpoint, resume_given, tiny_config

CPU = torch.device("cpu")


def teacher(seed: int = 0) -> RNNLanguageModel:
    torch.manual_seed(seed)
    return RNNLanguageModel(ModelConfig(vocab_size=9, embedding_dim=4, hidden_size=16, num_layers=2)).eval()


def read_from_zero(model: RNNLanguageModel, ids: torch.Tensor) -> torch.Tensor:
    """The model's distributions over ids[1:], reading ids[:-1] in one pass from the zero state."""
    with torch.no_grad():
        return model(ids[:-1].unsqueeze(0))[0][0].softmax(dim=-1)


def test_one_stream_gives_the_teachers_distribution_after_the_whole_text_before_each_character():
    ids = torch.randint(0, 9, (200,))
    table = teacher_table(teacher(), ids, streams=1, seq_len=7, vocab_size=9, device=CPU, precision="fp32")
    assert table.dtype == torch.float16 and table.shape == (199, 9)
    torch.testing.assert_close(table.float(), read_from_zero(teacher(), ids), atol=1e-3, rtol=0)


def test_each_stream_is_read_from_its_start_and_the_remainder_continues_the_last_one():
    ids = torch.randint(0, 9, (102,))  # 101 predictions: 3 streams of 33, then 2 more after the last stream
    table = teacher_table(teacher(), ids, streams=3, seq_len=10, vocab_size=9, device=CPU, precision="fp32")
    for first, stop in ((0, 33), (33, 66)):
        torch.testing.assert_close(table[first:stop].float(), read_from_zero(teacher(), ids[first:stop + 1]),
                                   atol=1e-3, rtol=0)
    torch.testing.assert_close(table[66:].float(), read_from_zero(teacher(), ids[66:]), atol=1e-3, rtol=0)


def test_at_a_temperature_the_table_holds_the_teachers_distribution_flattened():
    ids = torch.randint(0, 9, (200,))
    table = teacher_table(teacher(), ids, streams=1, seq_len=7, vocab_size=9, device=CPU, precision="fp32",
                          temperature=2.0)
    flattened = (read_from_zero(teacher(), ids).log() / 2.0).softmax(dim=-1)
    torch.testing.assert_close(table.float(), flattened, atol=1e-3, rtol=0)
    assert table.float().max() < read_from_zero(teacher(), ids).max()


def test_the_ranks_shares_of_the_table_add_up_to_one_process_table(monkeypatch):
    ids = torch.randint(0, 9, (302,))  # 301 predictions: 5 streams of 60, the last one continued
    single = teacher_table(teacher(), ids, streams=5, seq_len=8, vocab_size=9, device=CPU, precision="fp32")
    monkeypatch.setattr(src.train.distillation, "sum_tensor_over_ranks", lambda world, table, device: table)  # no sum
    shares = [teacher_table(teacher(), ids, streams=5, seq_len=8, vocab_size=9, device=CPU, precision="fp32",
                            world=World(rank, 3)) for rank in range(3)]
    filled = [share.float().sum(dim=-1) > 0 for share in shares]
    assert torch.equal(sum(f.int() for f in filled), torch.ones(301, dtype=torch.int))  # each row from one rank
    torch.testing.assert_close(sum(share.float() for share in shares), single.float(), atol=1e-3, rtol=0)


def test_every_window_gets_the_table_rows_of_the_characters_it_predicts():
    ids = torch.randint(0, 9, (500,))
    one_hot_table = F.one_hot(ids[1:], 9).half()  # row i: the character that follows position i
    windows = WindowDataset(ids, seq_len=16, stride=5, shift=True)
    distilling = DistillationWindows(windows, one_hot_table)
    for (inputs, targets, teacher_p), (plain_inputs, _) in zip(distilling.batches(8, epoch_seed=4),
                                                               windows.batches(8, epoch_seed=4)):
        assert torch.equal(inputs, plain_inputs)
        assert torch.equal(teacher_p.argmax(dim=-1), targets)
    assert distilling.num_batches(8) == windows.num_batches(8)


def test_the_objective_is_the_cross_entropy_to_the_mixed_target():
    logits, targets = torch.randn(2, 5, 9), torch.randint(0, 9, (2, 5))
    teacher_p = torch.randn(2, 5, 9).softmax(dim=-1)
    target_loss = F.cross_entropy(logits.reshape(-1, 9), targets.reshape(-1))
    mixed = 0.3 * F.one_hot(targets, 9).float() + 0.7 * teacher_p
    expected = F.cross_entropy(logits.reshape(-1, 9), mixed.reshape(-1, 9))
    torch.testing.assert_close(distillation_objective(logits, target_loss, teacher_p, weight=0.7), expected)
    torch.testing.assert_close(distillation_objective(logits, target_loss, teacher_p, weight=0.0), target_loss)


def test_at_a_temperature_the_soft_term_is_tau_squared_times_the_cross_entropy_of_flattened_distributions():
    logits, targets = torch.randn(2, 5, 9), torch.randint(0, 9, (2, 5))
    flat_teacher_p = (torch.randn(2, 5, 9) / 3).softmax(dim=-1)
    target_loss = F.cross_entropy(logits.reshape(-1, 9), targets.reshape(-1))
    soft = F.cross_entropy(logits.reshape(-1, 9) / 3, flat_teacher_p.reshape(-1, 9))
    torch.testing.assert_close(distillation_objective(logits, target_loss, flat_teacher_p, weight=0.4, temperature=3),
                               0.6 * target_loss + 0.4 * 9 * soft)


def test_distillation_needs_windows_a_weight_between_zero_and_one_and_a_positive_temperature():
    with pytest.raises(UserError, match="windows"):
        TrainConfig(teachers="a.pt", train_mode="stateful")
    with pytest.raises(UserError, match="--distill-weight"):
        TrainConfig(teachers="a.pt", distill_weight=1.5)
    with pytest.raises(UserError, match="--distill-temperature"):
        TrainConfig(teachers="a.pt", distill_temperature=0.0)


def trained_teacher(tmp_path) -> str:
    """best.pt of a tiny run on tiny_config's corpus."""
    config = tiny_config(tmp_path, checkpoint_dir=str(tmp_path / "teacher"), no_diagnostics=True, sample_length=0)
    assert fit(config, given={}) == 0
    return str(tmp_path / "teacher" / "best.pt")


def student(tmp_path, name: str, **overrides) -> TrainConfig:
    return tiny_config(tmp_path, checkpoint_dir=str(tmp_path / name), no_diagnostics=True, seed=5, **overrides)


def test_with_weight_zero_a_distilling_run_is_the_plain_run_bit_for_bit(tmp_path):
    teachers = trained_teacher(tmp_path)
    plain, zero = student(tmp_path, "plain"), student(tmp_path, "zero", teachers=teachers, distill_weight=0.0)
    assert fit(plain, given={}) == 0 and fit(zero, given={}) == 0
    ours, theirs = last_checkpoint(plain)["model"], last_checkpoint(zero)["model"]
    assert all(torch.equal(ours[name], theirs[name]) for name in ours)


def test_a_distilling_run_learns_from_the_teacher_and_logs_the_texts_loss(tmp_path, capsys):
    teachers = trained_teacher(tmp_path)
    plain, taught = student(tmp_path, "plain"), student(tmp_path, "taught", teachers=f"{teachers},{teachers}",
                                                        distill_weight=1.0)
    assert fit(plain, given={}) == 0 and fit(taught, given={}) == 0
    state = last_checkpoint(taught)
    assert state["config"]["teachers"] == f"{teachers},{teachers}"
    header = f"distillation: objective = 0 x CE(text) + 1 x CE(teachers), the average of {teachers},{teachers}"
    out = capsys.readouterr().out
    assert "distillation: reading the training text with 2 teacher(s) ..." in out and header in out
    ours = last_checkpoint(plain)["model"]
    assert any(not torch.equal(ours[name], state["model"][name]) for name in ours)
    # With w = 1 the objective is the teacher's cross-entropy; what is logged is still the text's.
    first_logged = state["progress"]["step_losses"][0]
    assert first_logged == pytest.approx(last_checkpoint(plain)["progress"]["step_losses"][0])


def test_a_run_at_a_temperature_names_it_and_the_soft_terms_factor_in_its_header(tmp_path, capsys):
    teachers = trained_teacher(tmp_path)
    assert fit(student(tmp_path, "warm", teachers=teachers, distill_temperature=2.0), given={}) == 0
    header = (f"distillation: objective = 0.5 x CE(text) + 0.5 x CE(teachers) x 4, both at temperature 2, "
              f"the average of {teachers}")
    assert header in capsys.readouterr().out


def test_a_stopped_distilling_run_resumes_to_the_same_weights_at_its_temperature(tmp_path, monkeypatch):
    teachers = trained_teacher(tmp_path)
    straight = student(tmp_path, "straight", epochs=2, teachers=teachers, distill_temperature=2.0)
    assert fit(straight, given={}) == 0
    pieced = student(tmp_path, "pieced", epochs=2, teachers=teachers, distill_temperature=2.0)
    interrupt_during(monkeypatch, "progress_sample")  # the sample after epoch 1
    assert fit(pieced, given={}) == EXIT_INTERRUPTED
    monkeypatch.undo()
    assert fit(TrainConfig(**{**pieced.to_dict(), "resume": True}), given=resume_given(pieced)) == 0
    ours, theirs = last_checkpoint(straight)["model"], last_checkpoint(pieced)["model"]
    assert all(torch.equal(ours[name], theirs[name]) for name in ours)


def test_a_resumed_run_refuses_a_teacher_file_that_changed_since_it_started(tmp_path):
    teachers = trained_teacher(tmp_path)
    taught = student(tmp_path, "taught", teachers=teachers)
    assert fit(taught, given={}) == 0
    assert last_checkpoint(taught)["teachers_sha256"] == [file_sha256(Path(teachers))]
    replaced = torch.load(teachers, weights_only=True)
    first = next(iter(replaced["model"]))
    replaced["model"][first] += 1.0  # another teacher at the same path
    torch.save(replaced, teachers)
    longer = TrainConfig(**{**taught.to_dict(), "resume": True, "epochs": 2})
    with pytest.raises(UserError, match=f"teacher {teachers} has changed since the run started"):
        fit(longer, given=resume_given(taught, epochs=2))


def test_a_teacher_trained_on_another_text_is_refused_before_training(tmp_path):
    teachers = trained_teacher(tmp_path)
    (tmp_path / "other").mkdir()
    other = tiny_config(tmp_path / "other", teachers=teachers)
    (tmp_path / "other" / "corpus.txt").write_text("only a few letters here, repeated. " * 800)
    with pytest.raises(UserError, match="another vocabulary"):
        fit(other, given={})
