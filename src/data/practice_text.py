"""A deterministic English-like practice text: short sentences of common words, for checks that must not download."""

from __future__ import annotations

import random
from pathlib import Path

WORDS = tuple("the cat sat on a mat and saw red fox run over lazy dogs while birds sang in green trees".split())


def write_practice_text(path: Path, characters: int = 200_000, words: tuple[str, ...] = WORDS,
                        words_per_line: tuple[int, int] = (4, 12)) -> Path:
    """Write at least `characters` characters of one-sentence lines (seeded: always the same text); returns `path`."""
    rng = random.Random(0)
    lines, size = [], 0
    while size < characters:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(*words_per_line))).capitalize() + ".\n"
        lines.append(line)
        size += len(line)
    path.write_text("".join(lines), encoding="utf-8")
    return path
