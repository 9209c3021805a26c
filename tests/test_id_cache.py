"""The id cache: streaming encoding, the vocabulary of the training part, and never using a stale or corrupt cache."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

import src.data.id_cache
from src.config import TrainConfig
from src.data.corpus import load_text_file, wikitext_folder
from src.data.corpus_ids import load_corpus_ids
from src.data.id_cache import cache_paths, cached_ids, characters_in, count_characters, id_dtype
from src.data.vocab import CharVocab

TEXT = "Hello, world!\r\nÉtoile 42 — ünïcode ✓\n" * 50


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 7 characters, so every test crosses many chunk boundaries."""
    monkeypatch.setattr(src.data.id_cache, "CHUNK_CHARS", 7)


def test_the_ids_equal_the_vocabularys_encoding_of_the_whole_text(tmp_path, small_chunks):
    path = tmp_path / "t.txt"
    path.write_bytes(TEXT.encode("utf-8"))
    text = path.read_text(encoding="utf-8")  # \r\n read as \n, as everywhere else
    chars = sorted(set(text[:100]))
    ids = cached_ids(path, chars)
    assert ids.dtype == np.uint8 and count_characters(path) == len(text) == len(ids)
    assert torch.equal(torch.from_numpy(np.asarray(ids)).long(), CharVocab(chars).encode(text))


def test_the_vocabulary_comes_from_the_first_characters_only(tmp_path, small_chunks):
    path = tmp_path / "t.txt"
    path.write_text("abcabc" + "xyz", encoding="utf-8")
    assert characters_in(path, limit=6) == ["a", "b", "c"]
    assert characters_in(path) == ["a", "b", "c", "x", "y", "z"]


def test_two_bytes_per_id_for_large_vocabularies():
    assert id_dtype(256) == np.uint8 and id_dtype(257) == np.uint16


def test_a_second_load_uses_the_cache_without_encoding_again(tmp_path, monkeypatch):
    path = tmp_path / "t.txt"
    path.write_text(TEXT, encoding="utf-8")
    cached_ids(path, ["a"])
    monkeypatch.setattr(src.data.id_cache, "encode_file", lambda *args: pytest.fail("encoded again"))
    assert len(cached_ids(path, ["a"])) == len(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("change", ["text edited", "ids truncated", "ids overwritten", "metadata garbled",
                                    "another vocabulary"])
def test_a_stale_or_corrupt_cache_is_rebuilt_not_used(tmp_path, change):
    path = tmp_path / "t.txt"
    path.write_text("abcd" * 100, encoding="utf-8")
    chars = ["a", "b", "c", "d"]
    cached_ids(path, chars)
    ids_path, meta_path = cache_paths(path)
    if change == "text edited":
        path.write_text("dcba" * 100, encoding="utf-8")
        os.utime(path, ns=(os.stat(meta_path).st_mtime_ns,) * 2)  # even with the old modification time
    elif change == "ids truncated":
        ids_path.write_bytes(ids_path.read_bytes()[:-10])
    elif change == "ids overwritten":
        data = bytearray(ids_path.read_bytes())
        data[5] = 0
        ids_path.write_bytes(bytes(data))
    elif change == "metadata garbled":
        meta_path.write_text("{not json", encoding="utf-8")
    else:
        chars = ["a", "b", "c"]
    expected = CharVocab(chars).encode(path.read_text(encoding="utf-8"))
    assert torch.equal(torch.from_numpy(np.asarray(cached_ids(path, chars))).long(), expected)
    assert json.loads(meta_path.read_text())["chars"] == chars


def test_a_read_only_folder_puts_the_cache_in_the_users_cache(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "t.txt").write_text("abc", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(src.data.id_cache.os, "access", lambda path, mode: False)
    ids_path, _ = cache_paths(folder / "t.txt")
    assert ids_path.parent == tmp_path / "cache" / "rnn-from-scratch"


def test_a_folder_nobody_may_write_to_is_left_alone_even_by_root(tmp_path, monkeypatch):
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "t.txt").write_text("abc", encoding="utf-8")
    folder.chmod(0o555)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(src.data.id_cache.os, "access", lambda path, mode: True)  # what root is told
    ids_path, _ = cache_paths(folder / "t.txt")
    folder.chmod(0o755)
    assert ids_path.parent == tmp_path / "cache" / "rnn-from-scratch"


def test_two_runs_building_the_same_cache_at_once_both_get_the_right_ids(tmp_path, small_chunks, monkeypatch):
    path = tmp_path / "t.txt"
    path.write_bytes(TEXT.encode("utf-8"))
    text = path.read_text(encoding="utf-8")
    chars = sorted(set(text))
    real_chunks, real_getpid = src.data.id_cache.text_chunks, os.getpid
    rival = []

    def chunks_with_a_rival_build_midway(source):
        """The first chunk, then another process builds and installs the whole cache, then the rest."""
        chunks = real_chunks(source)
        yield next(chunks)
        monkeypatch.setattr(src.data.id_cache, "text_chunks", real_chunks)
        monkeypatch.setattr(src.data.id_cache.os, "getpid", lambda: real_getpid() + 1)
        rival.append(np.array(cached_ids(path, chars)))
        monkeypatch.setattr(src.data.id_cache.os, "getpid", real_getpid)
        yield from chunks

    monkeypatch.setattr(src.data.id_cache, "text_chunks", chunks_with_a_rival_build_midway)
    ids = cached_ids(path, chars)
    expected = CharVocab(chars).encode(text).numpy()
    assert np.array_equal(rival[0], expected) and np.array_equal(np.asarray(ids), expected)
    assert not list(tmp_path.glob("*.partial"))


def test_a_split_data_file_gives_the_splits_and_vocabulary_of_the_string_loader(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("".join(chr(ord("a") + (i * 7) % 26) for i in range(997)) + "ZZ", encoding="utf-8")
    ids = load_corpus_ids(TrainConfig(data_file=str(path), valid_fraction=0.1, test_fraction=0.2))
    text = load_text_file(str(path), valid_fraction=0.1, test_fraction=0.2)
    vocab = CharVocab.from_text(text.train)
    assert ids.chars == vocab.chars  # "Z" occurs only in the test part: unknown
    for split in ("train", "valid", "test"):
        assert torch.equal(getattr(ids, split).long(), vocab.encode(getattr(text, split)))


def test_wikitext_103_downloads_through_the_same_code(tmp_path):
    asked = []

    def stand_in(path, name):
        asked.append((path, name))
        return {"train": {"text": ["", " = A = \n", "x y\n"]}, "validation": {"text": ["v\n"]},
                "test": {"text": ["t\n"]}}

    folder = wikitext_folder(str(tmp_path / "wt103"), "wikitext-103", load_dataset=stand_in)
    assert asked == [("Salesforce/wikitext", "wikitext-103-raw-v1")]
    assert (folder / "wiki.train.raw").read_text(encoding="utf-8") == " \n = A = \nx y\n"
    ids = load_corpus_ids(TrainConfig(dataset="wikitext-103", data_dir=str(folder)))
    assert ids.source.startswith("WikiText-103 raw") and ids.valid.numel() == 2
