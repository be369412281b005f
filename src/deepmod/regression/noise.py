"""Errors in variables: least squares that knows the noise in its own columns.

When the columns of Theta are computed from noisy data (the weak method integrates the data's monomials),
``E[Theta^T Theta] = Theta_0^T Theta_0 + sum_i Cov(theta_i)`` and ``E[Theta^T b] = Theta_0^T b_0 +
sum_i Cov(theta_i, b_i)``: ordinary least squares shrinks every coefficient whose column carries noise (by
11 % on Kuramoto-Sivashinsky at noise equal to the signal's spread). Where the producer of a system knows each
row's noise covariance (:class:`RowNoise`), the corrected normal equations

    (Theta^T Theta - sum_i C_i[theta, theta]) xi = Theta^T b - sum_i C_i[theta, b]

are unbiased (Fuller, *Measurement Error Models*, 1987, section 2.2: the method-of-moments estimator).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg

from deepmod.regression.base import lstsq_on


class RowNoise(abc.ABC):
    """The noise covariance of each row of a system's columns and target, computed for the columns asked for
    (a chosen model has a few; the library may have hundreds)."""

    @abc.abstractmethod
    def covariance(self, columns: Sequence[int]) -> np.ndarray:
        """``(n_rows, k + 1, k + 1)``: per row, the covariance of ``theta[:, columns]`` and the target (last)."""

    def taken(self, rows: np.ndarray) -> RowNoise:
        """The covariances of these rows (indices, repeats allowed)."""
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


@dataclass(frozen=True)
class Stacked(RowNoise):
    """The rows of several systems one after another (one per trajectory)."""

    parts: tuple[RowNoise, ...]

    def covariance(self, columns: Sequence[int]) -> np.ndarray:
        return np.concatenate([p.covariance(columns) for p in self.parts])


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
    return coef


MAX_NOISE_SHARE = 0.9
"""The correction is made while no combination of the chosen columns is more than this share noise (the
largest generalised eigenvalue of their noise covariance against their Gram matrix); beyond it, dividing by
the little that remains amplifies the estimate's own error, and ordinary least squares is kept."""


__all__ = ["MAX_NOISE_SHARE", "RowNoise", "Stacked", "corrected_lstsq"]
