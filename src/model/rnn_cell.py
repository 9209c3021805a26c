"""The vanilla (Elman) tanh RNN cell: the whole recurrence is one equation.

    h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)

Shapes (B = batch, I = input size, H = hidden size):

    x_t     (B, I)      input at step t
    h_{t-1} (B, H)      previous hidden state (zeros at the start of a sequence)
    W_ih    (H, I)      input-to-hidden weights      b_ih (H,)
    W_hh    (H, H)      hidden-to-hidden weights     b_hh (H,)
    h_t     (B, H)      new hidden state, in (-1, 1)

Parameter names and layout match PyTorch's built-in RNN layer (`weight_ih_l0` etc. without the
suffix), which is what lets the tests copy weights across and demand identical outputs and
gradients.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from src.model.bptt import tanh_recurrence

RECURRENT_INITS = ("uniform", "orthogonal", "identity")


class RNNCell(nn.Module):
    """One tanh recurrent layer's parameters and its single-step update.

    Initialisation: every weight and bias is drawn from U(-1/sqrt(H), 1/sqrt(H)), the same
    scheme as PyTorch's built-in RNN layer, so the two start from the same distribution. It keeps
    the pre-activation of a fresh network in tanh's linear range for typical inputs.
    `recurrent_init` can replace W_hh's draw, since W_hh alone decides how a signal (and its
    gradient) is scaled from one step to the next:

    - "orthogonal": a random orthogonal matrix, all singular values 1 (norm-preserving);
    - "identity": W_hh = I, so h_{t-1} passes on unchanged apart from the tanh (Le et al., 2015).
    """

    def __init__(self, input_size: int, hidden_size: int, recurrent_init: str = "uniform") -> None:
        super().__init__()
        if recurrent_init not in RECURRENT_INITS:
            raise ValueError(f"recurrent_init must be one of {RECURRENT_INITS}, got {recurrent_init!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.recurrent_init = recurrent_init
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw all parameters from U(-1/sqrt(H), 1/sqrt(H)), then W_hh as `recurrent_init` says."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)
        if self.recurrent_init == "orthogonal":
            nn.init.orthogonal_(self.weight_hh)
        elif self.recurrent_init == "identity":
            nn.init.eye_(self.weight_hh)

    def project_input(self, x: Tensor) -> Tensor:
        """The input half of the equation, `x W_ih^T + b_ih + b_hh`, for any leading shape.

        It does not depend on h, so the layer computes it for all time steps in one matrix
        multiply before the loop instead of T small ones inside it. Both biases are folded in
        here because they are constant over time.
        """
        return torch.addmm(self.bias_ih + self.bias_hh, x.reshape(-1, self.input_size),
                           self.weight_ih.t()).view(*x.shape[:-1], self.hidden_size)

    def step(self, x_proj_t: Tensor, h_prev: Tensor, weight_hh: Tensor | None = None) -> Tensor:
        """The recurrent half: h_t = tanh(x_proj_t + h_{t-1} W_hh^T), with x_proj_t from `project_input`.

        `weight_hh` replaces W_hh when given (a DropConnect-masked copy during training).
        """
        weight_hh = self.weight_hh if weight_hh is None else weight_hh
        # addmm fuses the add into the matrix multiply: one kernel and one saved tensor fewer.
        return torch.tanh(torch.addmm(x_proj_t, h_prev, weight_hh.t()))

    def recurrence(self, x_proj: Tensor, h0: Tensor, weight_hh: Tensor | None = None) -> Tensor:
        """All T steps with the hand-written backward (`bptt.py`): (B, T, H) projected inputs -> (B, T, H)."""
        return tanh_recurrence(x_proj, h0, self.weight_hh if weight_hh is None else weight_hh)

    def recurrent_matrix(self) -> Tensor:
        """The matrix that carries h_{t-1} into the pre-activation (W_hh here): what the diagnostics' spectrum reads."""
        return self.weight_hh

    def forward(self, x_t: Tensor, h_prev: Tensor) -> Tensor:
        """One time step: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)."""
        return self.step(self.project_input(x_t), h_prev)
