"""The one regression problem every method produces, b = Theta xi with named columns, and the one step that
turns such systems and a sparse regressor into equations.

A method is a producer of :class:`RegressionSystem` s: DeepMoD from network jets (inside its training loss),
the fd method from stencils, the weak method from test-function integrals, the universal ODE from its network
term along the trajectory. Selection, coefficients in physical units and the equation's text are then the same
code for all of them: :func:`fit_equations` and :meth:`RegressionSystem.equation`.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from deepmod.equation import Equation
from deepmod.regression.noise import RowNoise, Stacked, corrected_lstsq


@dataclass(frozen=True, eq=False)
class RegressionSystem:
    """``target = theta @ xi`` for one left-hand side.

    Attributes:
        theta: ``(n_rows, n_columns)`` candidate columns.
        target: ``(n_rows,)`` the left-hand side's values (u_t, its integrals, ...).
        names: the columns' names, in the term-naming convention (``u*u_x``) or the producer's own
            (``(u^2)_x`` for a weak column).
        lhs: the left-hand side, ``u_t``.
        groups: ``(n_rows,)`` labels of row blocks that cross-validation must keep together (rows of one time
            or one test-function centre are correlated); ``None``: rows in order, cut into contiguous blocks.
        expansions: per column, the ordinary terms it stands for with their factors (``(u^2)_x`` is
            ``{"u*u_x": 2.0}``); ``None``: each column is the term of its name.
        term_order: the order in which the equation lists expanded terms; ``None``: order of first appearance.
        noise: each row's noise covariance of the columns and target, where the producer knows it (columns of
            noisy data's monomials); regressors that take it correct their coefficients for it
            (:mod:`deepmod.regression.noise`).
    """

    theta: np.ndarray
    target: np.ndarray
    names: tuple[str, ...]
    lhs: str
    groups: np.ndarray | None = None
    expansions: tuple[Mapping[str, float], ...] | None = None
    term_order: tuple[str, ...] | None = None
    noise: RowNoise | None = None

    def __post_init__(self) -> None:
        if self.theta.ndim != 2 or self.target.shape != (self.theta.shape[0],):
            raise ValueError(f"theta {self.theta.shape} and target {self.target.shape} do not form a system")
        if len(self.names) != self.theta.shape[1]:
            raise ValueError(f"{len(self.names)} names for {self.theta.shape[1]} columns")
        if self.groups is not None and self.groups.shape != self.target.shape:
            raise ValueError(f"groups {self.groups.shape} do not label the {len(self.target)} rows")

    @property
    def n_rows(self) -> int:
        return int(self.theta.shape[0])

    def equation(self, coefficients: Sequence[float] | np.ndarray) -> Equation:
        """The equation of one coefficient per column: expanded into ordinary terms, zeros left out."""
        coef = np.asarray(coefficients, dtype=np.float64)
        if self.expansions is None:
            return Equation(self.lhs, {self.names[j]: float(coef[j]) for j in np.flatnonzero(coef)})
        combined: dict[str, float] = {}
        for c, expansion in zip(coef, self.expansions, strict=True):
            if c == 0.0:
                continue
            for term, k in expansion.items():
                combined[term] = combined.get(term, 0.0) + c * k
        order = self.term_order if self.term_order is not None else tuple(combined)
        return Equation(self.lhs, {t: float(combined[t]) for t in order if combined.get(t, 0.0) != 0.0})

    def taken(self, rows: np.ndarray) -> RegressionSystem:
        """The system on these rows (indices, repeats allowed), each with its block label."""
        groups = None if self.groups is None else self.groups[rows]
        if groups is None:  # contiguous blocks of the original order, as cross-validation would cut them
            groups = np.arange(self.n_rows)[rows]
        noise = None if self.noise is None else self.noise.taken(rows)
        return dataclasses.replace(self, theta=self.theta[rows], target=self.target[rows], groups=groups, noise=noise)

    def restricted(self, columns: Sequence[int]) -> RegressionSystem:
        """The system on these columns only."""
        idx = list(columns)
        expansions = None if self.expansions is None else tuple(self.expansions[j] for j in idx)
        return RegressionSystem(
            self.theta[:, idx],
            self.target,
            tuple(self.names[j] for j in idx),
            self.lhs,
            self.groups,
            expansions,
            self.term_order,
            None if self.noise is None else self.noise.restricted(idx),
        )


def stacked(systems: Sequence[RegressionSystem]) -> RegressionSystem:
    """One system of the rows of several with the same columns and left-hand side (one per trajectory of a
    record): each keeps its row blocks (no block spans two), and the first's names and expansions hold."""
    first = systems[0]
    if len(systems) == 1:
        return first
    groups, offset = [], 0
    for s in systems:
        if s.names != first.names or s.lhs != first.lhs:
            raise ValueError("only systems with the same columns and left-hand side stack")
        g = np.arange(s.n_rows) if s.groups is None else np.unique(s.groups, return_inverse=True)[1]
        groups.append(g + offset)
        offset += int(g.max()) + 1
    return RegressionSystem(
        np.concatenate([s.theta for s in systems]),
        np.concatenate([s.target for s in systems]),
        first.names,
        first.lhs,
        np.concatenate(groups),
        first.expansions,
        first.term_order,
        _stacked_noise([s.noise for s in systems]),
    )


