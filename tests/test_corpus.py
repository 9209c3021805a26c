"""Getting text: WikiText-2 files (downloaded through a stand-in, never the network) or any file."""

import datasets
import pytest

from src.data.corpus import load_text_file, load_wikitext2, rows_to_raw_text, split_text
from src.errors import UserError

# A miniature in the official wiki.*.raw format: every line ends in "\n", the first line and every
# blank line are a single space, titles are " = Title = ".
RAW = {
    "train": " \n = Valkyria = \n \n Senjō no Valkyria 3 is a game . \n \n = = Gameplay = = \n \n It plays . \n",
    "valid": " \n = Homarus gammarus = \n \n Homarus gammarus is a lobster . \n",
    "test": " \n = Robert Boulter = \n \n Robert Boulter is an actor . \n \n",
}


def as_hf_rows(raw: str) -> list[str]:
    """The rows Hugging Face's wikitext-2-raw-v1 has for a raw file: blank lines become ""."""
    return ["" if line == " \n" else line for line in raw.splitlines(keepends=True)]


def fake_load_dataset(path: str, name: str) -> datasets.DatasetDict:
    assert (path, name) == ("Salesforce/wikitext", "wikitext-2-raw-v1")
    return datasets.DatasetDict({
        hf_split: datasets.Dataset.from_dict({"text": as_hf_rows(RAW[split])})
        for split, hf_split in (("train", "train"), ("valid", "validation"), ("test", "test"))
    })


def test_rows_rebuild_the_official_raw_text_not_a_newline_join():
    rows = as_hf_rows(RAW["train"])
    assert rows[0] == "" and rows[1] == " = Valkyria = \n"
    assert rows_to_raw_text(rows) == RAW["train"]
    assert "\n".join(rows) != RAW["train"]


def test_download_writes_the_three_files_byte_identical_to_the_official_format(tmp_path):
    corpus = load_wikitext2(str(tmp_path / "wt2"), load_dataset=fake_load_dataset)
    for split, filename in (("train", "wiki.train.raw"), ("valid", "wiki.valid.raw"), ("test", "wiki.test.raw")):
        assert (tmp_path / "wt2" / filename).read_bytes() == RAW[split].encode("utf-8")
    assert (corpus.train, corpus.valid, corpus.test) == (RAW["train"], RAW["valid"], RAW["test"])
    assert not list((tmp_path / "wt2").glob("*.partial"))


def test_existing_local_files_are_used_without_downloading(tmp_path):
    for split, filename in (("train", "wiki.train.raw"), ("valid", "wiki.valid.raw"), ("test", "wiki.test.raw")):
        (tmp_path / filename).write_text(RAW[split], encoding="utf-8")

    def must_not_download(path, name):
        raise AssertionError("downloaded although the files were there")

    assert load_wikitext2(str(tmp_path), load_dataset=must_not_download).valid == RAW["valid"]


def test_failed_download_is_a_one_line_error_saying_where_to_put_the_files(tmp_path):
    def offline(path, name):
        raise ConnectionError("Couldn't reach 'Salesforce/wikitext' on the Hub\nmore detail")

    with pytest.raises(UserError) as error:
        load_wikitext2(str(tmp_path / "wt2"), load_dataset=offline)
    message = str(error.value)
    assert "\n" not in message
    assert "wiki.train.raw" in message and "--data-file" in message and str(tmp_path / "wt2") in message


def test_text_file_is_split_contiguously_by_the_given_fractions(tmp_path):
    path = tmp_path / "text.txt"
    path.write_text("".join(chr(ord("a") + i % 26) for i in range(1000)), encoding="utf-8")
    corpus = load_text_file(str(path), valid_fraction=0.1, test_fraction=0.2)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (700, 100, 200)
    assert corpus.train + corpus.valid + corpus.test == path.read_text(encoding="utf-8")


def test_split_keeps_every_character():
    assert "".join(split_text("abcdefghij", 0.05, 0.05)) == "abcdefghij"


def test_non_utf8_file_is_a_clear_error(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        load_text_file(str(path), 0.05, 0.05)


def test_missing_text_file_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_text_file(str(tmp_path / "nope.txt"), 0.05, 0.05)
