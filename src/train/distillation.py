"""Distillation: train against trained teachers' next-character distribution as well as the text.

Teachers (one or more checkpoints trained on the same training text) are averaged into one
distribution (src/analysis/ensemble.py), read once over the whole training split with the state carried,
as in evaluation, and kept as a table aligned with the text:

    P[i] = softmax(log p_teachers(. | c_<=i) / tau)     (N - 1, V), float16: for a 1M-character text
                                                         and V = 66, 130 MB; computed once per invocation

The text is read as one stream per window of the global batch (--batch-size x ranks). Under
torchrun each rank reads its share of the streams and the ranks add their rows up, so every rank
holds the whole table after reading 1/N of the text, and N ranks of batch B distil from the table
one process of batch N x B would.

A training window starting at s predicts c_{s+1..s+T}; its teacher rows are P[s .. s+T-1], so
every position gets the teachers' full-context distribution whatever the window's cut. The
student's objective mixes the two targets with weight w (`--distill-weight`):

    objective = (1 - w) * CE(c_{t+1}, q_t) + w * tau^2 * sum_c -P_t[c] log q^tau_t[c]
    q_t = softmax(logits_t),   q^tau_t = softmax(logits_t / tau)

The second term is the cross-entropy to the teachers (their KL divergence plus a constant). At the
default temperature tau = 1 (`--distill-temperature`) both distributions are the models' own; a
higher tau flattens both, so the student also learns how the teachers rank the unlikely characters
(Hinton et al. 2015). The soft term's gradient shrinks as 1 / tau^2, hence the factor tau^2: it
keeps the two terms' shares of the gradient about as they are at tau = 1. The
training loss that is logged stays the first term alone, comparable with every other run; the
student, at evaluation, is a plain model of its own cell.

The teachers are named by path, so a checkpoint also keeps their SHA-256 digests: a resumed run
reads the same files again and refuses to go on if any of them changed in between.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor, nn

from src.analysis.ensemble import Ensemble, members_from
from src.analysis.evaluation import read_in_streams
from src.data.dataset import WindowDataset
from src.data.vocab import CharVocab
from src.errors import UserError
from src.train.checkpoint import load_checkpoint_with_digest
from src.train.distributed import World, sum_tensor_over_ranks

TABLE_LIMIT_BYTES = 4 << 30  # the table lives in memory: beyond this, distil from a shorter text


def teacher_table(teacher: nn.Module, ids: Tensor, streams: int, seq_len: int, vocab_size: int,
                  device: torch.device, precision: str, world: World = World(), temperature: float = 1.0) -> Tensor:
    """P (N - 1, V) float16 on the CPU: row i is the teacher's distribution of ids[i + 1] given ids[:i + 1].

    At `temperature` tau, row i is softmax(log p / tau) of that distribution p, computed in float32
    before the cast (so probabilities too small for float16 still count once flattened).

    The text is read as in evaluation (`read_in_streams`): `streams` contiguous streams with the
    state carried, the characters that do not fill equal streams continuing the last one. With
    several ranks, each fills the rows of its own streams and leaves the rest zero, so the sum over
    ranks is the whole table (exactly: each row is one rank's plus zeros).
    """
    table = torch.zeros(ids.numel() - 1, vocab_size, dtype=torch.float16)

    def store(first: Tensor, log_p: Tensor, targets: Tensor) -> None:
        rows = first.unsqueeze(1) + torch.arange(log_p.shape[1])  # (B, t): the positions this window predicts from
        table[rows] = (log_p.float() / temperature).softmax(dim=-1).to("cpu", torch.float16)

    was_training = teacher.training
    teacher.eval()
    read_in_streams(teacher, ids, streams, seq_len, device, precision, store, world)
    teacher.train(was_training)
    return sum_tensor_over_ranks(world, table, device)


class DistillationWindows:
    """A WindowDataset's batches, each with its windows' teacher rows: (inputs, targets, P (B, T, V)).

    `teachers_sha256`: the digests of the teacher files the table was read with (kept in checkpoints).
    """

    def __init__(self, windows: WindowDataset, table: Tensor, teachers_sha256: list[str] | None = None) -> None:
        if table.shape[0] != windows.ids.numel() - 1:
            raise ValueError("the teacher table must have one row per predicted training character")
        self.windows = windows
        self.table = table
        self.teachers_sha256 = teachers_sha256 or []
        self.rows = torch.arange(windows.seq_len)

    def num_batches(self, batch_size: int, world_size: int = 1) -> int:
        """As the wrapped dataset's."""
        return self.windows.num_batches(batch_size, world_size)

    def batches(self, batch_size: int, epoch_seed: int, start_batch: int = 0, rank: int = 0,
                world_size: int = 1) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        """The wrapped dataset's batches in the same order, plus their teacher rows in float32."""
        for first in self.windows.batch_starts(batch_size, epoch_seed, start_batch, rank, world_size):
            inputs, targets = self.windows.windows_at(first)
            yield inputs, targets, self.table[first.unsqueeze(1) + self.rows].float()


def distillation_data(windows: WindowDataset, teachers: list[str], vocab_chars: list[str], batch_size: int,
                      device: torch.device, precision: str, expected_sha256: list[str] | None = None,
                      world: World = World(), temperature: float = 1.0) -> DistillationWindows:
    """`windows` with the table of the averaged `teachers` (checkpoint paths) over its text, at `temperature`.

    `batch_size`: one rank's, as --batch-size. `expected_sha256`: a resumed run's teacher digests
    (None for a fresh run, or a checkpoint from before they were kept). UserError if a teacher
    file differs from them, has another vocabulary, or the table would not fit in TABLE_LIMIT_BYTES.
    """
    vocab_size = len(CharVocab(vocab_chars))  # the unknown symbol too
    size = (windows.ids.numel() - 1) * vocab_size * 2
    if size > TABLE_LIMIT_BYTES:
        raise UserError(f"the teacher table for {windows.ids.numel():,} training characters would take "
                        f"{size / 2**30:.1f} GiB (limit {TABLE_LIMIT_BYTES / 2**30:.0f}): distil on a shorter text "
                        "(e.g. --train-fraction)")
    loaded = [load_checkpoint_with_digest(path) for path in teachers]
    digests = [digest for _, digest in loaded]
    if expected_sha256 is not None:
        for path, before, now in zip(teachers, expected_sha256, digests):
            if before != now:
                raise UserError(f"teacher {path} has changed since the run started (its SHA-256 differs): resuming "
                                "would distil from another model; restore that file or start a new run")
    # Building the teachers draws initial weights: on a forked generator, so that the student starts from
    # exactly the weights and batches it would have without them.
    with torch.random.fork_rng(devices=[]):
        members, _, _ = members_from(teachers, [state for state, _ in loaded], vocab_chars)
    teacher = Ensemble(members).to(device)
    table = teacher_table(teacher, windows.ids, batch_size * world.size, windows.seq_len, vocab_size, device,
                          precision, world, temperature)
    return DistillationWindows(windows, table, digests)


def distillation_objective(logits: Tensor, target_loss: Tensor, teacher_p: Tensor, weight: float,
                           temperature: float = 1.0) -> Tensor:
    """(1 - w) * target_loss + w * tau^2 * mean_t sum_c -P_t[c] log q^tau_t[c]  for logits (B, T, V), P (B, T, V).

    `teacher_p`: rows of the table, already at temperature tau; q^tau = softmax(logits / tau).
    """
    log_q = torch.log_softmax(logits.float() / temperature, dim=-1)
    teacher_loss = -(teacher_p * log_q).sum(dim=-1).mean()
    return (1 - weight) * target_loss + weight * temperature**2 * teacher_loss
