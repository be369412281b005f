"""The weak form's systems: the equation integrated against smooth test functions, no derivative of the data
taken.

For a test function psi(t, x) that vanishes with its derivatives on the boundary of its support,
``int psi u_t = -int psi_t u`` and ``int psi d^a f(u) = (-1)^|a| int (d^a psi) f(u)``, so a library of
derivatives of monomials, ``d^a (u^k)``, is evaluated by integrating the *data* against derivatives of psi
(Messenger and Bortz, "Weak SINDy for partial differential equations", J. Comput. Phys. 443, 2021). Noise is
averaged out by the integrals and never differentiated.

The test functions are :mod:`deepmod.derivatives.bumps`' separable bumps, supports chosen from the data's
spectrum. The weak library is made from the user's library: the derivatives of monomials up to its orders,
and every extra term that is itself a derivative of a monomial (``u^2*u_x = (u^3)_x / 3``, ``u^3``,
``u_xxxx``); a term that is not (``u_x^2``) cannot be integrated by parts alone and is refused. A weak term
``d^a (u^k)`` is a sum of ordinary terms (``(u^2)_x = 2 u*u_x``); each column of the weak
:class:`~deepmod.regression.RegressionSystem` carries its expansion, so the result is reported in the
ordinary term names and compares with every other method.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from deepmod.data.dataset import Dataset
from deepmod.derivatives.bumps import BumpRule, Bumps, corner_wavenumber
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.library import CandidateLibrary, TermEvaluator, coordinate_values, finite_columns
from deepmod.regression.system import FittedEquation, LeastSquaresFit, RegressionSystem, fit_equations, stacked
from deepmod.result import SelectionEvidence, WeakSelectionEvidence
from deepmod.systems.base import Bootstrap, Produced, Progress, SystemProducer, check_library_size, require_grid
from deepmod.systems.noise import WeakColumn, WeakNoise, noise_variances, unbiased_power
from deepmod.terms import Factor, Symbols, Term, default_terms, derivative_indices, monomials

Expansion = dict[Term, float]


def differentiate_term(term: Term, axis: int, n_space: int) -> Expansion:
    """d/dx_axis of a product of factors by the product rule, as ``{term: coefficient}``."""
    out: Expansion = {}
    for i, f in enumerate(term.factors):
        step = tuple(d + (1 if k == axis else 0) for k, d in enumerate(f.derivative))
        new = Term.of((*term.reduced(i).factors, Factor(f.field, step)))
        out[new] = out.get(new, 0.0) + float(f.power)
    return {t: c for t, c in out.items() if c != 0.0}


def expand_derivative(monomial: Term, alpha: tuple[int, ...]) -> Expansion:
    """``d^alpha (monomial)`` as ordinary terms: ``(u^2)_xx = 2 u_x^2 + 2 u*u_xx``."""
    current: Expansion = {monomial: 1.0}
    n_space = len(alpha)
    for axis, times in enumerate(alpha):
        for _ in range(times):
            nxt: Expansion = {}
            for t, c in current.items():
                for t2, c2 in differentiate_term(t, axis, n_space).items():
                    nxt[t2] = nxt.get(t2, 0.0) + c * c2
            current = nxt
    return current


@dataclass(frozen=True)
class WeakTerm:
    """``d^alpha (monomial)``: the monomial is evaluated on the data, the derivative moves to the test function."""

    monomial: Term
    alpha: tuple[int, ...]

    def expansion(self) -> Expansion:
        return expand_derivative(self.monomial, self.alpha)

    def name(self, symbols: Symbols) -> str:
        inner = symbols.name(self.monomial)
        if not any(self.alpha):
            return inner
        axes = "".join(symbols.space[k] * n for k, n in enumerate(self.alpha))
        return f"({inner})_{axes}" if self.monomial.degree > 1 else f"{inner}_{axes}"


def weak_terms(
    n_fields: int, n_space: int, poly_order: int, diff_order: int, n_targets: int | None = None
) -> list[WeakTerm]:
    """Monomials up to ``poly_order`` (the constant included) and their derivatives up to ``diff_order``;
    only monomials of the first ``n_targets`` fields (all by default; the rest are inputs) are differentiated,
    as in :func:`~deepmod.terms.default_terms`."""
    mons = monomials(n_fields, poly_order, n_space)
    out = [WeakTerm(m, (0,) * n_space) for m in mons]
    n_targets = n_fields if n_targets is None else n_targets
    for alpha in derivative_indices(n_space, diff_order):
        out.extend(WeakTerm(m, alpha) for m in mons if m.degree > 0 and all(f.field < n_targets for f in m.factors))
    return out


def weak_library(library: CandidateLibrary, n_fields: int, n_space: int) -> list[WeakTerm]:
    """The weak library of ``library``: the derivatives of monomials up to its orders, then its extra terms that
    are derivatives of a monomial (:func:`as_weak_term`).

    Raises:
        InputError: for an extra term that is not a derivative of a monomial.
    """
    poly_order, diff_order = library.poly_order, library.diff_order
    n_targets = len(library.symbols.targets)
    terms = weak_terms(n_fields, n_space, poly_order, diff_order, n_targets)
    standard = set(default_terms(n_fields, n_space, poly_order, diff_order, n_targets))
    for term in library.terms:
        if term in standard:
            continue
        weak = as_weak_term(term, n_fields, n_space)
        if weak is None:
            raise InputError(
                f"the weak form integrates derivatives of monomials, and {library.symbols.name(term)} is none: "
                "use the deepmod or fd method for it",
                options=("method", "terms"),
            )
        if weak not in terms:
            terms.append(weak)
    return terms


def as_weak_term(term: Term, n_fields: int, n_space: int) -> WeakTerm | None:
    """``term`` as ``d^a (monomial)`` up to a constant factor (``u^2*u_x = (u^3)_x / 3``), or ``None``.

    The monomial has the term's degree and ``a`` its total derivative orders; a term is one when the
    derivative of the monomial expands to that single term. A term with no derivative is its own weak term,
    whatever its factors (``x^2*b``, ``sin(u)``, ``u^-1``); one with a derivative must be a polynomial.
    """
    if term.max_order == 0:
        return WeakTerm(term, (0,) * n_space)
    if not term.polynomial:
        return None
    alpha = tuple(sum(f.derivative[k] * f.power for f in term.factors) for k in range(n_space))
    for combo in itertools.combinations_with_replacement(range(n_fields), term.degree):
        monomial = Term.of(Factor(f, (0,) * n_space) for f in combo)
        if set(expand_derivative(monomial, alpha)) == {term}:
            return WeakTerm(monomial, alpha)
    return None


def weak_systems(
    data: Dataset,
    library: CandidateLibrary,
    terms: Sequence[WeakTerm],
    bumps: Bumps,
    variances: Sequence[float] | None = None,
) -> list[RegressionSystem]:
    """One weak system per field: columns ``(-1)^|a| int (d^a psi) monomial``, target ``-int psi_t u``, one row
    per test function, grouped by time centre; each column carries the expansion of its weak term. With the
    fields' noise ``variances``, each monomial is its unbiased estimate and each system knows its rows' noise
    covariance (:class:`~deepmod.systems.noise.WeakNoise`), so its coefficients are corrected for the noise in
    the columns (:mod:`deepmod.systems.noise`)."""
    symbols = library.symbols
    fields, coords = grid_arrays(data)
    integrals = []
    for t in terms:
        values = monomial_values(t.monomial, fields, coords, variances)
        finite_columns(values.reshape(-1, 1), [t.name(symbols)])
        integrals.append(bumps.integrate(values, (0, *t.alpha)))
    columns = np.stack(integrals, 1)
    expansions = tuple({symbols.name(k): c for k, c in t.expansion().items()} for t in terms)
    every = {k for t in terms for k in t.expansion()}
    order = tuple(symbols.name(t) for t in sorted(every, key=lambda t: (t.degree, symbols.name(t))))
    names = tuple(t.name(symbols) for t in terms)
    lhs_orders = (1,) + (0,) * data.n_space
    weak = [WeakColumn.of(t.monomial, (0, *t.alpha), coords) for t in terms] if variances is not None else []
    return [
        RegressionSystem(
            columns,
            bumps.integrate(fields[f], lhs_orders),
            names,
            symbols.lhs(f),
            bumps.row_groups(),
            expansions,
            order,
            None
            if variances is None
            else WeakNoise(tuple(fields), tuple(variances), bumps, (*weak, WeakColumn(((f, 1),), lhs_orders))),
        )
        for f in range(len(data.targets))
    ]


@dataclass(frozen=True)
class WeakSystems(SystemProducer):
    """The weak systems of grid data (:func:`weak_systems`), test functions chosen per trajectory from its
    spectrum, the rows of every trajectory stacked.

    Attributes:
        bumps: how the test functions are chosen (:class:`~deepmod.derivatives.bumps.BumpRule`).
        noise_correction: on space-time grids, replace each monomial of the noisy fields by its unbiased
            estimate, the noise variance of each field read off its spectrum (:mod:`deepmod.systems.noise`), and
            give each system its rows' noise covariance. Time series are left as they are: their spectral floor
            overestimates the noise (up to 40 times on short records).
    """

    name: ClassVar[str] = "weak"
    refit_label: ClassVar[str] = "weak form"
    evidence: ClassVar[type[SelectionEvidence]] = WeakSelectionEvidence

    bumps: BumpRule = field(default_factory=BumpRule)
    noise_correction: bool = True

    def produce(
        self, data: Dataset, library: CandidateLibrary, rows: Bootstrap | None = None, progress: Progress | None = None
    ) -> Produced:
        require_grid(data, "weak")
        symbols = library.symbols
        terms = weak_library(library, len(data.field_names), data.n_space)
        order = max([library.diff_order, *(max(t.alpha, default=0) for t in terms)])  # extra terms may go beyond it
        # on a time series the spectral floor is no noise estimate: signal leaks into it (3 to 40 times the
        # noise on the 31-point Lotka-Volterra record, 1.6 to 4.9 times on Lorenz at 1 %), so only grids
        correct = self.noise_correction and data.n_space > 0
        per_run, noise = [], []
        for run in data.trajectories:  # each run its own test functions and noise; the rows stacked
            fields, coords = grid_arrays(run)
            bumps = self.bumps.build(fields[: len(data.targets)], coords, order, len(terms))
            variances = noise_variances(fields)
            noise.append(np.sqrt(variances))
            per_run.append((bumps, weak_systems(run, library, terms, bumps, variances if correct else None)))
        systems = [stacked(list(same)) for same in zip(*(s for _, s in per_run), strict=True)]
        check_library_size(systems[0].n_rows, len(terms))
        if rows is not None:  # an ensemble member: a draw of the test functions
            systems = rows.systems(systems)
        settings = {
            "test_functions": per_run[0][0].describe(data.coord_names),
            "rows": systems[0].n_rows,
            "noise_std": {n: float(np.mean([s[k] for s in noise])) for k, n in enumerate(data.field_names)},
            "noise_correction": correct,
            "weak_library": [t.name(symbols) for t in terms],
        }
        names = sorted({symbols.name(t) for w in terms for t in w.expansion()})
        return Produced(systems, settings, names)

    def refit(
        self, data: Dataset, library: CandidateLibrary, supports: Sequence[Sequence[str]]
    ) -> list[Equation] | None:
        """:meth:`refit_fields` on all the rows; ``None`` unless every field's terms are refitted."""
        fitted = self.refit_fields(data, library, supports)
        return None if any(eq is None for eq in fitted) else [eq for eq in fitted if eq is not None]

    def refit_fields(
        self, data: Dataset, library: CandidateLibrary, supports: Sequence[Sequence[str]], rows: Bootstrap | None = None
    ) -> list[Equation | None]:
        """:func:`refit` of terms given by name (one list per field, in field order) with these test functions
        and noise correction (on ``rows``, an ensemble member's draw of them), one equation per field; ``None``
        for a field whose terms are not refitted."""
        symbols = library.symbols
        chosen = [[symbols.parse(n) for n in names] for names in supports]
        fitted = refit(data, library, chosen, self.bumps, self.noise_correction, rows)
        return [None if f is None else Equation(symbols.lhs(k), f) for k, f in enumerate(fitted)]

    def fitted_settings(self, systems: Sequence[RegressionSystem], fits: Sequence[FittedEquation]) -> dict[str, Any]:
        """The coefficients of the weak terms themselves (``(u^2)_x``), before their expansion."""
        return {
            "weak_terms": {
                s.lhs: {s.names[j]: float(f.coefficients[j]) for j in np.flatnonzero(f.coefficients)}
                for s, f in zip(systems, fits, strict=True)
            }
        }


