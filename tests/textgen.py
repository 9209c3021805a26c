"""A small deterministic English-like corpus for tests that train (ASCII only, no files needed)."""

from __future__ import annotations

from pathlib import Path

from src.data.practice_text import write_practice_text

WORDS = tuple("the cat sat on a mat and saw red fox run over lazy dogs while birds sang".split())


def make_corpus(path: Path, characters: int = 24_000) -> Path:
    """Write sentences of a few common words in random order to `path` and return it."""
    return write_practice_text(path, characters, WORDS, words_per_line=(4, 10))
