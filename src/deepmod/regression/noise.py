"""Errors in variables: least squares that knows the noise in its own columns.

When the columns of Theta are computed from noisy data (the weak method integrates the data's monomials),
``E[Theta^T Theta] = Theta_0^T Theta_0 + sum_i Cov(theta_i)`` and ``E[Theta^T b] = Theta_0^T b_0 +
sum_i Cov(theta_i, b_i)``: ordinary least squares shrinks every coefficient whose column carries noise (by
11 % on Kuramoto-Sivashinsky at noise equal to the signal's spread). Where the producer of a system knows each
row's noise covariance (:class:`RowNoise`), the corrected normal equations

    (Theta^T Theta - sum_i C_i[theta, theta]) xi = Theta^T b - sum_i C_i[theta, b]

are unbiased (Fuller, *Measurement Error Models*, 1987, section 2.2: the method-of-moments estimator).

Rows that share data are correlated (overlapping test functions integrate the same noisy points), and
ordinary least squares weights them as if they were not. Where the producer also knows the covariance
between rows (:meth:`RowNoise.pairs`), the coefficients are the generalised least-squares estimate with the
residual's covariance ``Sigma(xi) = sum_jk g_j g_k C_jk``, ``g = (-xi, 1)``, iterated from the estimate above
(WENDy: Bortz, Messenger and Dukic, Bull. Math. Biol. 85, 2023), each step corrected for the noise in the
columns as above, with the weights ``Sigma^-1`` in the place of the identity.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg
from threadpoolctl import threadpool_limits

from deepmod.regression.base import lstsq_on


class RowNoise(abc.ABC):
    """The noise covariance of each row of a system's columns and target, computed for the columns asked for
    (a chosen model has a few; the library may have hundreds)."""

    @abc.abstractmethod
    def covariance(self, columns: Sequence[int]) -> np.ndarray:
        """``(n_rows, k + 1, k + 1)``: per row, the covariance of ``theta[:, columns]`` and the target (last)."""

    def pairs(self, columns: Sequence[int]) -> tuple[np.ndarray, np.ndarray] | None:
        """Two ``(k + 1, k + 1, n_rows, n_rows)`` arrays: the covariance between every two rows of every two
        of ``theta[:, columns]`` and the target (last), estimated without bias (for the correction), and a
        positive semi-definite estimate of it (for the weights); ``None`` where it is not known or too large
        to hold."""
        return None

    def taken(self, rows: np.ndarray) -> RowNoise:
        """The covariances of these rows (indices, repeats allowed); repeated rows have no generalised least
        squares, so a draw of rows knows no :meth:`pairs`."""
        return _Taken(self, np.asarray(rows))

    def restricted(self, columns: Sequence[int]) -> RowNoise:
        """The covariances of a system on these columns only."""
        return _Restricted(self, tuple(int(c) for c in columns))


@dataclass(frozen=True)
class _Taken(RowNoise):
    base: RowNoise
    rows: np.ndarray

    def covariance(self, columns: Sequence[int]) -> np.ndarray:
        return self.base.covariance(columns)[self.rows]


@dataclass(frozen=True)
class _Restricted(RowNoise):
    base: RowNoise
    columns: tuple[int, ...]

    def covariance(self, columns: Sequence[int]) -> np.ndarray:
        return self.base.covariance([self.columns[c] for c in columns])

    def pairs(self, columns: Sequence[int]) -> tuple[np.ndarray, np.ndarray] | None:
        return self.base.pairs([self.columns[c] for c in columns])


@dataclass(frozen=True)
class Stacked(RowNoise):
    """The rows of several systems one after another (one per trajectory)."""

    parts: tuple[RowNoise, ...]

    def covariance(self, columns: Sequence[int]) -> np.ndarray:
        return np.concatenate([p.covariance(columns) for p in self.parts])

    def pairs(self, columns: Sequence[int]) -> tuple[np.ndarray, np.ndarray] | None:
        blocks = [p.pairs(columns) for p in self.parts]  # the runs' noises are independent
        if any(b is None for b in blocks):
            return None
        k = len(columns) + 1

        def joined(version: int) -> np.ndarray:
            parts = [b[version] for b in blocks if b is not None]
            return np.array([[linalg.block_diag(*(p[i, j] for p in parts)) for j in range(k)] for i in range(k)])

        return joined(0), joined(1)


def corrected_lstsq(x: np.ndarray, y: np.ndarray, support: np.ndarray, noise: RowNoise | None) -> np.ndarray:
    """Least squares on the columns in ``support`` (boolean), zeros elsewhere, corrected for the noise in the
    columns (module docstring). Ordinary least squares where ``noise`` is ``None`` or the corrected Gram
    matrix is not clearly positive definite (noise that swamps a column leaves nothing to correct)."""
    if noise is None or not support.any():
        return lstsq_on(x, y, support)
    picked = np.flatnonzero(support)
    xs = x[:, picked]
    c = noise.covariance(picked.tolist()).sum(axis=0)
    raw = xs.T @ xs
    try:  # the largest share of a combination of the columns' square that is noise
        share = float(linalg.eigh(c[:-1, :-1], raw, eigvals_only=True).max())
    except (linalg.LinAlgError, ValueError):
        share = np.inf
    if not share < MAX_NOISE_SHARE:
        return lstsq_on(x, y, support)
    coef = np.zeros(x.shape[1])
    coef[picked] = np.linalg.solve(raw - c[:-1, :-1], xs.T @ y - c[:-1, -1])
    with threadpool_limits(1):  # the same bits on any number of BLAS threads (blocked reductions differ)
        pairs = noise.pairs(picked.tolist())
        generalised = None if pairs is None else generalised_lstsq(xs, y, pairs, coef[picked])
    if generalised is not None:
        coef[picked] = generalised
    return coef


def generalised_lstsq(
    x: np.ndarray, y: np.ndarray, pairs: tuple[np.ndarray, np.ndarray], start: np.ndarray
) -> np.ndarray | None:
    """Generalised least squares of ``y`` on every column of ``x``, the residual's covariance from the rows'
    noise (``pairs``, :meth:`RowNoise.pairs`: its positive copy) at the current coefficients, corrected for the
    noise in the columns (its unbiased copy), iterated from ``start`` to a fixed point (module docstring).

    ``None`` (keep ``start``) where it is no better founded: the iteration does not settle, a combination of the
    columns is mostly noise under the weights, or the noise does not explain the residual (chi-square per
    degree of freedom above :data:`MAX_CHI_SQUARE`: then model or discretisation error dominates, and
    weighting by the noise alone is no longer the efficient choice, as on clean data).
    """
    k, n = x.shape[1], x.shape[0]
    unbiased, positive = pairs
    coef = start
    for _ in range(MAX_ITERATIONS):
        g = np.append(-coef, 1.0)
        sigma = np.einsum("i,j,ijab->ab", g, g, positive)
        sigma[np.diag_indices(n)] += 1e-12 * max(float(np.trace(sigma)) / n, np.finfo(float).tiny)
        try:
            factor = linalg.cho_factor(sigma, lower=True)
        except linalg.LinAlgError:
            return None
        xw, yw = linalg.solve_triangular(factor[0], x, lower=True), linalg.solve_triangular(factor[0], y, lower=True)
        gram = xw.T @ xw
        c = np.einsum("ab,ijab->ij", linalg.cho_solve(factor, np.eye(n)), unbiased)
        try:
            share = float(linalg.eigh(c[:-1, :-1], gram, eigvals_only=True).max())
            new = np.linalg.solve(gram - c[:-1, :-1], xw.T @ yw - c[:-1, -1])
        except (linalg.LinAlgError, ValueError, np.linalg.LinAlgError):
            return None
        if not share < MAX_NOISE_SHARE or not np.all(np.isfinite(new)):
            return None
        settled = np.allclose(new, coef, rtol=1e-6, atol=0.0)
        coef = new
        if settled:
            residual = yw - xw @ coef
            return coef if float(residual @ residual) / max(n - k, 1) <= MAX_CHI_SQUARE else None
    return None


MAX_NOISE_SHARE = 0.9
"""The correction is made while no combination of the chosen columns is more than this share noise (the
largest generalised eigenvalue of their noise covariance against their Gram matrix); beyond it, dividing by
the little that remains amplifies the estimate's own error, and ordinary least squares is kept."""


MAX_CHI_SQUARE = 2.0
"""Generalised least squares is used while the weighted residual is at most this many times what the rows'
noise predicts: at 1 % to 100 % noise on the PDE-FIND sets and Fisher-KPP the weak residual is 0.5 to 1.1
times it; on clean PDE-FIND Burgers, Kuramoto-Sivashinsky and Fisher-KPP, where the residual is the
discretisation's, 10^13 to 10^31 times."""

MAX_ITERATIONS = 20
"""Fixed-point steps of the generalised least squares (3 or 4 settle it to 1e-6 on the PDE-FIND sets)."""


__all__ = ["MAX_CHI_SQUARE", "MAX_NOISE_SHARE", "RowNoise", "Stacked", "corrected_lstsq", "generalised_lstsq"]
