"""Sampling: temperature, top-k and top-p filtering, prompt checks, seeded reproducibility."""

import pytest
import torch

from src.data.vocab import UNK_ID, CharVocab
from src.errors import UserError
from src.model.rnn_model import ModelConfig, RNNLanguageModel
from src.model.sampling import (
    SamplingOptions,
    draw,
    encode_prompt,
    generate,
    next_char_probabilities,
    progress_sample,
)

LOGITS = torch.tensor([5.0, 1.0, 4.0, 3.0, 2.0])  # id 0 is the unknown symbol


def test_the_unknown_symbol_is_never_drawn():
    probs = next_char_probabilities(LOGITS.clone(), SamplingOptions(temperature=1.0))
    assert probs[UNK_ID] == 0
    assert probs.sum().item() == pytest.approx(1.0)


def test_top_k_keeps_only_the_k_most_likely_characters():
    probs = next_char_probabilities(LOGITS.clone(), SamplingOptions(temperature=1.0, top_k=2))
    assert (probs > 0).nonzero().flatten().tolist() == [2, 3]


def test_top_p_keeps_the_smallest_set_reaching_the_probability_mass():
    unfiltered = next_char_probabilities(LOGITS.clone(), SamplingOptions(temperature=1.0))
    assert unfiltered[2] < 0.7 < unfiltered[2] + unfiltered[3]
    probs = next_char_probabilities(LOGITS.clone(), SamplingOptions(temperature=1.0, top_p=0.7))
    assert (probs > 0).nonzero().flatten().tolist() == [2, 3]
    assert probs.sum().item() == pytest.approx(1.0)


def test_tiny_top_p_still_keeps_the_most_likely_character():
    probs = next_char_probabilities(LOGITS.clone(), SamplingOptions(temperature=1.0, top_p=1e-6))
    assert probs.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]


def test_lower_temperature_sharpens_the_distribution():
    cold = next_char_probabilities(LOGITS.clone(), SamplingOptions(temperature=0.5))
    hot = next_char_probabilities(LOGITS.clone(), SamplingOptions(temperature=2.0))
    assert cold.max() > hot.max()


@pytest.mark.parametrize("options", [dict(temperature=0), dict(top_k=0), dict(top_p=0), dict(top_p=1.5)])
def test_invalid_sampling_options_are_user_errors(options):
    with pytest.raises(UserError):
        SamplingOptions(**options)


def test_prompt_with_unseen_characters_is_an_error_naming_them():
    vocab = CharVocab.from_text("abc ")
    with pytest.raises(UserError, match="'é'.*'€'"):
        encode_prompt(vocab, "a é €", drop_unknown=False)


def test_drop_unknown_removes_the_unseen_characters():
    vocab = CharVocab.from_text("abc ")
    assert vocab.decode(encode_prompt(vocab, "a é b", drop_unknown=True).tolist()) == "a  b"


def test_empty_prompt_is_an_error():
    with pytest.raises(UserError, match="empty"):
        encode_prompt(CharVocab.from_text("ab"), "", drop_unknown=False)


def test_same_seed_gives_the_same_sample_and_streams_the_requested_length():
    vocab = CharVocab.from_text("abcdefgh ")
    torch.manual_seed(0)
    model = RNNLanguageModel(ModelConfig(len(vocab), 4, 8, 1))
    prompt = encode_prompt(vocab, "abc", drop_unknown=False)

    def sample_with_seed(seed):
        pieces = list(generate(model, vocab, prompt, 40, SamplingOptions(), torch.Generator().manual_seed(seed)))
        assert all(len(p) == 1 for p in pieces)
        return "".join(pieces)

    assert sample_with_seed(1) == sample_with_seed(1)
    assert len(sample_with_seed(1)) == 40
    assert sample_with_seed(1) != sample_with_seed(2)


def test_draw_follows_the_given_probabilities():
    probs = torch.tensor([0.0, 0.5, 0.0, 0.3, 0.2])
    generator = torch.Generator().manual_seed(0)
    counts = torch.bincount(torch.tensor([draw(probs, generator) for _ in range(20_000)]), minlength=5)
    assert counts[0] == counts[2] == 0  # zero probability is never drawn
    torch.testing.assert_close(counts / 20_000, probs, rtol=0, atol=0.015)


def test_draw_is_reproducible_with_the_same_generator_seed():
    probs = torch.softmax(torch.randn(50), dim=0)
    first = [draw(probs, torch.Generator().manual_seed(7)) for _ in range(3)]
    assert first == [draw(probs, torch.Generator().manual_seed(7)) for _ in range(3)]


def test_progress_sample_leaves_out_prompt_characters_the_vocabulary_lacks():
    vocab = CharVocab.from_text("hello ")  # no "T"
    torch.manual_seed(0)
    model = RNNLanguageModel(ModelConfig(len(vocab), 4, 8, 1))
    sample = progress_sample(model, vocab, length=12, seed=3, prompt="The ")
    assert sample.startswith("he ") and len(sample) == len("he ") + 12
    assert progress_sample(model, vocab, length=5, seed=3, prompt="XYZ")[0] == vocab.chars[0]


def test_progress_sample_leaves_the_global_random_numbers_untouched():
    vocab = CharVocab.from_text("abcdefgh ")
    torch.manual_seed(0)
    model = RNNLanguageModel(ModelConfig(len(vocab), 4, 8, 1))
    torch.manual_seed(42)
    expected = torch.rand(3)
    torch.manual_seed(42)
    progress_sample(model, vocab, length=20, seed=1)
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)