def _stacked_noise(parts: Sequence[RowNoise | None]) -> RowNoise | None:
    known = [p for p in parts if p is not None]
    return Stacked(tuple(known)) if len(known) == len(parts) else None


@dataclass(frozen=True)
class FittedEquation:
    """One system's outcome: the equation, the coefficient of every column (zeros where inactive) and the
    regressor's account of its choice (``summary_``: the selection path, where it keeps one)."""

    equation: Equation
    coefficients: np.ndarray
    path: Any = None


def fit_equations(systems: Sequence[RegressionSystem], regressor: Any) -> list[FittedEquation]:
    """Fit each system with a fresh copy of ``regressor`` (scikit-learn contract: ``fit(X, y)``, ``coef_``;
    a regressor whose ``fit`` takes ``groups`` gets the system's row blocks, one that takes ``noise`` its
    rows' noise) and read off its equation."""
    out = []
    for system in systems:
        reg, coef = fit_copy(regressor, system.theta, system.target, system.groups, system.noise)
        out.append(FittedEquation(system.equation(coef), coef, getattr(reg, "summary_", None)))
    return out


def fit_copy(
    regressor: Any, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None, noise: RowNoise | None = None
) -> tuple[Any, np.ndarray]:
    """A fresh copy of ``regressor`` fitted to ``x``, ``y`` (with ``groups`` and ``noise`` where its ``fit``
    takes them), and its coefficients as a float vector, checked to have one per column."""
    reg = copy.deepcopy(regressor)
    takes = inspect.signature(reg.fit).parameters
    extra: dict[str, Any] = {}
    if groups is not None and "groups" in takes:
        extra["groups"] = groups
    if noise is not None and "noise" in takes:
        extra["noise"] = noise
    reg.fit(x, y, **extra)
    coef = np.asarray(reg.coef_, dtype=np.float64).ravel()
    if coef.shape != (x.shape[1],):
        raise ValueError(f"the regressor's coef_ has shape {coef.shape}, expected ({x.shape[1]},)")
    return reg, coef


class LeastSquaresFit:
    """Least squares on every column: the regressor of a refit, where the terms are already chosen; corrected
    for the columns' noise where the system knows it (:func:`~deepmod.regression.noise.corrected_lstsq`)."""

    def fit(self, x: np.ndarray, y: np.ndarray, noise: RowNoise | None = None) -> LeastSquaresFit:
        self.coef_ = corrected_lstsq(x, y, np.ones(x.shape[1], dtype=bool), noise)
        return self


__all__ = ["FittedEquation", "LeastSquaresFit", "RegressionSystem", "fit_equations", "stacked"]
