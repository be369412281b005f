"""The judges: what deepmod says about trusting a model, each judgement a small function or dataclass.

- :func:`selection_warnings`, :func:`dense_warning`: a selection whose model predicts held-out rows poorly or
  keeps most of the candidates.
- :func:`fit_warnings`: a network fitted far above the data's noise, training stopped by its cap.
- :func:`equation_rates` (:class:`Rates`): the data's time derivatives against a model's right-hand sides, the
  rates behind :meth:`deepmod.estimator.Model.predict` and ``score`` and the report's residual map.
- :func:`weak_residual` (:class:`WeakResidual`): a model judged on the weak form, no derivative of the data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepmod.data.dataset import Dataset
from deepmod.derivatives.bumps import BumpRule
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.library import right_hand_sides
from deepmod.regression.system import FittedEquation, RegressionSystem
from deepmod.systems.pointwise import SmoothingPlan, grid_values
from deepmod.systems.weak import as_weak_term, expand_derivative, grid_arrays, monomial_values
from deepmod.terms import Symbols

UNEXPLAINED = 0.5
"""A chosen model that leaves this fraction of the held-out rows' mean square unexplained is no law."""


def selection_warnings(systems: Sequence[RegressionSystem], fits: Sequence[FittedEquation]) -> list[str]:
    """What a selection along a path says about trusting its models (weak and fd methods): per equation, a
    chosen model that predicts held-out rows poorly (more than :data:`UNEXPLAINED` of their mean square left;
    pure noise leaves all of it), and one that keeps more than half of the candidates."""
    out = []
    for system, fit in zip(systems, fits, strict=True):
        lhs, n, chosen = system.lhs, len(system.names), sorted(np.flatnonzero(fit.coefficients).tolist())
        picked = [c for c in fit.path or [] if sorted(c["terms"]) == chosen]
        if chosen and picked and picked[0]["cv_error"] > UNEXPLAINED:
            share = max(0.0, 1.0 - picked[0]["cv_error"])
            out.append(
                f"{lhs}: the chosen terms predict only {share:.0%} of the held-out rows' variance: the data may "
                "be mostly noise, or the library lacks the terms that matter"
            )
        out.extend(dense_warning(lhs, len(chosen), n))
    return out


def dense_warning(lhs: str, kept: int, candidates: int) -> list[str]:
    """A warning when an equation keeps more than half of at least four candidate terms (every method)."""
    if candidates < 4 or kept <= candidates / 2:
        return []
    return [
        f"{lhs}: {kept} of the {candidates} candidate terms were kept; so dense a model is rarely the law "
        "behind the data: try a smaller library (lower poly_order or diff_order)"
    ]


FAR, UNRESOLVED, NOISE_FREE = 2.0, 0.1, 1e-6
"""A network's fit is far off when its RMS misfit exceeds ``FAR`` times the noise level and the misfit beyond
the noise exceeds ``UNRESOLVED`` of the field's standard deviation; data whose noise is under ``NOISE_FREE`` of
their standard deviation look noise-free."""


def fit_warnings(
    fit: dict[str, dict[str, float]], status: str, max_iterations: int, *, checked: bool = False
) -> list[str]:
    """What to tell the user about a network's fit (``fit``: per field, ``rms_misfit``, ``noise`` and ``std``):
    a field fitted far above the noise (RMS misfit over twice the noise level, and more than 10 % of the
    field's standard deviation beyond it), training stopped by its iteration cap (``status``
    ``"max_iterations"``). ``checked``: the terms were confirmed on the data's weak form."""
    out = []
    for name, f in fit.items():
        rms, noise, std = f["rms_misfit"], f["noise"], f["std"]
        beyond = np.sqrt(max(rms**2 - noise**2, 0.0))
        if rms > FAR * noise and beyond > UNRESOLVED * std:
            trust = (
                "the terms were confirmed on the data's weak form, but proposals from a network this far off can "
                "miss terms"
                if checked
                else "so the terms chosen on its derivatives are not to be trusted"
            )
            level = (
                f"{rms / noise:.1f} times the data's noise level ({noise:.3g})"
                if noise > NOISE_FREE * std
                else f"while the data look noise-free (noise level {noise:.3g})"
            )
            out.append(
                f"the network fits {name} with an RMS misfit of {rms:.3g}, {level}: it does not resolve the field "
                f"(chaotic, or many cells in space and time, say); {trust}; the weak method, which integrates the "
                "data directly, suits such data"
            )
    if status == "max_iterations":
        out.append(
            f"training stopped at its iteration cap ({max_iterations}) before the selection settled: "
            "the equation may not be final"
        )
    return out


