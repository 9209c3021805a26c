"""Every cell's hand-written loop stays finite whatever its fresh buffers held.

On CPUs with AMX, torch 2.13's bfloat16 matmul reads up to 16 elements past the end of each row of
a row-strided left operand when the inner size is not a multiple of 32 (src/model/bptt.py). A loop
that fed a slice [:, t] of its (B, T, H) buffers to a matrix multiply would pick up the next time
step's memory; buffers that start as NaN make any such read visible. Elsewhere (no AMX, or float32)
these tests pass trivially.
"""

import pytest
import torch

from src.analysis.evaluation import next_char_loss
from src.model.rnn_model import CELLS, ModelConfig, RNNLanguageModel

VOCAB, EMBEDDING, STEPS = 30, 16, 12
HIDDEN = 80  # not a multiple of 32: the size at which the over-read was seen
BATCH = 32  # the over-read needs a batch of about 32 rows or more


@pytest.fixture
def nan_filled_buffers(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.empty_like returns floating-point tensors full of NaN instead of leftover memory."""
    empty_like = torch.empty_like

    def nan_like(tensor: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        buffer = empty_like(tensor, *args, **kwargs)
        return buffer.fill_(float("nan")) if buffer.is_floating_point() else buffer

    monkeypatch.setattr(torch, "empty_like", nan_like)


@pytest.mark.parametrize("cell", list(CELLS))
def test_bf16_bptt_reads_no_unwritten_buffer_memory(nan_filled_buffers, cell):
    torch.manual_seed(0)
    model = RNNLanguageModel(ModelConfig(VOCAB, EMBEDDING, HIDDEN, 2, cell=cell))
    tokens = torch.randint(VOCAB, (BATCH, STEPS + 1))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits, _ = model(tokens[:, :-1])
    next_char_loss(logits, tokens[:, 1:]).backward()
    assert torch.isfinite(logits).all()
    assert [name for name, p in model.named_parameters() if not torch.isfinite(p.grad).all()] == []
