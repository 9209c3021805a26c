"""An orthogonal W_hh by construction (opt-in): W_hh = exp(A - A^T), trained through A.

    S = U - U^T            U = the strictly upper triangle of the trained matrix A   (H, H)
    W_hh = exp(S)          the matrix exponential of a skew-symmetric matrix

exp of a skew-symmetric matrix is orthogonal (W^T W = exp(-S) exp(S) = I), so every singular
value and every eigenvalue modulus of W_hh is 1 at every step of training, whatever the gradient
does to A (Lezcano-Casado & Martinez-Rubio, 2019, "expRNN"). In the vanilla cell W_hh grows
until tanh saturates (spectral radius 4-6 in our runs); here the linear part of the recurrence
can neither shrink nor grow a state, and only tanh's slope decides how fast a gradient fades.

The cell still computes `h W_hh^T` with an ordinary matrix: the parametrisation (PyTorch's
`torch.nn.utils.parametrize`) rebuilds `cell.weight_hh` from A when it is read, and autograd
carries dL/dW_hh, which the hand-written backward through time returns, on to A.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

RECURRENT_WEIGHTS = ("free", "orthogonal")


class SkewExponential(nn.Module):
    """A (H, H) -> exp(triu(A, 1) - triu(A, 1)^T), an orthogonal matrix."""

    def forward(self, a: Tensor) -> Tensor:
        upper = a.triu(1)
        return torch.linalg.matrix_exp(upper - upper.t())


def make_recurrent_weight_orthogonal(cell: nn.Module) -> None:
    """Replace `cell.weight_hh` by exp(A - A^T), A starting from the cell's current W_hh.

    A uniform W_hh with entries of order 1/sqrt(H) makes a small skew matrix, so training starts
    from a random rotation close to the identity.
    """
    parametrize.register_parametrization(cell, "weight_hh", SkewExponential(), unsafe=True)
