"""From a long tensor of character ids to training batches (sliding windows).

The ids may be compact (uint8 or uint16, viewing a memory map: src/data/id_cache.py); each batch is
converted to int64 as it is made, so only batches ever exist as int64.

A window is `seq_len + 1` consecutive ids: the model reads the first `seq_len` and is trained to
predict the last `seq_len` (each input's next character, "teacher forcing"). Windows start every
`stride` characters, so `stride < seq_len` gives overlapping windows. With `shift`, every epoch
moves the whole grid of starts by one random offset in [0, stride): without it, a character is
always read at the same window positions, after the same short or long context, epoch after
epoch; with it, each epoch cuts the text at other places (a data augmentation for small texts).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from src.data.id_cache import release_pages
from src.errors import UserError


class WindowDataset:
    """All sliding windows over `ids`, served as shuffled (inputs, targets) batches.

    The windows are a strided view of `ids` (no copy); a batch gathers B of them.
    """

    def __init__(self, ids: Tensor, seq_len: int, stride: int, shift: bool = False) -> None:
        if ids.numel() < seq_len + 1:
            raise UserError(
                f"the training text has {ids.numel()} characters, fewer than one window of "
                f"--seq-len {seq_len} plus the next character; use more text (or a larger --train-fraction) or "
                "a smaller --seq-len"
            )
        self.seq_len = seq_len
        self.stride = stride
        self.shift = shift
        self.ids = ids
        self.windows = ids.unfold(0, seq_len + 1, stride)  # (num_windows, seq_len + 1) view
        self.offsets = torch.arange(seq_len + 1)

    def __len__(self) -> int:
        """Number of windows."""
        return self.windows.shape[0]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        """Window `index` as (inputs, targets), each (seq_len,); targets are inputs shifted by one."""
        window = self.windows[index]
        return window[:-1], window[1:]

    def usable(self, world_size: int) -> int:
        """Windows used per epoch: all of them, less the fewer than `world_size` that cannot be shared evenly."""
        return len(self) - len(self) % world_size

    def num_batches(self, batch_size: int, world_size: int = 1) -> int:
        """Global batches of `world_size` x `batch_size` windows per epoch (the last one may be smaller)."""
        return -(-self.usable(world_size) // (batch_size * world_size))

    def batches(self, batch_size: int, epoch_seed: int, start_batch: int = 0, rank: int = 0,
                world_size: int = 1) -> Iterator[tuple[Tensor, Tensor]]:
        """One epoch of (inputs (B, T), targets (B, T)) batches in a shuffled order: this rank's share.

        The batches are the windows starting at `batch_starts` (same arguments, see there).
        """
        for starts in self.batch_starts(batch_size, epoch_seed, start_batch, rank, world_size):
            yield self.windows_at(starts)

    def windows_at(self, starts: Tensor) -> tuple[Tensor, Tensor]:
        """The windows starting at `starts` (B,) as (inputs (B, T), targets (B, T)) int64."""
        window = self.ids[starts.unsqueeze(1) + self.offsets].long()
        release_pages()  # a memory-mapped text's resident pages stay those of one batch (src/data/id_cache.py)
        return window[:, :-1], window[:, 1:]

    def batch_starts(self, batch_size: int, epoch_seed: int, start_batch: int = 0, rank: int = 0,
                     world_size: int = 1) -> Iterator[Tensor]:
        """Where each window of each batch starts in `ids`: one (B,) tensor per batch, in the epoch's order.

        The order depends only on `epoch_seed`, so a resumed run can regenerate it and skip the
        `start_batch` global batches it already trained on. With `shift`, the epoch's offset o comes
        from the same seed and window w starts at w * stride + o, moved back to the last start that
        fits where it would run past the text, so every epoch has the same number of windows.

        With several ranks, global batch k is the windows order[k G : (k + 1) G], G = world_size x
        batch_size, and rank r takes the r-th of its `world_size` equal parts: the ranks together
        see exactly the batches of one process with batch size G (the last, smaller batch is split
        evenly too, which is why fewer than `world_size` windows may be left out of an epoch).
        """
        generator = torch.Generator().manual_seed(epoch_seed)
        order = torch.randperm(len(self), generator=generator)
        # Drawn after the order, so runs without `shift` keep exactly the batches they always had.
        offset = int(torch.randint(self.stride, (1,), generator=generator)) if self.shift else 0
        last_start = self.ids.numel() - self.seq_len - 1
        usable, global_batch = self.usable(world_size), batch_size * world_size
        for first in range(start_batch * global_batch, usable, global_batch):
            chosen = order[first:min(first + global_batch, usable)]
            share = len(chosen) // world_size
            # Computed from the flat ids (first character of window w: w * stride + offset), not by indexing the
            # overlapping `windows` view, which PyTorch would first copy whole: the entire text.
            yield (chosen[rank * share:(rank + 1) * share] * self.stride + offset).clamp(max=last_start)


class StreamDataset:
    """The text as B contiguous streams read in order: stateful truncated BPTT.

    Row b of every batch continues row b of the previous batch, so the hidden state at the end
    of one batch is the right starting state for the next: the model can carry context across
    windows instead of starting every window from zeros. (The trainer detaches it, so gradients
    still flow back at most `seq_len` steps.) The order is fixed; `epoch_seed` is accepted only
    to match `WindowDataset`.
    """

    def __init__(self, ids: Tensor, seq_len: int, streams: int) -> None:
        stream_len = (ids.numel() - 1) // streams
        if stream_len < 1:
            raise UserError(f"the training text has {ids.numel()} characters, too few for {streams} streams; "
                            "use more text (or a larger --train-fraction) or a smaller --batch-size")
        self.seq_len = seq_len
        self.inputs = ids[: streams * stream_len].view(streams, stream_len)
        self.targets = ids[1: streams * stream_len + 1].view(streams, stream_len)

    def num_batches(self, batch_size: int, world_size: int = 1) -> int:
        """Windows per stream (the last may be shorter); the batch is fixed by the layout."""
        return -(-self.inputs.shape[1] // self.seq_len)

    def batches(self, batch_size: int, epoch_seed: int, start_batch: int = 0, rank: int = 0,
                world_size: int = 1) -> Iterator[tuple[Tensor, Tensor]]:
        """(inputs (B, T), targets (B, T)) windows in reading order, from window `start_batch` on.

        With several ranks the streams are divided among them: rank r reads streams
        [r B, (r + 1) B) of the world_size x B, B = `batch_size`, and carries its own states.
        """
        rows = slice(rank * batch_size, (rank + 1) * batch_size) if world_size > 1 else slice(None)
        for start in range(start_batch * self.seq_len, self.inputs.shape[1], self.seq_len):
            yield (self.inputs[rows, start:start + self.seq_len].long(),
                   self.targets[rows, start:start + self.seq_len].long())
