"""Judging terms by held-out rows: blocked cross-validation, and refinements of a proposed choice of terms."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from deepmod.regression.base import lstsq_on, normalise_problem


def held_out_errors(
    xn: np.ndarray, yn: np.ndarray, supports: Sequence[np.ndarray], blocks: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Per support: the mean over ``blocks`` of the held-out mean squared error of least squares fitted on the
    other rows, and its standard error, both relative to the mean square of ``yn``."""
    n, total = len(yn), float(yn @ yn / len(yn))
    errors = np.zeros((len(supports), len(blocks)))
    for b, rows in enumerate(blocks):
        train = np.ones(n, dtype=bool)
        train[rows] = False
        xt, yt = xn[train], yn[train]
        g, r = xt.T @ xt, xt.T @ yt
        for c, s in enumerate(supports):
            w = np.linalg.lstsq(g[np.ix_(s, s)], r[s], rcond=None)[0] if s.any() else np.zeros(0)
            errors[c, b] = float(np.mean((yn[rows] - xn[rows][:, s] @ w) ** 2))
    return errors.mean(axis=1) / total, errors.std(axis=1, ddof=1) / np.sqrt(len(blocks)) / total


def folds(n: int, folds: int, groups: np.ndarray | None) -> list[np.ndarray]:
    """Row indices of each fold: contiguous blocks of rows, or runs of whole groups where there are enough."""
    if groups is None:
        return np.array_split(np.arange(n), folds)
    labels, first = np.unique(np.asarray(groups), return_index=True)
    if len(labels) < folds:
        return np.array_split(np.arange(n), folds)
    runs = np.array_split(labels[np.argsort(first)], folds)
    return [np.flatnonzero(np.isin(groups, run)) for run in runs]


