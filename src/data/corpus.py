"""Getting the text: WikiText-2 or WikiText-103 raw (local files or a Hugging Face download), or any UTF-8 file.

`wikitext_folder` makes sure the three files are on disk; `load_corpus` reads them (or a text
file, split) as three strings. Nothing here knows about ids or tensors: training reads the files
through the id cache (src/data/corpus_ids.py), small tools read strings from here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from src.config import TrainConfig
from src.errors import UserError

WIKITEXT_FILES = {"train": "wiki.train.raw", "valid": "wiki.valid.raw", "test": "wiki.test.raw"}
HF_SPLITS = {"train": "train", "valid": "validation", "test": "test"}
# --dataset -> (Hugging Face configuration of Salesforce/wikitext, name in messages)
WIKITEXT_DATASETS = {"wikitext-2": ("wikitext-2-raw-v1", "WikiText-2"),
                     "wikitext-103": ("wikitext-103-raw-v1", "WikiText-103")}


@dataclass
class Corpus:
    """The three splits of a text corpus, and where they came from (for the run's log)."""

    train: str
    valid: str
    test: str
    source: str


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Turn the ways reading a text file fails (missing, a folder, not UTF-8) into one-line errors."""
    try:
        yield
    except FileNotFoundError:
        raise UserError(f"data file not found: {path}") from None
    except IsADirectoryError:
        raise UserError(f"expected a text file but got a directory: {path}") from None
    except UnicodeDecodeError as error:
        raise UserError(f"{path} is not UTF-8 text (invalid byte at offset {error.start})") from None


def read_text(path: Path) -> str:
    """Read a UTF-8 text file, with a one-line error for a missing or non-UTF-8 file."""
    with reading(path):
        return path.read_text(encoding="utf-8")


def split_text(text: str, valid_fraction: float, test_fraction: float) -> tuple[str, str, str]:
    """Contiguous split: the first part trains, then validation, then test at the end.

    Contiguous (not shuffled lines) so that validation measures continuing a text the model has
    not seen, the way it will be used.
    """
    n = len(text)
    n_valid, n_test = int(n * valid_fraction), int(n * test_fraction)
    n_train = n - n_valid - n_test
    return text[:n_train], text[n_train:n_train + n_valid], text[n_train + n_valid:]


def training_prefix(length: int, fraction: float) -> int:
    """How many of a training split's `length` characters `--train-fraction` keeps (its first ones)."""
    return int(length * fraction)


def load_text_file(path: str, valid_fraction: float, test_fraction: float) -> Corpus:
    """Any UTF-8 text file, split contiguously into train / valid / test."""
    text = read_text(Path(path))
    if not text:
        raise UserError(f"data file is empty: {path}")
    train, valid, test = split_text(text, valid_fraction, test_fraction)
    return Corpus(train, valid, test, source=f"{path} (contiguous split "
                  f"{1 - valid_fraction - test_fraction:.0%}/{valid_fraction:.0%}/{test_fraction:.0%})")


def rows_to_raw_text(rows: Iterable[str]) -> str:
    """Rebuild an official `wiki.*.raw` file from the Hugging Face dataset's `text` rows.

    Each non-empty row is one line of the raw file *including* its trailing newline, and each
    empty row stands for one blank line, which in the raw files is a single space: " \\n". So a
    plain "\\n".join(rows) would double every newline and lose the spaces.
    """
    return "".join(row if row else " \n" for row in rows)


def _hf_load_dataset(path: str, name: str) -> Any:
    """The real download (imported lazily: `datasets` is slow to import and only needed here).

    The Hub client logs a warning for every retry; without network that is a dozen lines before
    our own one-line error, so only its errors are shown (progress bars are unaffected).
    """
    import huggingface_hub
    from datasets import load_dataset

    huggingface_hub.utils.logging.set_verbosity_error()
    return load_dataset(path, name)


def partial_path(path: Path) -> Path:
    """Where this process writes `path` before renaming it into place.

    The process id is in the name because two runs started together (side by side, or separate
    jobs) may write the same file at once, a download or an id cache: each writes its own file
    and the atomic renames leave one complete copy, instead of one run renaming the other's.
    """
    return path.with_name(f"{path.name}.{os.getpid()}.partial")


def download_wikitext(data_dir: Path, dataset: str = "wikitext-2",
                      load_dataset: Callable[[str, str], Any] = _hf_load_dataset) -> None:
    """Download WikiText-2 or -103 raw v1 and write the three splits to `data_dir` as plain UTF-8 files.

    `load_dataset` is a parameter so tests can hand in an in-memory stand-in; by default it is
    Hugging Face `datasets.load_dataset`. Each file is written row by row to a temporary name and
    renamed, so an interrupted download never leaves a partial file that looks complete, and
    WikiText-103's 540M characters are never one string.
    """
    configuration, name = WIKITEXT_DATASETS[dataset]
    try:
        splits = load_dataset("Salesforce/wikitext", configuration)
    except Exception as error:  # noqa: BLE001 - any failure here means "no data"; say so in one line
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(
            f"{name} is not in {data_dir}/ and could not be downloaded ({reason[:160]}). "
            f"Put {', '.join(WIKITEXT_FILES.values())} there, point --data-dir at a folder "
            "holding them, or train on any UTF-8 text with --data-file PATH"
        ) from None
    data_dir.mkdir(parents=True, exist_ok=True)
    for split, filename in WIKITEXT_FILES.items():
        target = data_dir / filename
        partial = partial_path(target)
        with partial.open("w", encoding="utf-8") as handle:
            for row in splits[HF_SPLITS[split]]["text"]:
                handle.write(rows_to_raw_text([row]))
        partial.replace(target)


def wikitext_folder(data_dir: str, dataset: str = "wikitext-2",
                    load_dataset: Callable[[str, str], Any] = _hf_load_dataset) -> Path:
    """The folder holding the dataset's three raw files, downloading them there first if any is missing."""
    folder = Path(data_dir)
    if not all((folder / f).is_file() for f in WIKITEXT_FILES.values()):
        print(f"{WIKITEXT_DATASETS[dataset][1]} raw not found in {folder}/: downloading it with Hugging Face "
              "datasets...")
        download_wikitext(folder, dataset, load_dataset)
    return folder


def load_wikitext2(data_dir: str, load_dataset: Callable[[str, str], Any] = _hf_load_dataset,
                   dataset: str = "wikitext-2") -> Corpus:
    """WikiText-2 (or -103) raw from `data_dir` as strings, downloading it there first if any split is missing."""
    folder = wikitext_folder(data_dir, dataset, load_dataset)
    texts = {split: read_text(folder / filename) for split, filename in WIKITEXT_FILES.items()}
    return Corpus(texts["train"], texts["valid"], texts["test"],
                  source=f"{WIKITEXT_DATASETS[dataset][1]} raw ({folder}/)")


def load_corpus(config: TrainConfig) -> Corpus:
    """The text the config asks for: a single file (split) or the WikiText-2 folder.

    `--test-file` replaces the test split; a split data file then only gives train and validation.
    `--train-fraction` keeps only the start of the training split.
    """
    if config.data_file is not None:
        test_fraction = 0.0 if config.test_file is not None else config.test_fraction
        corpus = load_text_file(config.data_file, config.valid_fraction, test_fraction)
    else:
        corpus = load_wikitext2(config.wikitext_dir, dataset=config.dataset)
    if config.test_file is not None:
        corpus = replace(corpus, test=read_text(Path(config.test_file)),
                         source=f"{corpus.source}; test: {config.test_file}")
    return replace(corpus, train=corpus.train[:training_prefix(len(corpus.train), config.train_fraction)])
