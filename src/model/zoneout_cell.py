"""An opt-in ungated variant: zoneout on the hidden state (Krueger et al., 2016).

    c_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)      the vanilla cell's new state
    h_t = m_t * h_{t-1} + (1 - m_t) * c_t                      (B, H)

In training m_t is a fresh 0/1 mask per unit and step, 1 ("zone out": keep the previous value)
with probability p; at evaluation m_t = p everywhere, the mask's expectation, so the evaluated
model is the leaky tanh cell h_t = p * h_{t-1} + (1 - p) * c_t. Unlike dropout, a zoned-out unit
passes its *old* value on, so the identity path through time is what gets trained: a regulariser
that also keeps the gradient flowing. Nothing here is learned or depends on the input; the mask
is noise or a constant, so the cell stays ungated.

Backward through time, per step t from T-1 down to 0 (dh_next = 0 at T-1):

    dh_t    = dL/dh_t (from above) + dh_next
    da_t    = dh_t * (1 - m_t) * (1 - c_t**2)          a_t: c_t's pre-activation
    dh_next = da_t W_hh + dh_t * m_t                   through the recurrence, and through the copy
    dx_proj_t = da_t          dW_hh = sum_t da_t^T h_{t-1}  (after the loop)

Compared with the vanilla loop it keeps the candidates c_t and the masks for the backward pass.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from src.model.rnn_cell import RNNCell


class ZoneoutTanhRecurrence(torch.autograd.Function):
    """outputs = [h_0, ..., h_{T-1}] of the zoneout cell for given masks, with a hand-written backward.

    Shapes: x_proj (B, T, H), h0 (B, H), weight_hh (H, H), masks (B, T, H) of m_t (0/1 in
    training, p at evaluation; not differentiated) -> outputs (B, T, H).
    """

    @staticmethod
    def forward(ctx: Any, x_proj: Tensor, h0: Tensor, weight_hh: Tensor, masks: Tensor) -> Tensor:
        dtype = x_proj.dtype
        w_hh_t = weight_hh.to(dtype).t()
        masks = masks.to(dtype)
        outputs = torch.empty_like(x_proj)
        candidates = torch.empty_like(x_proj)
        h = h0.to(dtype)
        for t in range(x_proj.shape[1]):
            candidates[:, t] = c = torch.addmm(x_proj[:, t], h, w_hh_t).tanh_()
            outputs[:, t] = h = torch.lerp(c, h, masks[:, t])  # c + m * (h - c) = m * h + (1 - m) * c
        ctx.save_for_backward(outputs, candidates, masks, h0, weight_hh)
        return outputs

    @staticmethod
    def backward(ctx: Any, grad_outputs: Tensor) -> tuple[Tensor | None, ...]:
        outputs, candidates, masks, h0, weight_hh = ctx.saved_tensors
        dtype = outputs.dtype
        w_hh = weight_hh.to(dtype)
        grad_outputs = grad_outputs.to(dtype)
        candidate_grad = (1 - masks) * (1 - candidates * candidates)  # (1 - m_t)(1 - c_t^2) for every t
        da = torch.empty_like(outputs)
        dh_next = torch.zeros_like(outputs[:, 0])
        for t in range(outputs.shape[1] - 1, -1, -1):
            dh = grad_outputs[:, t] + dh_next
            da[:, t] = da_t = dh * candidate_grad[:, t]
            dh_next = torch.addmm(dh * masks[:, t], da_t, w_hh)  # da_t W_hh + dh_t * m_t
        hidden = outputs.shape[-1]
        h_prev = torch.cat([h0.to(dtype).unsqueeze(1), outputs[:, :-1]], dim=1)
        d_weight_hh = da.reshape(-1, hidden).t() @ h_prev.reshape(-1, hidden)
        return da, dh_next.to(h0.dtype), d_weight_hh.to(weight_hh.dtype), None


class ZoneoutRNNCell(RNNCell):
    """The vanilla cell's parameters; its state update keeps each unit's old value with probability p."""

    def __init__(self, input_size: int, hidden_size: int, recurrent_init: str = "uniform",
                 zoneout: float = 0.1) -> None:
        if not 0 < zoneout < 1:
            raise ValueError(f"zoneout must be in (0, 1), got {zoneout}")
        super().__init__(input_size, hidden_size, recurrent_init)
        self.zoneout = zoneout

    def masks(self, shape: torch.Size, like: Tensor) -> Tensor:
        """m for states of `shape`: Bernoulli(p) draws in training, the constant p at evaluation."""
        if self.training:
            return torch.rand(shape, device=like.device) < self.zoneout
        return torch.full(shape, self.zoneout, device=like.device)

    def step(self, x_proj_t: Tensor, h_prev: Tensor, weight_hh: Tensor | None = None,
             mask: Tensor | None = None) -> Tensor:
        """h_t = m * h_{t-1} + (1 - m) * tanh(x_proj_t + h_{t-1} W_hh^T); m drawn (or p) unless given."""
        candidate = super().step(x_proj_t, h_prev, weight_hh)
        mask = self.masks(candidate.shape, candidate) if mask is None else mask
        return torch.lerp(candidate, h_prev.to(candidate.dtype), mask.to(candidate.dtype))

    def recurrence(self, x_proj: Tensor, h0: Tensor, weight_hh: Tensor | None = None) -> Tensor:
        """All T steps with the hand-written backward, the masks of every step drawn up front."""
        weight_hh = self.weight_hh if weight_hh is None else weight_hh
        return ZoneoutTanhRecurrence.apply(x_proj, h0, weight_hh, self.masks(x_proj.shape, x_proj))