@dataclass(frozen=True)
class SmallTerms:
    """Drop terms of small contribution that another system, one the model cannot bend, does not need.

    A selection made on a system the model has co-adapted to (the weak form of a network trained with the
    chosen terms in its loss) can keep a term three orders of magnitude below the others: once the term is in
    the loss the network bends until the term is needed. This rule judges such terms again on the weak form
    of the data themselves: a chosen term whose contribution (coefficient x column norm, relative to the norm
    of the fitted right-hand side) is below ``share`` is dropped when the model without it predicts held-out
    rows as well, within one standard error, as the model with it (blocked cross-validation, the rule of
    :class:`CrossValidatedPath`, on runs of whole ``groups``). The smallest contribution is judged first, one
    term at a time.

    The rule is the held-out test, not the share. Lorenz's small -y in y' = 28x - xz - y (0.24 % of the
    variance of y') stays whatever ``share`` lets it be judged (the tests set ``share=1``). So does a weak
    diffusion with a fifth of the other axis's (2-D advection-diffusion at 10 % noise: removing it raises the
    data's weak residual only 2.2-fold, well above the noise's spread over 343 rows). A spurious 0.0099 y
    beside a x - b x y goes.

    Args:
        share: contributions below this fraction of the fitted right-hand side are judged.
        folds: blocks of rows for the cross-validation.
        min_gain: as :class:`CrossValidatedPath`'s: a term that lowers the held-out error by less than this
            fraction of the variance of the target is not needed, however small the standard error.
    """

    share: float = 0.1
    folds: int = 5
    min_gain: float = 1e-4

    def prune(self, x: np.ndarray, y: np.ndarray, chosen: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
        """``chosen`` less the terms the rule drops, judged on the system ``x`` ``(n, p)``, ``y`` ``(n,)``."""
        return _on_blocks(self._prune, x, y, chosen, self.folds, groups)

    def _prune(self, xn: np.ndarray, yn: np.ndarray, blocks: list[np.ndarray], chosen: np.ndarray) -> np.ndarray:
        while chosen.sum() > 1:
            coef = lstsq_on(xn, yn, chosen)
            fitted = np.linalg.norm(xn @ coef)
            if fitted == 0:
                return chosen
            shares = np.abs(coef) * np.linalg.norm(xn, axis=0) / fitted
            small = [j for j in np.argsort(shares, kind="stable") if chosen[j] and shares[j] < self.share]
            if not small:
                return chosen
            without = chosen.copy()
            without[small[0]] = False
            mean, se = held_out_errors(xn, yn, [chosen, without], blocks)
            if mean[1] > mean[0] + max(se[0], self.min_gain):
                return chosen
            chosen = without
        return chosen


@dataclass(frozen=True)
class Stepwise:
    """Refine a proposed set of terms by single removals and additions judged on held-out rows.

    From ``chosen``, each step first removes the term whose removal raises the held-out error least, if the
    model without it predicts held-out blocks as well within one standard error (or ``min_gain``); else it
    adds the term that lowers the held-out error most, if it lowers it by more than one standard error (and
    ``min_gain``); it stops when neither applies. The criterion is :class:`CrossValidatedPath`'s; what
    differs is the search: a path from the whole library can take a wrong greedy step among noisy
    collinear columns (the weak method's spurious ``u*v`` in a damped wave at 10 % noise), while a local
    search from a good proposal (a network's selection) only has to confirm it. On the weak form of the
    data of all six unseen kinds at seeds 0 and 1 (10 % noise), with Burgers and KdV, no single term
    is added to the true model and every true term is needed by 2.4 to 200 standard errors.

    After the steps, ``alternatives`` (the best subsets of each size on the same system, say) may replace
    the result: the smallest of those no larger than it that predict held-out blocks better than it by more
    than its standard error (the lowest error among equals); the steps then start again from there. A
    proposal can sit where no single change helps: a network that adapted to ``u, v, u^2 v, u v^2`` for a
    cubic pair's ``u, v, u^3, u_xx`` leaves 2 % of the data's weak target unexplained against 0.05 % for the
    truth, and no term in or out lowers that by one standard error. Only models no larger than the steps'
    result compete, so the exchange never adds terms, and the smallest clearly better one is taken, not the
    best: at 10 % noise the data's best subset of five terms for the pair's v_t holds two spurious terms.

    Args:
        folds: blocks of rows for the cross-validation (runs of whole ``groups``).
        min_gain: as :class:`CrossValidatedPath`'s.
        max_steps: at most this many changes.
    """

    folds: int = 5
    min_gain: float = 1e-4
    max_steps: int = 50

    def refine(
        self,
        x: np.ndarray,
        y: np.ndarray,
        chosen: np.ndarray,
        groups: np.ndarray | None = None,
        alternatives: Sequence[np.ndarray] = (),
    ) -> np.ndarray:
        """``chosen`` after the steps and the exchange with ``alternatives`` (boolean supports), on the system
        ``x`` ``(n, p)``, ``y`` ``(n,)``."""
        rule = partial(self._refine, alternatives=alternatives)
        return _on_blocks(rule, x, y, chosen, self.folds, groups)

    def _refine(
        self,
        xn: np.ndarray,
        yn: np.ndarray,
        blocks: list[np.ndarray],
        chosen: np.ndarray,
        alternatives: Sequence[np.ndarray] = (),
    ) -> np.ndarray:
        chosen = self._steps(xn, yn, blocks, chosen)
        rivals = [np.asarray(a, dtype=bool) for a in alternatives if 0 < np.sum(a) <= chosen.sum()]
        if not rivals:
            return chosen
        mean, se = held_out_errors(xn, yn, [chosen, *rivals], blocks)
        better = [r for r in range(len(rivals)) if mean[1 + r] < mean[0] - max(float(se[0]), self.min_gain)]
        if not better:
            return chosen
        rival = rivals[min(better, key=lambda r: (rivals[r].sum(), mean[1 + r]))]
        return self._steps(xn, yn, blocks, rival.copy())

    def _steps(self, xn: np.ndarray, yn: np.ndarray, blocks: list[np.ndarray], chosen: np.ndarray) -> np.ndarray:
        """Single removals and additions from ``chosen`` (changed in place) until neither applies."""
        for _ in range(self.max_steps):
            (current,), (se,) = held_out_errors(xn, yn, [chosen], blocks)
            margin = max(float(se), self.min_gain)
            step = self._best(xn, yn, blocks, chosen, np.flatnonzero(chosen))
            if step is not None and step[0] <= current + margin:
                chosen[step[1]] = False
                continue
            step = self._best(xn, yn, blocks, chosen, np.flatnonzero(~chosen))
            if step is not None and step[0] < current - margin:
                chosen[step[1]] = True
                continue
            break
        return chosen

    @staticmethod
    def _best(
        xn: np.ndarray, yn: np.ndarray, blocks: list[np.ndarray], chosen: np.ndarray, toggles: np.ndarray
    ) -> tuple[float, int] | None:
        """The lowest held-out error among ``chosen`` with one of ``toggles`` flipped, and that term."""
        if len(toggles) == 0:
            return None
        supports = []
        for j in toggles:
            s = chosen.copy()
            s[j] = not s[j]
            supports.append(s)
        mean, _ = held_out_errors(xn, yn, supports, blocks)
        best = int(np.argmin(mean))
        return float(mean[best]), int(toggles[best])


def _on_blocks(
    rule: Callable[[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray], np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    chosen: np.ndarray,
    n_folds: int,
    groups: np.ndarray | None,
) -> np.ndarray:
    """``rule(xn, yn, blocks, chosen)`` on the normalised system and its blocks of rows; ``chosen`` as it is
    where there are too few rows to hold out."""
    chosen = np.asarray(chosen, dtype=bool).copy()
    xn, yn, _, _ = normalise_problem(x, y)
    if len(yn) < 2 * n_folds:
        return chosen
    return rule(xn, yn, folds(len(yn), n_folds, groups), chosen)
