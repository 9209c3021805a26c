"""Backpropagation through time, written out by hand, for one tanh layer.

Forward (no autograd graph; only the hidden states are kept):

    a_t = x_proj_t + h_{t-1} W_hh^T          x_proj_t = x_t W_ih^T + b_ih + b_hh, computed outside
    h_t = tanh(a_t)                            t = 0 .. T-1, h_{-1} = h0

Backward, given dL/dh_t from above (the next layer or the head, `grad_outputs[t]`):

    dh_t      = grad_outputs[t] + dh_next      dh_next: what flows back from step t+1 (zero at T-1)
    da_t      = dh_t * (1 - h_t**2)            tanh'(a_t) = 1 - tanh(a_t)^2 = 1 - h_t^2
    dh_next   = da_t W_hh                      the gradient reaching h_{t-1}
    dx_proj_t = da_t
    dW_hh     = sum_t da_t^T h_{t-1}           ONE matrix multiply over all t, after the loop
    dh0       = dh_next after step 0

Only the loop over dh is sequential; everything that can be batched over time is. Compared with
autograd, which saves the input of every addmm and the output of every tanh, this keeps just the
outputs h_0..h_{T-1} (needed by the next layer anyway), about half the activation memory.

Tensors are batch-first, (B, T, H), like the model's input and output: the loop reads and writes
the strided slices [:, t], so no layer ever has to be transposed between time-major and
batch-major. One rule, which every cell's loop follows: the left operand of a per-step matrix
multiply is a tensor of its own (h_{t-1}, da_t), written into its slice by a copy, never the slice
itself. On CPUs with AMX, torch 2.13's bfloat16 matmul reads up to 16 elements past the end of
each row of a row-strided left operand when H is not a multiple of 32 (H = 80, 200, 720, ...; not
512 or 1024), multiplies them by zero padding and adds the result, so the neighbouring time step's
memory leaks in: harmless while it holds numbers, NaN when an unwritten buffer holds a NaN bit
pattern, which stopped a factored 2 x 720 run at step 3 (tests/test_strided_matmul.py). The copies
are two small operations per step: 4-7% of a bf16 forward + backward at H = 512, nothing measurable
at 1024 (docs/speed.md).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class TanhRecurrence(torch.autograd.Function):
    """outputs = [h_0, ..., h_{T-1}] for h_t = tanh(x_proj_t + h_{t-1} W_hh^T), with a hand-written backward.

    Shapes: x_proj (B, T, H), h0 (B, H), weight_hh (H, H) -> outputs (B, T, H).
    The loop runs in x_proj's dtype (bfloat16 under --precision bf16); gradients are returned in
    each input's own dtype, as autograd requires.
    """

    @staticmethod
    def forward(ctx: Any, x_proj: Tensor, h0: Tensor, weight_hh: Tensor) -> Tensor:
        dtype = x_proj.dtype
        w_hh_t = weight_hh.to(dtype).t()
        outputs = torch.empty_like(x_proj)
        h = h0.to(dtype)
        for t in range(x_proj.shape[1]):
            h = torch.addmm(x_proj[:, t], h, w_hh_t).tanh_()  # h_t = tanh(x_proj_t + h_{t-1} W_hh^T)
            outputs[:, t] = h
        ctx.save_for_backward(outputs, h0, weight_hh)
        return outputs

    @staticmethod
    def backward(ctx: Any, grad_outputs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        outputs, h0, weight_hh = ctx.saved_tensors
        dtype = outputs.dtype
        w_hh = weight_hh.to(dtype)
        grad_outputs = grad_outputs.to(dtype)
        tanh_grad = 1 - outputs * outputs  # (1 - h_t^2) for every t at once
        da = torch.empty_like(outputs)  # da[:, t] = dL/da_t, filled backwards
        dh = grad_outputs[:, -1]
        for t in range(outputs.shape[1] - 1, 0, -1):
            da[:, t] = da_t = dh * tanh_grad[:, t]  # da_t = dh_t * (1 - h_t**2)
            dh = torch.addmm(grad_outputs[:, t - 1], da_t, w_hh)  # dh_{t-1} = dL/dh_{t-1} above + da_t W_hh
        da[:, 0] = da_0 = dh * tanh_grad[:, 0]
        dh0 = da_0 @ w_hh  # what reaches the initial state

        # dW_hh = sum over t (and the batch) of da_t^T h_{t-1}, as one matrix multiply.
        h_prev = torch.cat([h0.to(dtype).unsqueeze(1), outputs[:, :-1]], dim=1)  # (B, T, H): h_{t-1}
        hidden = outputs.shape[-1]
        d_weight_hh = da.reshape(-1, hidden).t() @ h_prev.reshape(-1, hidden)
        return da, dh0.to(h0.dtype), d_weight_hh.to(weight_hh.dtype)


def tanh_recurrence(x_proj: Tensor, h0: Tensor, weight_hh: Tensor) -> Tensor:
    """Run the hand-written-BPTT recurrence: (B, T, H) projected inputs -> (B, T, H) hidden states."""
    return TanhRecurrence.apply(x_proj, h0, weight_hh)
