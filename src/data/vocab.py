"""The character vocabulary: Unicode characters <-> integer ids, with an explicit unknown symbol.

Built from the training split only. Id 0 is reserved for the unknown symbol, which stands for any
character the training text never contained (validation and test text usually have a few). The
known characters follow in code-point order, so the same text always gives the same ids.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

UNK_ID = 0
UNK_DISPLAY = "\ufffd"  # how the unknown id is printed: the Unicode replacement character


class CharVocab:
    """A fixed mapping between characters and ids; `chars` is what checkpoints store."""

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars: list[str] = list(chars)
        if any(len(c) != 1 for c in self.chars) or len(set(self.chars)) != len(self.chars):
            raise ValueError("a vocabulary is a list of distinct single characters")
        self._ids = {c: i + 1 for i, c in enumerate(self.chars)}  # 0 is UNK_ID

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """All distinct characters of `text`, in code-point order."""
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        """Number of ids, the unknown symbol included."""
        return len(self.chars) + 1

    def __contains__(self, char: str) -> bool:
        return char in self._ids

    def unknown_chars(self, text: str) -> list[str]:
        """The distinct characters of `text` outside the vocabulary, in order of first appearance."""
        return list(dict.fromkeys(c for c in text if c not in self._ids))

    def encode(self, text: str) -> Tensor:
        """Text -> int64 ids; unseen characters become `UNK_ID`."""
        lookup = self._ids.get
        return torch.tensor([lookup(c, UNK_ID) for c in text], dtype=torch.long)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text; the unknown id is shown as U+FFFD."""
        return "".join(self.chars[i - 1] if i != UNK_ID else UNK_DISPLAY for i in ids)