def monomial_values(
    term: Term, fields: list[np.ndarray], coords: Sequence[np.ndarray], variances: Sequence[float] | None = None
) -> np.ndarray:
    """The values on the grid of an underived term of the fields and coordinates (axes ``coords``). With the
    fields' noise ``variances``, each positive power of a field is its unbiased estimate
    (:func:`~deepmod.systems.noise.unbiased_power`); coordinates, functions and reciprocals stay as they are."""
    corrected = None
    if variances is not None:
        corrected = np.ones_like(fields[0], dtype=np.float64)
        rest = []
        for f in term.factors:
            if f.plain and not any(f.derivative):
                corrected = corrected * unbiased_power(fields[f.field], f.power, variances[f.field])
            else:
                rest.append(f)
        if not rest:
            return corrected
        term = Term.of(rest)
    keys = {(f.field, f.derivative) for f in term.factors}
    values = {k: fields[k[0]] for k in keys if k[0] >= 0}
    if len(values) < len(keys):
        values.update(coordinate_values(keys, np.meshgrid(*coords, indexing="ij")))
    column = TermEvaluator([term]).columns(values, like=fields[0])[0]
    return column if corrected is None else corrected * column


def refit(
    data: Dataset,
    library: CandidateLibrary,
    supports: Sequence[Sequence[Term]],
    rule: BumpRule | None = None,
    noise_correction: bool = True,
    bootstrap: Bootstrap | None = None,
) -> list[dict[str, float] | None]:
    """Least-squares coefficients of already chosen terms on the weak form of grid data, in physical units.

    Per field, the weak terms ``d^a (monomial)`` whose expansions use only the chosen terms (``supports``, one
    list per field) become the columns; their fitted coefficients are expanded back into the chosen terms.
    ``None`` for a field whose chosen terms these do not span (``u*u_xx``, say, is not a derivative of a
    monomial, nor a custom term), and for every field of scattered or ODE data. The test functions follow
    ``rule`` (the weak method's by default), for the weak library of ``library``'s orders; the monomials of
    noisy fields are corrected for the noise's bias as in :class:`WeakSystems`. With ``bootstrap`` (an ensemble
    member), on its draw of the test functions.
    """
    if not data.grid or data.n_space == 0:
        return [None] * len(supports)
    terms = weak_terms(
        len(data.field_names), data.n_space, library.poly_order, library.diff_order, len(library.symbols.targets)
    )
    fields, coords = grid_arrays(data)
    rule = BumpRule() if rule is None else rule
    bumps = rule.build(fields[: len(data.targets)], coords, library.diff_order, len(terms))
    systems = weak_systems(data, library, terms, bumps, noise_variances(fields) if noise_correction else None)
    if bootstrap is not None:
        systems = bootstrap.systems(systems)
    out: list[dict[str, float] | None] = []
    for f, support in enumerate(supports):
        active = list(support)
        chosen, spread = spanned(terms, active)
        if not active or np.linalg.matrix_rank(spread) < len(active) or bumps.n_rows < rule.rows_per_term * len(chosen):
            out.append(None)
            continue
        names = tuple(library.symbols.name(t) for t in active)
        system = systems[f].restricted(chosen)
        fitted = fit_equations([system], LeastSquaresFit())[0].coefficients
        out.append(dict(zip(names, (fitted @ spread).tolist(), strict=True)))
    return out


def spanned(weak: Sequence[WeakTerm], terms: Sequence[Term]) -> tuple[list[int], np.ndarray]:
    """The weak terms whose expansions use only ``terms``: their indices in ``weak`` and their expansion
    coefficients over ``terms``, ``(n_chosen, len(terms))``."""
    expansions = [w.expansion() for w in weak]
    chosen = [k for k, e in enumerate(expansions) if set(e) <= set(terms)]
    rows = [[expansions[k].get(t, 0.0) for t in terms] for k in chosen]
    return chosen, np.array(rows, dtype=np.float64).reshape(len(chosen), len(terms))


def grid_arrays(data: Dataset) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The fields and the coordinates of grid data as float64 arrays, in the data's order."""
    fields = [np.asarray(data.fields[name], dtype=np.float64) for name in data.field_names]
    coords = [np.asarray(data.coords[name], dtype=np.float64) for name in data.coord_names]
    return fields, coords


__all__ = [
    "WeakSystems",
    "WeakTerm",
    "as_weak_term",
    "corner_wavenumber",
    "expand_derivative",
    "grid_arrays",
    "refit",
    "spanned",
    "weak_library",
    "weak_systems",
    "weak_terms",
]
