"""Constraints: solve for the coefficients xi of u_t = Theta xi inside the training loss."""

from __future__ import annotations

import abc

import torch


class Constraint(abc.ABC):
    """Contract: :meth:`solve` returns xi of shape ``(n_terms,)`` for Theta ``(n_points, n_terms)`` and a
    target ``(n_points,)``, differentiable with respect to both (gradients reach the network)."""

    @abc.abstractmethod
    def solve(self, theta: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Coefficients xi minimising the constraint's objective."""


class LeastSquares(Constraint):
    """Least squares via the normal equations on unit-RMS columns, in float64, with a tiny ridge.

    For the few columns of a library (n_terms << n_points) the normal equations cost one small matrix
    product and a Cholesky solve; scaling the columns first and solving in float64 keeps them accurate
    (condition number of the scaled Gram matrix, not its square root, is what float64 must absorb).
    ``ridge`` is relative to the mean diagonal of the scaled Gram matrix (1) and only guards against
    exactly collinear columns.
    """

    def __init__(self, ridge: float = 1e-10) -> None:
        self.ridge = ridge

    def solve(self, theta: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if theta.shape[1] == 0:
            return theta.new_zeros(0)
        a = theta.double()
        norms = a.pow(2).mean(0).sqrt().clamp_min(1e-30)
        a = a / norms
        gram = a.T @ a / a.shape[0]
        gram = gram + self.ridge * torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
        rhs = a.T @ target.double() / a.shape[0]
        chol, info = torch.linalg.cholesky_ex(gram)
        if int(info) == 0:
            xi = torch.cholesky_solve(rhs.unsqueeze(1), chol).squeeze(1)
        else:
            xi = torch.linalg.lstsq(a, target.double().unsqueeze(1)).solution.squeeze(1)
        return (xi / norms).to(theta.dtype)
