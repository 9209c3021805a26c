"""Configuration: every flag documented, bad values refused, resume cannot change the run."""

import argparse
import dataclasses

import pytest

from src.cli import add_dataclass_arguments
from src.config import TrainConfig
from src.data.corpus import WIKITEXT_DATASETS
from src.errors import UserError
from src.model.orthogonal import RECURRENT_WEIGHTS
from src.model.rnn_cell import RECURRENT_INITS
from src.model.rnn_model import CELLS, RNN_IMPLS
from src.model.sequence_dropout import DROPOUT_MASKS
from src.precision import PRECISIONS
from src.script_configs import BenchConfig, EvaluateConfig, GenerateConfig, GpuCheckConfig, VisualizeConfig
from src.train.run_state import merge_for_resume


@pytest.mark.parametrize("cls", [TrainConfig, GenerateConfig, EvaluateConfig, VisualizeConfig, GpuCheckConfig,
                                 BenchConfig])
def test_every_field_is_a_flag_with_help_text(cls):
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, cls)
    actions = {a.dest: a for a in parser._actions if a.dest != "help"}
    assert set(actions) == {f.name for f in dataclasses.fields(cls)}
    assert all(action.help for action in actions.values())


@pytest.mark.parametrize("name, accepted", [("dataset", WIKITEXT_DATASETS), ("cell", CELLS), ("rnn_impl", RNN_IMPLS),
                                            ("recurrent_weight", RECURRENT_WEIGHTS),
                                            ("recurrent_init", RECURRENT_INITS), ("dropout_mask", DROPOUT_MASKS),
                                            ("precision", PRECISIONS)])
def test_a_flags_choices_are_exactly_what_the_code_accepts(name, accepted):
    field = next(f for f in dataclasses.fields(TrainConfig) if f.name == name)
    assert list(field.metadata["choices"]) == list(accepted)


def test_flags_parse_into_the_config_and_untyped_flags_keep_defaults():
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, TrainConfig)
    config = TrainConfig(**vars(parser.parse_args(["--hidden-size", "64", "--max-minutes", "1.5", "--resume"])))
    assert (config.hidden_size, config.max_minutes, config.resume) == (64, 1.5, True)
    assert config.seq_len == TrainConfig().seq_len


def test_a_tuple_field_takes_several_values_and_shows_its_default_spaced():
    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, BenchConfig)
    config = BenchConfig(**vars(parser.parse_args(["--hidden-sizes", "64", "128", "--precisions", "fp32"])))
    assert (config.hidden_sizes, config.precisions) == ((64, 128), ("fp32",))
    assert "(default: 256 512 1024)" in " ".join(parser.format_help().split())


@pytest.mark.parametrize("flags", [{"rounds": 0}, {"hidden_sizes": (0,)}, {"impls": ("bptt",)},
                                   {"precisions": ("bf16",)}])
def test_a_benchmark_without_its_float32_reference_or_any_round_is_refused(flags):
    with pytest.raises(UserError):
        BenchConfig(**flags)


def test_stride_defaults_to_the_sequence_length():
    assert TrainConfig(seq_len=50).window_stride == 50
    assert TrainConfig(seq_len=50, stride=10).window_stride == 10


@pytest.mark.parametrize("bad", [dict(hidden_size=0), dict(lr=0.0), dict(valid_fraction=0.6, test_fraction=0.5),
                                 dict(stride=0), dict(max_steps=0), dict(grad_clip=-1.0), dict(valid_fraction=0.0),
                                 dict(test_fraction=-0.1), dict(diagnostics_every=-1), dict(weight_drop=1.0),
                                 dict(ar=-0.1), dict(norm_stabiliser=-1.0), dict(input_dropout=1.0),
                                 dict(train_fraction=0.0), dict(train_fraction=1.5), dict(final_lr_fraction=-0.1),
                                 dict(final_lr_fraction=1.5),
                                 dict(shift_windows=True, train_mode="stateful")])
def test_invalid_values_are_user_errors(bad):
    with pytest.raises(UserError):
        TrainConfig(**bad)


def test_resume_keeps_the_saved_settings_and_takes_new_run_controls():
    saved = TrainConfig(hidden_size=64, max_steps=10).to_dict()
    merged = merge_for_resume(saved, {"resume": True, "max_minutes": 5.0})
    assert merged.hidden_size == 64
    assert merged.max_steps is None  # a budget belongs to one invocation
    assert merged.max_minutes == 5.0


def test_resume_refuses_to_change_the_model_or_optimisation():
    saved = TrainConfig(hidden_size=64).to_dict()
    with pytest.raises(UserError, match="--hidden-size"):
        merge_for_resume(saved, {"resume": True, "hidden_size": 128})


def test_resume_of_a_checkpoint_older_than_a_flag_takes_that_flags_default():
    saved = TrainConfig(hidden_size=64).to_dict()
    del saved["dropout_mask"]  # a checkpoint written before --dropout-mask existed
    merged = merge_for_resume(saved, {**TrainConfig(hidden_size=64).to_dict(), "resume": True})
    assert merged.dropout_mask == "step"
