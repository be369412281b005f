"""Model selection along a sparsity path by unexplained variance, robust to collinear libraries."""

from __future__ import annotations

import numpy as np

from deepmod.regression.base import SparseRegressor, lstsq_on, normalise_problem
from deepmod.regression.stlsq import STLSQ


class BackwardElimination(SparseRegressor):
    """Thresholding, then greedy backward elimination with a variance tolerance.

    First, sequentially thresholded least squares (:class:`~deepmod.regression.STLSQ`, ``threshold``)
    proposes the terms with a substantial coefficient. Then, starting from those, it repeatedly removes the
    term whose removal raises the residual least (the least *unique* explained variance, so one of two
    collinear terms goes first however large their coefficients), recording the path. The chosen model is
    the smallest on the path whose unexplained variance exceeds that of the starting model by at most
    ``tolerance`` (a fraction of the variance of ``y``). A final guard drops terms whose normalised
    coefficient is below ``min_coefficient``.

    The two criteria cover each other: a coefficient threshold alone keeps nearly collinear terms
    (u*u_xxx and u^2*u_xxx fitting noise with large opposite coefficients), while elimination alone, started
    from a large library of noisy columns, can take a wrong greedy step early; a term must both carry a
    substantial coefficient and explain variance no other term does.

    Args:
        tolerance: extra unexplained variance (fraction of var(y)) a simpler model may have.
        threshold: STLSQ's threshold on normalised coefficients for the starting support.
        min_coefficient: smallest coefficient on unit-RMS columns relative to RMS(y) that is kept.
    """

    def __init__(self, tolerance: float = 0.01, threshold: float = 0.1, min_coefficient: float = 0.02) -> None:
        self.tolerance = tolerance
        self.threshold = threshold
        self.min_coefficient = min_coefficient

    def fit(self, x: np.ndarray, y: np.ndarray) -> BackwardElimination:
        xn, yn, norms, ys = normalise_problem(x, y)
        n = len(yn)
        gram, rhs, total = xn.T @ xn / n, xn.T @ yn / n, float(yn @ yn / n)
        support = STLSQ(threshold=self.threshold).fit(xn, yn).support_ if self.threshold > 0 else None
        support = np.ones(xn.shape[1], dtype=bool) if support is None or not support.any() else support.copy()
        path = [(support.copy(), _rss(gram, rhs, total, support))]
        while support.sum() > 1:
            trials = []
            for j in np.flatnonzero(support):
                s = support.copy()
                s[j] = False
                trials.append((_rss(gram, rhs, total, s), j))
            rss, j = min(trials)
            support[j] = False
            path.append((support.copy(), rss))
        best = min(r for _, r in path)
        chosen = next(s for s, r in reversed(path) if r <= best + self.tolerance)
        coef = lstsq_on(xn, yn, chosen)
        chosen = chosen & (np.abs(coef) >= self.min_coefficient)
        coef = lstsq_on(xn, yn, chosen)
        self.coef_ = coef * ys / norms
        self.path_ = [(np.flatnonzero(s).tolist(), r) for s, r in path]
        return self


def _rss(gram: np.ndarray, rhs: np.ndarray, total: float, support: np.ndarray) -> float:
    """Mean squared residual of least squares on ``support`` from the normal equations."""
    if not support.any():
        return total
    g = gram[np.ix_(support, support)]
    b = rhs[support]
    try:
        w = np.linalg.solve(g + 1e-12 * np.eye(len(b)), b)
    except np.linalg.LinAlgError:
        w = np.linalg.lstsq(g, b, rcond=None)[0]
    return max(total - float(b @ w), 0.0)
