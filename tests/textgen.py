"""A small deterministic English-like corpus for tests that train (ASCII only, no files needed)."""

from __future__ import annotations

import random
from pathlib import Path


def make_corpus(path: Path, characters: int = 24_000) -> Path:
    """Write sentences of a few common words in random order to `path` and return it."""
    rng = random.Random(0)
    words = "the cat sat on a mat and saw red fox run over lazy dogs while birds sang".split()
    pieces, size = [], 0
    while size < characters:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(4, 10))).capitalize() + ".\n"
        pieces.append(sentence)
        size += len(sentence)
    path.write_text("".join(pieces), encoding="utf-8")
    return path
