"""Standard deviations of a PINN's calibrated coefficients.

Given the trained network, the residual ``u_t - sum_j (c_j + sum_p a_jp theta_p) term_j`` is linear in the
unknowns ``theta``: least squares on the collocation points, with Jacobian ``J`` (``dr / dtheta``) and
residual variance ``s^2``, has covariance ``s^2 (J^T J)^-1`` (the Laplace approximation of the residual
loss as a Gaussian likelihood, conditional on the network). The collocation points are as many as one likes,
while the information comes from the data's samples, so the covariance is scaled by ``n_collocation /
n_data``: the regression as if it had one row per data sample.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from deepmod.pinn.solver import Losses


def parameter_std(losses: Losses) -> np.ndarray:
    """``(n_unknowns,)`` standard deviations (module docstring); empty without unknowns."""
    names = losses.unknown_names
    if not names:
        return np.zeros(0)
    points = losses.points.collocation
    rows, residuals = [], []
    with torch.no_grad():
        _, values, u_t = losses.values(points)
        r = losses.residuals_of(values, u_t).cpu().numpy()
        for k, (eq, evaluator) in enumerate(zip(losses.equations, losses.evaluators, strict=True)):
            columns = [c.detach().cpu().numpy() for c in evaluator.columns(values, like=points[:, 0])]
            block = np.zeros((len(points), len(names)))
            for col, parts in zip(columns, eq.terms.values(), strict=True):
                for p, name in enumerate(names):
                    block[:, p] -= parts.get(name, 0.0) * col / float(losses.rate_scale[k])
            rows.append(block)
            residuals.append(r[:, k])
    jac, res = np.concatenate(rows), np.concatenate(residuals)
    n, p = jac.shape
    variance = float(res @ res) / max(n - p, 1)
    cov = variance * np.linalg.pinv(jac.T @ jac)
    n_data = 0 if losses.points.data is None else int(losses.points.data.shape[0])
    scale = n / n_data if n_data else 1.0
    return np.sqrt(np.maximum(np.diag(cov) * scale, 0.0))


__all__ = ["parameter_std"]
