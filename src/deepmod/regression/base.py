"""The sparse-regressor contract shared by every method (scikit-learn's).

``__init__`` stores hyperparameters only; ``fit(X, y)`` returns ``self`` and sets ``coef_`` of shape
``(n_features,)``, zero where a term is inactive. Any scikit-learn-compatible linear regressor (Lasso,
PySINDy's STLSQ or SR3) can be used in the same places.
"""

from __future__ import annotations

import abc

import numpy as np


class SparseRegressor(abc.ABC):
    """Base class: a linear regressor without intercept whose ``coef_`` is sparse."""

    coef_: np.ndarray

    @abc.abstractmethod
    def fit(self, x: np.ndarray, y: np.ndarray) -> SparseRegressor:
        """Fit ``y ~ x @ coef_`` with ``x`` of shape ``(n_samples, n_features)``, ``y`` of ``(n_samples,)``."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x) @ self.coef_

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def get_params(self, deep: bool = True) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def set_params(self, **params: object) -> SparseRegressor:
        for k, v in params.items():
            setattr(self, k, v)
        return self


def lstsq_on(x: np.ndarray, y: np.ndarray, support: np.ndarray, ridge: float = 0.0) -> np.ndarray:
    """Least-squares coefficients on the columns in ``support`` (boolean), zeros elsewhere.

    With ``ridge > 0`` solves ``(X^T X + ridge I) w = X^T y`` on the support.
    """
    coef = np.zeros(x.shape[1])
    if not support.any():
        return coef
    xs = x[:, support]
    if ridge > 0:
        coef[support] = np.linalg.solve(xs.T @ xs + ridge * np.eye(xs.shape[1]), xs.T @ y)
    else:
        coef[support] = np.linalg.lstsq(xs, y, rcond=None)[0]
    return coef


def normalise_problem(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """``(x / norms, y / y_rms, norms, y_rms)``: unit-RMS columns and target, so that coefficients are unit-free.

    A coefficient ``w`` of the normalised problem is ``w * y_rms / norms`` in the original one.
    """
    xn, norms = normalise_columns(np.asarray(x, dtype=np.float64))
    y = np.asarray(y, dtype=np.float64).ravel()
    ys = float(np.sqrt(np.mean(y**2))) or 1.0
    return xn, y / ys, norms, ys


def normalise_columns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns scaled to unit root-mean-square; returns the scaled matrix and the scales (zeros -> 1)."""
    norms = np.sqrt(np.mean(x**2, axis=0))
    norms = np.where(norms > 0, norms, 1.0)
    return x / norms, norms