@dataclass(frozen=True)
class Rates:
    """The data's time derivatives and a model's right-hand sides at the interior points of a grid.

    Attributes:
        observed: per field, u_t from Savitzky-Golay derivatives whose windows follow the noise floor.
        predicted: per field, the equation's right-hand side from the same derivatives (zeros without one).
        interior: the data trimmed to those points.
    """

    observed: list[np.ndarray]
    predicted: list[np.ndarray]
    interior: Dataset

    @property
    def relative_residual(self) -> float:
        """``||observed - predicted|| / ||observed||`` over all fields and points."""
        return relative_size(self.observed, self.predicted)


def relative_size(observed: Sequence[np.ndarray], predicted: Sequence[np.ndarray]) -> float:
    """``||observed - predicted|| / ||observed||`` over every array of both lists (NaN when ``observed`` is 0)."""
    residual = sum(float(np.sum((a - b) ** 2)) for a, b in zip(observed, predicted, strict=True))
    total = sum(float(np.sum(a**2)) for a in observed)
    return math.sqrt(residual / total) if total > 0 else math.nan


def equation_rates(data: Dataset, equations: Sequence[Equation], symbols: Symbols) -> Rates:
    """The time derivatives of grid ``data`` and the right-hand sides of ``equations`` on it (see
    :class:`Rates`): how well a model explains the data's rates, with no simulation."""
    if not data.grid:
        raise InputError("rates of the data need a grid (one axis per coordinate)")
    names = list(data.field_names)
    fields = [np.asarray(data.fields[n], dtype=np.float64) for n in names]
    coords = [np.asarray(data.coords[c], dtype=np.float64) for c in data.coord_names]
    rhs_terms = right_hand_sides(equations, symbols, names)
    needed = set().union(*(evaluator.required() for evaluator, _ in rhs_terms))
    max_orders = [1] + [max((d[k] for _, d in needed), default=0) for k in range(data.n_space)]
    n_targets = len(rhs_terms)  # the fields with an equation come first
    plan = SmoothingPlan.fit(fields, coords, max_orders, n_targets)
    inner = plan.interior
    values = grid_values(needed, plan, lambda a: a[inner])
    observed = [plan.derivative(u, (1,) + (0,) * data.n_space)[inner] for u in fields[:n_targets]]
    predicted = [
        evaluator.combine(values, c, like=u_t) for (evaluator, c), u_t in zip(rhs_terms, observed, strict=True)
    ]
    interior = Dataset(
        {c: coords[k][inner[k]] for k, c in enumerate(data.coord_names)},
        {n: fields[k][inner] for k, n in enumerate(names)},
        grid=True,
        inputs=tuple(symbols.inputs),
    )
    return Rates(observed, predicted, interior)


@dataclass(frozen=True)
class WeakResidual:
    """A model judged on the weak form, the weak method's own measure: per field, the data's integrals
    ``-int psi_t u`` (``target``) against the model's right-hand side integrated against the same test
    functions (``model``), one value per test function.

    Attributes:
        target, model: per field, ``(n_test_functions,)``.
        n_rows: the number of test functions.
        relative_residual: ``||target - model|| / ||target||`` over all fields and test functions.
    """

    target: list[np.ndarray]
    model: list[np.ndarray]
    n_rows: int
    relative_residual: float


def weak_residual(data: Dataset, equations: Sequence[Equation], symbols: Symbols) -> WeakResidual | None:
    """The model on the weak form of ``data`` (:class:`WeakResidual`; the weak method's test-function rule, no
    derivative of the data). ``None`` where a term is no derivative of a monomial, or the data are not a PDE
    grid."""
    if not data.grid or data.n_space == 0:
        return None
    fields, coords = grid_arrays(data)
    weak = []
    for eq in equations:
        parts = []
        for name, c in eq.coefficients.items():
            term = symbols.parse(name)
            w = as_weak_term(term, len(fields), data.n_space)
            if w is None:
                return None
            parts.append((w, c / expand_derivative(w.monomial, w.alpha)[term]))
        weak.append(parts)
    order = max([1, *(max(w.alpha, default=0) for parts in weak for w, _ in parts)])
    bumps = BumpRule().build(fields[: len(weak)], coords, order, max(1, max(len(p) for p in weak)))
    lhs_orders = (1,) + (0,) * data.n_space
    targets, models = [], []
    for f, parts in enumerate(weak):
        target = bumps.integrate(fields[f], lhs_orders)
        model = sum(
            (c * bumps.integrate(monomial_values(w.monomial, fields, coords), (0, *w.alpha)) for w, c in parts),
            np.zeros_like(target),
        )
        targets.append(target)
        models.append(model)
    return WeakResidual(targets, models, bumps.n_rows, relative_size(targets, models))


__all__ = [
    "UNEXPLAINED",
    "Rates",
    "WeakResidual",
    "dense_warning",
    "equation_rates",
    "fit_warnings",
    "selection_warnings",
    "weak_residual",
]
