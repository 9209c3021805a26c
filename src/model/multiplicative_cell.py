"""An opt-in ungated variant: multiplicative integration (Wu et al., 2016).

    w_t = x_t W_ih^T                          (B, H)   the input's projection, without biases
    u_t = h_{t-1} W_hh^T                      (B, H)   the recurrent projection
    h_t = tanh(alpha * w_t * u_t + beta_h * u_t + beta_x * w_t + b_ih + b_hh)

alpha, beta_h and beta_x are per-unit (H,) gains, 1 at initialisation. The vanilla cell adds the
two projections; here the input also *scales* the recurrent term, so each character chooses how
strongly the previous state enters each unit: the product w_t * u_t gives the recurrence an
input-dependent effective weight, diag(alpha * w_t + beta_h) W_hh, without a gate. Still one tanh
of one function of x_t and h_{t-1}.

Written as a_t = u_t * p_t + q_t with p_t = alpha * w_t + beta_h and q_t = beta_x * w_t + b, both
computable for all t before the loop, the step is one matrix multiply and one fused multiply-add.

Backward through time, per step t from T-1 down to 0 (dh_next = 0 at T-1):

    dh_t    = dL/dh_t (from above) + dh_next
    da_t    = dh_t * (1 - h_t**2)
    du_t    = da_t * p_t
    dh_next = du_t W_hh
    then for all t at once:  dw_t = da_t * (alpha * u_t + beta_x)   dW_hh = sum_t du_t^T h_{t-1}
                             dalpha = sum da*w*u   dbeta_h = sum da*u   dbeta_x = sum da*w   db = sum da

u_t is recomputed after the loop as one (B*T, H) x (H, H) multiply rather than kept from the forward
pass, so the activation memory stays that of the vanilla loop (the outputs) plus nothing.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from src.model.rnn_cell import RNNCell


class MultiplicativeTanhRecurrence(torch.autograd.Function):
    """outputs = [h_0, ..., h_{T-1}] of the multiplicative-integration cell, with a hand-written backward.

    Shapes: w (B, T, H) input projections, h0 (B, H), weight_hh (H, H), alpha, beta_h, beta_x and
    bias (H,) -> outputs (B, T, H). The loop runs in w's dtype; the gain gradients are summed in
    at least float32.
    """

    @staticmethod
    def forward(ctx: Any, w: Tensor, h0: Tensor, weight_hh: Tensor, alpha: Tensor, beta_h: Tensor,
                beta_x: Tensor, bias: Tensor) -> Tensor:
        dtype = w.dtype
        w_hh_t = weight_hh.to(dtype).t()
        p = torch.addcmul(beta_h.to(dtype), alpha.to(dtype), w)  # alpha * w_t + beta_h
        q = torch.addcmul(bias.to(dtype), beta_x.to(dtype), w)  # beta_x * w_t + b
        outputs = torch.empty_like(w)
        h = h0.to(dtype)
        for t in range(w.shape[1]):
            u = h @ w_hh_t
            h = torch.addcmul(q[:, t], u, p[:, t]).tanh_()
            outputs[:, t] = h  # h stays a tensor of its own (see src/model/bptt.py)
        ctx.save_for_backward(outputs, w, h0, weight_hh, alpha, beta_h, beta_x)
        return outputs

    @staticmethod
    def backward(ctx: Any, grad_outputs: Tensor) -> tuple[Tensor, ...]:
        outputs, w, h0, weight_hh, alpha, beta_h, beta_x = ctx.saved_tensors
        dtype = outputs.dtype
        w_hh = weight_hh.to(dtype)
        p = torch.addcmul(beta_h.to(dtype), alpha.to(dtype), w)
        grad_outputs = grad_outputs.to(dtype)
        tanh_grad = 1 - outputs * outputs
        da = torch.empty_like(outputs)
        du = torch.empty_like(outputs)
        dh_next = torch.zeros_like(outputs[:, 0])
        for t in range(outputs.shape[1] - 1, -1, -1):
            dh = grad_outputs[:, t] + dh_next
            da[:, t] = da_t = dh * tanh_grad[:, t]  # da_t = dh_t * (1 - h_t**2)
            du[:, t] = du_t = da_t * p[:, t]  # du_t = da_t * p_t
            dh_next = du_t @ w_hh

        hidden = outputs.shape[-1]
        h_prev = torch.cat([h0.to(dtype).unsqueeze(1), outputs[:, :-1]], dim=1)  # (B, T, H): h_{t-1}
        u = h_prev @ w_hh.t()  # u_t for every t in one multiply
        d_weight_hh = du.reshape(-1, hidden).t() @ h_prev.reshape(-1, hidden)
        dw = da * torch.addcmul(beta_x.to(dtype), alpha.to(dtype), u)  # da_t * (alpha * u_t + beta_x)
        acc = torch.promote_types(dtype, torch.float32)  # sums over B*T terms: at least float32
        da_acc = da.to(acc)
        d_alpha = (da_acc * w.to(acc) * u.to(acc)).sum(dim=(0, 1))
        d_beta_h = (da_acc * u.to(acc)).sum(dim=(0, 1))
        d_beta_x = (da_acc * w.to(acc)).sum(dim=(0, 1))
        d_bias = da_acc.sum(dim=(0, 1))
        gain_dtype = alpha.dtype
        return (dw, dh_next.to(h0.dtype), d_weight_hh.to(weight_hh.dtype), d_alpha.to(gain_dtype),
                d_beta_h.to(gain_dtype), d_beta_x.to(gain_dtype), d_bias.to(gain_dtype))


class MultiplicativeRNNCell(RNNCell):
    """The tanh cell with multiplicative integration: the vanilla weights plus three per-unit gains."""

    def __init__(self, input_size: int, hidden_size: int, recurrent_init: str = "uniform") -> None:
        super().__init__(input_size, hidden_size, recurrent_init)
        self.mi_alpha = nn.Parameter(torch.ones(hidden_size))
        self.mi_beta_h = nn.Parameter(torch.ones(hidden_size))
        self.mi_beta_x = nn.Parameter(torch.ones(hidden_size))

    def reset_parameters(self) -> None:
        """The vanilla draws for the weights and biases, then every gain 1 (if they exist yet).

        With all gains 1 the cell starts as the vanilla cell plus the product term w_t * u_t, which
        the small initial weights keep small.
        """
        super().reset_parameters()
        for name in ("mi_alpha", "mi_beta_h", "mi_beta_x"):
            if hasattr(self, name):
                nn.init.ones_(getattr(self, name))

    def project_input(self, x: Tensor) -> Tensor:
        """w = x W_ih^T for any leading shape: the biases enter in the step, beside beta_x * w."""
        return (x.reshape(-1, self.input_size) @ self.weight_ih.t()).view(*x.shape[:-1], self.hidden_size)

    def step(self, x_proj_t: Tensor, h_prev: Tensor, weight_hh: Tensor | None = None) -> Tensor:
        """h_t = tanh(alpha * w_t * u_t + beta_h * u_t + beta_x * w_t + b), u_t = h_{t-1} W_hh^T."""
        weight_hh = self.weight_hh if weight_hh is None else weight_hh
        u = h_prev @ weight_hh.t()
        a = self.mi_alpha * x_proj_t * u + self.mi_beta_h * u + self.mi_beta_x * x_proj_t + self.bias_ih + self.bias_hh
        return torch.tanh(a).to(x_proj_t.dtype)  # the float32 gains would otherwise promote a bf16 loop

    def recurrence(self, x_proj: Tensor, h0: Tensor, weight_hh: Tensor | None = None) -> Tensor:
        """All T steps with the hand-written backward: (B, T, H) input projections -> (B, T, H) states."""
        weight_hh = self.weight_hh if weight_hh is None else weight_hh
        return MultiplicativeTanhRecurrence.apply(x_proj, h0, weight_hh, self.mi_alpha, self.mi_beta_h,
                                                  self.mi_beta_x, self.bias_ih + self.bias_hh)
