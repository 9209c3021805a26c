"""An opt-in ungated variant: the tanh cell with its pre-activation layer-normalised (Ba et al., 2016).

    a_t = x_t W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T                  (B, H)
    n_t = (a_t - mean(a_t)) / sqrt(var(a_t) + eps)                    mean, var over the H units
    h_t = tanh(g * n_t + s)                                           g (H,) gain = 1, s (H,) shift = 0 at init

Normalising a_t keeps every step's pre-activation at unit scale whatever W_hh has grown to, which
is what drives the vanilla cell into saturation (|h| -> 1, tanh' -> 0). It is still ungated: one
tanh of one affine function of x_t and h_{t-1}, rescaled.

Backward through time, per step t from T-1 down to 0 (dh_next = 0 at T-1):

    dh_t  = dL/dh_t (from above) + dh_next
    dy_t  = dh_t * (1 - h_t**2)                                       y_t = g * n_t + s
    dn_t  = dy_t * g
    da_t  = (dn_t - mean(dn_t) - n_t * mean(dn_t * n_t)) / sqrt(var(a_t) + eps)
    dh_next = da_t W_hh
    dg = sum_t,b dy_t * n_t      ds = sum_t,b dy_t      dW_hh = sum_t da_t^T h_{t-1}   (after the loop)

The normalisation and its gradient run in float32 even under bf16 autocast (a mean and variance
over 1,024 bf16 numbers would lose most of their digits); every matrix multiply, forward and
backward (h_{t-1} W_hh^T, da_t W_hh and dW_hh), uses the input's dtype, as in the vanilla loop:
in float32 they would cost several times the bf16 ones and dominate the step.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from src.model.rnn_cell import RNNCell

EPS = 1e-5


def stats_dtype(dtype: torch.dtype) -> torch.dtype:
    """Where the normalisation is computed: float32 for bf16 (and float32), float64 stays float64."""
    return torch.promote_types(dtype, torch.float32)


def layer_norm(a: Tensor, gain: Tensor, shift: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(g * n + s, n, 1/sqrt(var + eps)) for n the normalised `a` over its last axis (at least float32)."""
    a = a.to(stats_dtype(a.dtype))
    var, mean = torch.var_mean(a, dim=-1, correction=0, keepdim=True)  # one pass for both
    rstd = torch.rsqrt(var + EPS)
    n = (a - mean) * rstd
    return torch.addcmul(shift.to(a.dtype), n, gain.to(a.dtype)), n, rstd


class LayerNormTanhRecurrence(torch.autograd.Function):
    """outputs = [h_0, ..., h_{T-1}] of the layer-normalised tanh cell, with a hand-written backward.

    Shapes: x_proj (B, T, H), h0 (B, H), weight_hh (H, H), gain and shift (H,) -> outputs (B, T, H).
    """

    @staticmethod
    def forward(ctx: Any, x_proj: Tensor, h0: Tensor, weight_hh: Tensor, gain: Tensor, shift: Tensor) -> Tensor:
        dtype = x_proj.dtype
        w_hh_t = weight_hh.to(dtype).t()
        steps = x_proj.shape[1]
        outputs = torch.empty_like(x_proj)
        normalised = torch.empty(x_proj.shape, dtype=stats_dtype(dtype), device=x_proj.device)
        rstds = normalised.new_empty(*x_proj.shape[:2], 1)
        h = h0.to(dtype)
        for t in range(steps):
            y, normalised[:, t], rstds[:, t] = layer_norm(torch.addmm(x_proj[:, t], h, w_hh_t), gain, shift)
            h = outputs[:, t] = torch.tanh(y).to(dtype)
        ctx.save_for_backward(outputs, normalised, rstds, h0, weight_hh, gain)
        return outputs

    @staticmethod
    def backward(ctx: Any, grad_outputs: Tensor) -> tuple[Tensor, ...]:
        outputs, normalised, rstds, h0, weight_hh, gain = ctx.saved_tensors
        dtype, stats = outputs.dtype, normalised.dtype
        w_hh = weight_hh.to(dtype)
        g = gain.to(stats)
        tanh_grad = 1 - outputs.to(stats) ** 2  # (1 - h_t^2) for every t at once
        grad_outputs = grad_outputs.to(stats)
        dy = torch.empty_like(normalised)  # dy[:, t] = dL/dy_t, kept for dg and ds
        da = torch.empty_like(outputs)  # da[:, t] = dL/da_t, stored in the loop's dtype for the matmuls
        dh_next = torch.zeros_like(grad_outputs[:, 0])
        for t in range(outputs.shape[1] - 1, -1, -1):
            dh = grad_outputs[:, t] + dh_next
            dy[:, t] = dh * tanh_grad[:, t]
            dn = dy[:, t] * g
            n = normalised[:, t]
            da_t = ((dn - dn.mean(-1, keepdim=True) - n * (dn * n).mean(-1, keepdim=True)) * rstds[:, t]).to(dtype)
            da[:, t] = da_t
            dh_next = da_t @ w_hh  # added to float32 grad_outputs next step
        hidden = outputs.shape[-1]
        h_prev = torch.cat([h0.to(dtype).unsqueeze(1), outputs[:, :-1]], dim=1)  # (B, T, H): h_{t-1}
        d_weight_hh = da.reshape(-1, hidden).t() @ h_prev.reshape(-1, hidden)
        d_gain = (dy * normalised).sum(dim=(0, 1))
        d_shift = dy.sum(dim=(0, 1))
        return (da, dh_next.to(h0.dtype), d_weight_hh.to(weight_hh.dtype), d_gain.to(gain.dtype),
                d_shift.to(gain.dtype))


class LayerNormRNNCell(RNNCell):
    """The tanh cell plus a per-unit gain and shift applied to the normalised pre-activation."""

    def __init__(self, input_size: int, hidden_size: int, recurrent_init: str = "uniform") -> None:
        super().__init__(input_size, hidden_size, recurrent_init)
        self.norm_gain = nn.Parameter(torch.ones(hidden_size))
        self.norm_shift = nn.Parameter(torch.zeros(hidden_size))

    def reset_parameters(self) -> None:
        """The vanilla draws for the weights and biases, then g = 1 and s = 0 (if they exist yet)."""
        super().reset_parameters()
        if hasattr(self, "norm_gain"):
            nn.init.ones_(self.norm_gain)
            nn.init.zeros_(self.norm_shift)

    def step(self, x_proj_t: Tensor, h_prev: Tensor, weight_hh: Tensor | None = None) -> Tensor:
        """h_t = tanh(g * LN(x_proj_t + h_{t-1} W_hh^T) + s); `weight_hh` replaces W_hh when given."""
        weight_hh = self.weight_hh if weight_hh is None else weight_hh
        y, _, _ = layer_norm(torch.addmm(x_proj_t, h_prev, weight_hh.t()), self.norm_gain, self.norm_shift)
        return torch.tanh(y).to(x_proj_t.dtype)

    def recurrence(self, x_proj: Tensor, h0: Tensor, weight_hh: Tensor | None = None) -> Tensor:
        """All T steps with the hand-written backward: (B, T, H) projected inputs -> (B, T, H) states."""
        weight_hh = self.weight_hh if weight_hh is None else weight_hh
        return LayerNormTanhRecurrence.apply(x_proj, h0, weight_hh, self.norm_gain, self.norm_shift)
