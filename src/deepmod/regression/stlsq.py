"""Sequentially thresholded least squares (STLSQ) and its ridge variant (STRidge)."""

from __future__ import annotations

import numpy as np

from deepmod.regression.base import SparseRegressor, lstsq_on, normalise_problem


class STLSQ(SparseRegressor):
    """Sequentially thresholded (ridge) least squares.

    Repeatedly solves least squares on the active terms and drops those whose coefficient, measured on
    unit-RMS columns relative to the RMS of ``y``, is below ``threshold`` (Brunton, Proctor & Kutz,
    PNAS 2016; with ``ridge > 0`` this is STRidge of Rudy et al., Sci. Adv. 2017). Measuring on normalised
    columns makes the threshold mean "a term must explain at least this fraction of the signal", so it
    does not depend on the units of the data.

    Args:
        threshold: minimum relative contribution of a kept term.
        ridge: ridge penalty on the normalised problem (0 for plain least squares).
        max_iter: maximum number of threshold-refit rounds.
    """

    def __init__(self, threshold: float = 0.1, ridge: float = 0.0, max_iter: int = 20) -> None:
        self.threshold = threshold
        self.ridge = ridge
        self.max_iter = max_iter

    def fit(self, x: np.ndarray, y: np.ndarray) -> STLSQ:
        xn, yn, norms, ys = normalise_problem(x, y)
        support = np.ones(xn.shape[1], dtype=bool)
        coef = lstsq_on(xn, yn, support, self.ridge)
        for _ in range(self.max_iter):
            new = support & (np.abs(coef) >= self.threshold)
            if np.array_equal(new, support):
                break
            support = new
            coef = lstsq_on(xn, yn, support, self.ridge)
        coef = lstsq_on(xn, yn, support, 0.0)
        self.coef_ = coef * ys / norms
        self.support_ = support
        return self


class STRidge(STLSQ):
    """STLSQ with a ridge penalty (PDE-FIND's regressor), ``ridge=1e-5`` on the normalised problem."""

    def __init__(self, threshold: float = 0.1, ridge: float = 1e-5, max_iter: int = 20) -> None:
        super().__init__(threshold=threshold, ridge=ridge, max_iter=max_iter)
