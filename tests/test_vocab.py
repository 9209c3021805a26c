"""The character vocabulary: deterministic ids, an explicit unknown symbol, lossless round trips."""

import torch

from src.data.vocab import UNK_DISPLAY, UNK_ID, CharVocab


def test_round_trip_restores_the_text_exactly_including_non_ascii():
    text = "Ça va? naïve café — 東京\n"
    vocab = CharVocab.from_text(text)
    assert vocab.decode(vocab.encode(text).tolist()) == text


def test_ids_follow_code_point_order_after_the_unknown_id():
    vocab = CharVocab.from_text("cab")
    assert vocab.chars == ["a", "b", "c"]
    assert vocab.encode("abc").tolist() == [1, 2, 3]
    assert len(vocab) == 4  # three characters and the unknown symbol


def test_same_text_gives_the_same_vocabulary_whatever_the_order_of_characters():
    assert CharVocab.from_text("hello world").chars == CharVocab.from_text("world hello").chars


def test_characters_unseen_in_training_map_to_the_unknown_id():
    vocab = CharVocab.from_text("abc")
    ids = vocab.encode("axb€")
    assert ids.tolist() == [1, UNK_ID, 2, UNK_ID]
    assert ids.dtype == torch.long
    assert vocab.decode(ids.tolist()) == f"a{UNK_DISPLAY}b{UNK_DISPLAY}"


def test_unknown_chars_lists_each_unseen_character_once_in_order():
    vocab = CharVocab.from_text("abc")
    assert vocab.unknown_chars("zaxyzx") == ["z", "x", "y"]
    assert vocab.unknown_chars("cab") == []
