"""An opt-in ungated variant: the multiplicative RNN (Sutskever, Martens & Hinton, 2011).

Each input chooses its own recurrent matrix. With F = H factors:

    w_t = x_t W_ih^T + b_ih + b_hh            (B, H)   the input's additive term, as in the vanilla cell
    v_t = x_t W_fx^T + b_fx                   (B, F)   the input's gain on each factor
    u_t = h_{t-1} W_fh^T                      (B, F)   the state read into the factors (W_fh is `weight_hh`)
    f_t = v_t * u_t                           (B, F)   elementwise
    h_t = tanh(w_t + f_t W_hf^T)

so the recurrence is h_{t-1} -> h_{t-1} (W_hf diag(v_t) W_fh)^T: a full H x H matrix that depends on
the input, factored so it costs two H x H weights instead of one per input. No sigmoid anywhere: v_t
is linear in x_t, and h_t is one tanh of one function of x_t and h_{t-1}.

Initialisation: W_ih, W_fh (from --recurrent-init), W_fx and the biases as the vanilla cell; b_fx = 1
and W_hf = I, so a fresh cell is h_t = tanh(w_t + v_t * (h_{t-1} W_fh^T)) with v_t near 1: the
vanilla cell with each unit's recurrent row scaled by the input (multiplicative integration's
form), from which training can mix the factors.

Backward through time, per step t from T-1 down to 0 (dh_next = 0 at T-1):

    dh_t    = dL/dh_t (from above) + dh_next
    da_t    = dh_t * (1 - h_t**2)
    df_t    = da_t W_hf
    du_t    = df_t * v_t
    dh_next = du_t W_fh
    then for all t at once:  dw_t = da_t    dv_t = df_t * u_t
                             dW_hf = sum_t da_t^T f_t    dW_fh = sum_t du_t^T h_{t-1}

u_t (and so f_t) is recomputed after the loop as one (B*T, H) x (H, F) multiply rather than kept
from the forward pass, so the forward keeps only the outputs, like the vanilla loop.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from src.model.rnn_cell import RNNCell


class FactoredTanhRecurrence(torch.autograd.Function):
    """outputs = [h_0, ..., h_{T-1}] of the multiplicative RNN, with a hand-written backward.

    Shapes: w (B, T, H) additive input terms, v (B, T, F) factor gains, h0 (B, H), weight_fh (F, H),
    weight_hf (H, F) -> outputs (B, T, H). The loop runs in w's dtype.
    """

    @staticmethod
    def forward(ctx: Any, w: Tensor, v: Tensor, h0: Tensor, weight_fh: Tensor, weight_hf: Tensor) -> Tensor:
        dtype = w.dtype
        w_fh_t, w_hf_t = weight_fh.to(dtype).t(), weight_hf.to(dtype).t()
        v = v.to(dtype)
        outputs = torch.empty_like(w)
        h = h0.to(dtype)
        for t in range(w.shape[1]):
            f = (h @ w_fh_t).mul_(v[:, t])  # f_t = v_t * (h_{t-1} W_fh^T)
            h = torch.addmm(w[:, t], f, w_hf_t).tanh_()  # tanh(w_t + f_t W_hf^T)
            outputs[:, t] = h  # h stays a tensor of its own (see src/model/bptt.py)
        ctx.save_for_backward(outputs, v, h0, weight_fh, weight_hf)
        return outputs

    @staticmethod
    def backward(ctx: Any, grad_outputs: Tensor) -> tuple[Tensor, ...]:
        outputs, v, h0, weight_fh, weight_hf = ctx.saved_tensors
        dtype = outputs.dtype
        w_fh, w_hf = weight_fh.to(dtype), weight_hf.to(dtype)
        grad_outputs = grad_outputs.to(dtype)
        tanh_grad = 1 - outputs * outputs
        da = torch.empty_like(outputs)
        df = torch.empty_like(v)
        du = torch.empty_like(v)
        dh_next = torch.zeros_like(outputs[:, 0])
        for t in range(outputs.shape[1] - 1, -1, -1):
            dh = grad_outputs[:, t] + dh_next
            da[:, t] = da_t = dh * tanh_grad[:, t]  # da_t = dh_t * (1 - h_t**2)
            df[:, t] = df_t = da_t @ w_hf  # df_t = da_t W_hf
            du[:, t] = du_t = df_t * v[:, t]  # du_t = df_t * v_t
            dh_next = du_t @ w_fh

        hidden, factors = outputs.shape[-1], v.shape[-1]
        h_prev = torch.cat([h0.to(dtype).unsqueeze(1), outputs[:, :-1]], dim=1)  # (B, T, H): h_{t-1}
        u = h_prev @ w_fh.t()  # u_t for every t in one multiply
        d_weight_fh = du.reshape(-1, factors).t() @ h_prev.reshape(-1, hidden)
        d_weight_hf = da.reshape(-1, hidden).t() @ (v * u).reshape(-1, factors)
        dv = df * u
        return (da, dv.to(v.dtype), dh_next.to(h0.dtype), d_weight_fh.to(weight_fh.dtype),
                d_weight_hf.to(weight_hf.dtype))


class FactoredRNNCell(RNNCell):
    """The multiplicative RNN: the vanilla weights (W_hh read as W_fh) plus W_fx, b_fx and W_hf."""

    def __init__(self, input_size: int, hidden_size: int, recurrent_init: str = "uniform") -> None:
        super().__init__(input_size, hidden_size, recurrent_init)
        self.weight_fx = nn.Parameter(torch.empty(hidden_size, input_size))
        self.bias_fx = nn.Parameter(torch.empty(hidden_size))
        self.weight_hf = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The vanilla draws for every matrix and bias, then b_fx = 1 and W_hf = I (once they exist)."""
        super().reset_parameters()
        if hasattr(self, "weight_hf"):
            nn.init.ones_(self.bias_fx)
            nn.init.eye_(self.weight_hf)

    def project_input(self, x: Tensor) -> Tensor:
        """[w, v] = [x W_ih^T + b_ih + b_hh, x W_fx^T + b_fx] for any leading shape: (..., 2H), one multiply."""
        weight = torch.cat([self.weight_ih, self.weight_fx])  # (2H, I)
        bias = torch.cat([self.bias_ih + self.bias_hh, self.bias_fx])
        return torch.addmm(bias, x.reshape(-1, self.input_size), weight.t()).view(*x.shape[:-1], 2 * self.hidden_size)

    def step(self, x_proj_t: Tensor, h_prev: Tensor, weight_hh: Tensor | None = None) -> Tensor:
        """h_t = tanh(w_t + (v_t * (h_{t-1} W_fh^T)) W_hf^T), with [w_t, v_t] = x_proj_t."""
        weight_fh = self.weight_hh if weight_hh is None else weight_hh
        w, v = x_proj_t.split(self.hidden_size, dim=-1)
        return torch.tanh(w + (v * (h_prev @ weight_fh.t())) @ self.weight_hf.t())

    def recurrence(self, x_proj: Tensor, h0: Tensor, weight_hh: Tensor | None = None) -> Tensor:
        """All T steps with the hand-written backward: (B, T, 2H) projected inputs -> (B, T, H) states."""
        w, v = x_proj.split(self.hidden_size, dim=-1)
        return FactoredTanhRecurrence.apply(w, v, h0, self.weight_hh if weight_hh is None else weight_hh,
                                            self.weight_hf)

    def recurrent_matrix(self) -> Tensor:
        """W_hf diag(b_fx) W_fh: the recurrent matrix for an input whose gains are zero (x_t = 0)."""
        return self.weight_hf @ (self.bias_fx.unsqueeze(1) * self.weight_hh)
