"""Model selection along a sparsity path by unexplained variance, robust to collinear libraries."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepmod.regression.base import SparseRegressor, lstsq_on, normalise_problem
from deepmod.regression.held_out import folds, held_out_errors
from deepmod.regression.noise import RowNoise, corrected_lstsq
from deepmod.regression.stlsq import STLSQ


@dataclass(repr=False)
class BackwardElimination(SparseRegressor):
    """Thresholding, then greedy backward elimination with a variance tolerance.

    First, sequentially thresholded least squares (:class:`~deepmod.regression.STLSQ`, ``threshold``)
    proposes the terms with a substantial coefficient. Then, starting from those, it repeatedly removes the
    term whose removal raises the residual least (the least *unique* explained variance, so one of two
    collinear terms goes first however large their coefficients), recording the path. The chosen model is
    the smallest on the path whose unexplained variance exceeds the smallest on the path by at most
    ``tolerance`` (a fraction of the variance of ``y``) and, if ``ratio`` is given, by at most that factor. A
    final guard drops terms whose normalised coefficient is below ``min_coefficient``.

    A small but exact term explains little of ``y`` yet nearly all that the other terms leave: -y in
    Lorenz's y' = 28x - xz - y explains 0.2 % of the variance of y'; the weak diffusion v_xx of a
    reaction-diffusion system likewise. Two rules keep such terms:

    - ``ratio`` (path): a simpler model may not multiply the smallest unexplained variance by more than
      ``ratio``. Suited to accurate columns (polynomials of the states of an ODE, with ``exhaustive``).
    - ``add_back``: after the choice, a dropped term comes back when adding it divides the remaining residual
      by at least ``add_back`` *and* its column is distinct from the chosen ones (at least ``DISTINCT`` = 10 %
      of its mean square is not explained by them: a variance inflation factor below 10, the usual mark of
      severe collinearity). Suited to noisy derivative columns: a term that merely stands in for a
      combination of chosen ones (u*u_xxx beside u_xxx, fitting a co-adapted residual) never comes back,
      however much it absorbs, where the path rule would keep it.

    The two criteria cover each other: a coefficient threshold alone keeps nearly collinear terms
    (u*u_xxx and u^2*u_xxx fitting noise with large opposite coefficients), while elimination alone, started
    from a large library of noisy columns, can take a wrong greedy step early; a term must both carry a
    substantial coefficient and explain variance no other term does.

    Greedy elimination can go wrong among three or more nearly collinear terms (1, z and z^2 for z between
    10 and 45: removing z first, because 1 and z^2 stand in for it, leaves no path to the true {z, x*y}), so
    with ``exhaustive`` set, once the path is short enough every subset is tried: the best subset of each
    size.

    Args:
        tolerance: extra unexplained variance (fraction of var(y)) a simpler model may have.
        threshold: STLSQ's threshold on normalised coefficients for the starting support.
        ratio: largest factor by which a simpler model on the path may multiply the smallest unexplained
            variance; ``None``: no limit.
        add_back: factor by which a distinct dropped term must divide the residual to be added back;
            ``None``: no add-back.
        min_coefficient: smallest coefficient on unit-RMS columns relative to RMS(y) that is kept.
        exhaustive: once the path is down to this many terms, each smaller size takes the best of all
            subsets of those terms instead of the greedy step (``2**exhaustive`` small solves); 0: greedy only.
        simpler: per column, the columns of its simpler relatives (:func:`deepmod.terms.simpler_relatives`:
            one field factor fewer, ``u_xx`` for ``v*u_xx``); a chosen term is swapped for one of them while
            the swapped model still explains the data within the rule that chose the model. ``None``: no swaps.

    Simpler relatives: with fields that swing about a level (predator and prey about 1), ``v*u_xx`` and
    ``u_xx`` are nearly collinear and a few per cent of derivative error decides which of them the path
    keeps; the data cannot tell them apart at the resolution of ``tolerance``, so the simpler one is taken.
    """

    tolerance: float = 0.01
    threshold: float = 0.1
    ratio: float | None = None
    min_coefficient: float = 0.02
    exhaustive: int = 0
    add_back: float | None = None
    simpler: Sequence[Sequence[int]] | None = None

    def fit(self, x: np.ndarray, y: np.ndarray) -> BackwardElimination:
        xn, yn, norms, ys = normalise_problem(x, y)
        n = len(yn)
        gram, rhs, total = xn.T @ xn / n, xn.T @ yn / n, float(yn @ yn / n)
        support = STLSQ(threshold=self.threshold).fit(xn, yn).support_ if self.threshold > 0 else None
        support = np.ones(xn.shape[1], dtype=bool) if support is None or not support.any() else support.copy()
        path = _best_subsets(_elimination_path(support, gram, rhs, total), gram, rhs, total, self.exhaustive)
        best = min(r for _, r in path)
        allowed = best + (self.tolerance if self.ratio is None else min(self.tolerance, (self.ratio - 1) * best))
        chosen = next(s for s, r in reversed(path) if r <= allowed)
        if self.simpler is not None:
            chosen = _simplify(chosen, self.simpler, gram, rhs, total, allowed)
        if self.add_back is not None:
            chosen = self._add_back(chosen, path[0][0], gram, rhs, total)
        coef = lstsq_on(xn, yn, chosen)
        chosen = chosen & (np.abs(coef) >= self.min_coefficient)
        coef = lstsq_on(xn, yn, chosen)
        self.coef_ = coef * ys / norms
        self.path_ = [(np.flatnonzero(s).tolist(), r) for s, r in path]
        return self

    def _add_back(
        self, chosen: np.ndarray, pool: np.ndarray, gram: np.ndarray, rhs: np.ndarray, total: float
    ) -> np.ndarray:
        """Add back, one at a time, a dropped term that divides the residual by ``add_back`` and is distinct.

        Distinct: at least ``DISTINCT`` of its column's mean square is not explained by the chosen terms
        (a variance inflation factor below 10, the usual mark of severe collinearity), so a term that merely
        stands in for a combination of others is never added back, however much residual it absorbs.
        """
        ratio = float(self.add_back or 1.0)
        chosen = chosen.copy()
        while True:
            current = _rss(gram, rhs, total, chosen)
            trials = []
            for j in np.flatnonzero(pool & ~chosen):
                unique = _rss(gram, gram[:, j], float(gram[j, j]), chosen) / float(gram[j, j])
                if unique < DISTINCT:
                    continue
                s = chosen.copy()
                s[j] = True
                trials.append((_rss(gram, rhs, total, s), j))
            if not trials:
                return chosen
            rss, j = min(trials)
            if rss * ratio > current:
                return chosen
            chosen[j] = True


@dataclass(repr=False)
class CrossValidatedPath(SparseRegressor):
    """Model selection along the sparsity path by blocked cross-validation: no threshold to set.

    The candidates are the best subset of each size (all subsets once the greedy backward-elimination path
    is down to ``exhaustive`` terms). Each is scored by ``folds``-fold cross-validation on contiguous blocks
    of rows: rows that are neighbours in space or time (overlapping test functions, adjacent grid points)
    are correlated, so random folds would let a spurious term fit the held-out rows through their
    neighbours. The chosen model is the smallest whose mean held-out error is within one standard error
    of the lowest (the one-standard-error rule; Hastie, Tibshirani and Friedman, *The Elements of
    Statistical Learning*, section 7.10), or within ``min_gain`` of it, whichever is larger: on clean data
    the held-out errors are at the level of the data's own discretisation error (1e-5 of the variance of
    ``y`` and below), where extra terms fit that error consistently across folds; a term that explains
    less than ``min_gain`` of the variance is not a term that the data can tell apart from numerics.

    Attributes set by :meth:`fit`: ``coef_``, ``summary_`` (per candidate: terms, mean and standard
    error of the held-out error relative to the mean square of ``y``).

    ``fit(x, y, groups)`` keeps rows of one group in one fold (runs of whole groups, in the order they first
    appear); without groups the rows are cut into contiguous blocks in their order. With the rows' ``noise``
    (columns of noisy data), the chosen model's coefficients are corrected for it
    (:func:`~deepmod.regression.noise.corrected_lstsq`); the choice itself is made as without it.
    """

    folds: int = 5
    exhaustive: int = 12
    min_gain: float = 1e-4

    def fit(
        self, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None, noise: RowNoise | None = None
    ) -> CrossValidatedPath:
        xn, yn, norms, ys = normalise_problem(x, y)
        n = len(yn)
        if n < 2 * self.folds:
            raise ValueError(f"{n} rows are too few for {self.folds}-fold cross-validation")
        path = _normalised_path(xn, yn, self.exhaustive)
        mean, se = held_out_errors(xn, yn, [s for s, _ in path], folds(n, self.folds, groups))
        best = int(np.argmin(mean))
        sizes = [int(s.sum()) for s, _ in path]
        eligible = [c for c in range(len(path)) if mean[c] <= mean[best] + max(se[best], self.min_gain)]
        chosen = min(eligible, key=lambda c: (sizes[c], mean[c]))
        if noise is None:
            self.coef_ = lstsq_on(xn, yn, path[chosen][0]) * ys / norms
        else:
            self.coef_ = corrected_lstsq(x, y, path[chosen][0], noise)
        self.summary_ = [
            {"terms": np.flatnonzero(s).tolist(), "cv_error": float(mean[c]), "cv_se": float(se[c])}
            for c, (s, _) in enumerate(path)
        ]
        return self


def subset_path(x: np.ndarray, y: np.ndarray, exhaustive: int = 12) -> list[np.ndarray]:
    """The candidates of :class:`CrossValidatedPath` on ``x`` ``(n, p)``, ``y`` ``(n,)``: one boolean
    support per size, greedy backward elimination from all terms, the best subset of each size once the
    path is down to ``exhaustive`` terms."""
    xn, yn, _, _ = normalise_problem(x, y)
    return [support for support, _ in _normalised_path(xn, yn, exhaustive)]


def _normalised_path(xn: np.ndarray, yn: np.ndarray, exhaustive: int) -> list[tuple[np.ndarray, float]]:
    n = len(yn)
    gram, rhs, total = xn.T @ xn / n, xn.T @ yn / n, float(yn @ yn / n)
    full = np.ones(xn.shape[1], dtype=bool)
    return _best_subsets(_elimination_path(full, gram, rhs, total), gram, rhs, total, exhaustive)


DISTINCT = 0.1


def _simplify(
    chosen: np.ndarray,
    simpler: Sequence[Sequence[int]],
    gram: np.ndarray,
    rhs: np.ndarray,
    total: float,
    allowed: float,
) -> np.ndarray:
    """Swap chosen terms for simpler relatives, best swap first, while the residual stays within ``allowed``.

    Each swap lowers the total number of factors, so the loop ends.
    """
    chosen = chosen.copy()
    while True:
        trials = []
        for j in np.flatnonzero(chosen):
            for k in simpler[int(j)]:
                if chosen[k]:
                    continue
                s = chosen.copy()
                s[j], s[k] = False, True
                trials.append((_rss(gram, rhs, total, s), j, k))
        if not trials:
            return chosen
        rss, j, k = min(trials)
        if rss > allowed:
            return chosen
        chosen[j], chosen[k] = False, True


def _elimination_path(
    support: np.ndarray, gram: np.ndarray, rhs: np.ndarray, total: float
) -> list[tuple[np.ndarray, float]]:
    """Greedy backward elimination from ``support``: each step drops the term whose removal raises the
    residual least; returns every model on the way with its mean squared residual."""
    support = support.copy()
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
    return path


def _best_subsets(
    path: list[tuple[np.ndarray, float]], gram: np.ndarray, rhs: np.ndarray, total: float, limit: int
) -> list[tuple[np.ndarray, float]]:
    """The path with its entries of at most ``limit`` terms replaced by the best subset of each size.

    The subsets are drawn from the whole library when it has at most ``limit`` terms, else from the first
    model on the path that does.
    """
    n_terms = len(rhs)
    if limit < 1:
        return path
    if n_terms <= limit:
        pool, head = np.arange(n_terms), []
    else:
        first = next((s for s, _ in path if s.sum() <= limit), None)
        if first is None:
            return path
        pool, head = np.flatnonzero(first), [(s, r) for s, r in path if s.sum() > limit]
    tail = []
    for k in range(len(pool), 0, -1):
        idx = np.array(list(itertools.combinations(pool, k)))
        g = gram[idx[:, :, None], idx[:, None, :]] + 1e-12 * np.eye(k)
        b = rhs[idx]
        w = np.linalg.solve(g, b[..., None])[..., 0]
        rss = np.maximum(total - np.einsum("ck,ck->c", b, w), 0.0)
        best = int(np.argmin(rss))
        support = np.zeros(n_terms, dtype=bool)
        support[idx[best]] = True
        tail.append((support, float(rss[best])))
    return head + tail


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
