"""Weak-form discovery: the equation integrated against smooth test functions, no derivative of the data taken.

For a test function psi(t, x) that vanishes with its derivatives on the boundary of its support,
``int psi u_t = -int psi_t u`` and ``int psi d^a f(u) = (-1)^|a| int (d^a psi) f(u)``, so a library of
derivatives of monomials, ``d^a (u^k)``, is evaluated by integrating the *data* against derivatives of psi
(Messenger and Bortz, "Weak SINDy for partial differential equations", J. Comput. Phys. 443, 2021). Noise is
averaged out by the integrals and never differentiated.

Test functions are separable products of ``(1 - s^2)^p`` bumps, one per coordinate, centred on a regular
lattice of subdomains; each integral over all subdomains is one matrix product per axis (a convolution with
the test function as its kernel). The support along each axis is chosen from the data: the bump's spectrum
must keep the frequencies where the data's spectrum stands above its noise floor and cut those beyond
(:func:`corner_wavenumber`).

A weak term ``d^a (u^k)`` is a sum of ordinary terms (``(u^2)_x = 2 u*u_x``); the result is reported in the
ordinary term names, so it compares with every other method.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deepmod.data.dataset import Dataset
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.library import CandidateLibrary
from deepmod.method import Method, check_library_size
from deepmod.regression.selection import CrossValidatedPath
from deepmod.result import Result
from deepmod.terms import Factor, Symbols, Term, default_terms, derivative_indices, monomials

Expansion = dict[Term, float]

ROWS_PER_TERM = 20


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


def weak_terms(n_fields: int, n_space: int, poly_order: int, diff_order: int) -> list[WeakTerm]:
    """Monomials up to ``poly_order`` (the constant included) and their derivatives up to ``diff_order``."""
    mons = monomials(n_fields, poly_order, n_space)
    out = [WeakTerm(m, (0,) * n_space) for m in mons]
    for alpha in derivative_indices(n_space, diff_order):
        out.extend(WeakTerm(m, alpha) for m in mons if m.degree > 0)
    return out


def corner_wavenumber(u: np.ndarray, axis: int) -> int:
    """Index of the wavenumber where the data's spectrum along ``axis`` meets its noise floor.

    The cumulative sum of the mean amplitude spectrum rises steeply over the signal's wavenumbers and
    linearly over a flat noise floor; the corner is where two straight lines fit it best (the changepoint
    used by WSINDy). On noise-free data the "floor" is round-off or the resolution limit. The line through
    the end values is taken out first, so a non-periodic record has no jump at the wrap to spread over all
    wavenumbers.
    """
    moved = np.moveaxis(np.asarray(u, dtype=np.float64), axis, -1)
    ramp = np.linspace(0.0, 1.0, moved.shape[-1])
    detrended = moved - moved[..., :1] - (moved[..., -1:] - moved[..., :1]) * ramp  # no jump at the wrap
    spectrum = np.abs(np.fft.rfft(detrended, axis=-1))
    mean = spectrum.reshape(-1, spectrum.shape[-1]).mean(axis=0)
    cum = np.cumsum(mean)
    n = len(cum)
    if n < 5:
        return n - 1
    k = np.arange(n, dtype=np.float64)
    best, corner = np.inf, n - 1
    for c in range(2, n - 2):
        err = 0.0
        for sl in (slice(0, c + 1), slice(c, n)):
            a = np.polyfit(k[sl], cum[sl], 1)
            err += float(np.sum((np.polyval(a, k[sl]) - cum[sl]) ** 2))
        if err < best:
            best, corner = err, c
    return corner


def bump_derivatives(half_width: int, degree: int, orders: int) -> np.ndarray:
    """``(orders + 1, 2 m + 1)``: ``d^a/ds^a (1 - s^2)^degree`` at ``s = j / m``, ``j = -m..m``."""
    poly = np.polynomial.Polynomial([1.0, 0.0, -1.0]) ** degree
    s = np.arange(-half_width, half_width + 1) / half_width
    return np.stack([poly.deriv(a)(s) if a else poly(s) for a in range(orders + 1)])


def support_half_width(n: int, corner: int, degree: int, min_width: int, max_width: int) -> int:
    """Half-width m (grid points) of the bump whose spectrum passes wavenumbers up to ``corner`` and no further.

    ``(1 - s^2)^p`` is close to a Gaussian of standard deviation ``m / sqrt(2 p)`` points, whose spectrum has
    standard deviation ``n / (2 pi sigma)`` wavenumbers; the corner is put at two of those.
    """
    sigma = 2.0 * n / (2.0 * math.pi * max(corner, 1))
    m = round(sigma * math.sqrt(2.0 * degree))
    return int(min(max(m, min_width), max_width))


@dataclass
class AxisTests:
    """The test functions along one axis: ``values[a]`` is ``(n_centres, n_points)`` of the a-th derivative
    (physical units), multiplied by the quadrature weights."""

    values: np.ndarray
    half_width: int
    degree: int
    centres: np.ndarray


def axis_tests(coord: np.ndarray, half_width: int, degree: int, orders: int, stride: int) -> AxisTests:
    """Bumps of ``half_width`` points centred every ``stride`` points, wholly inside the axis."""
    n = len(coord)
    h = np.diff(coord)
    if not np.allclose(h, h[0], rtol=1e-6, atol=0):
        raise InputError("the weak method needs a uniform grid along every coordinate")
    m = half_width
    centres = np.arange(m, n - m, stride)
    if len(centres) == 0:
        raise InputError(f"the grid has too few points ({n}) for test functions of half-width {m}")
    shapes = bump_derivatives(m, degree, orders)
    scale = m * h[0]  # s = (x - c) / scale
    weights = h[0]
    values = np.zeros((orders + 1, len(centres), n))
    for i, c in enumerate(centres):
        for a in range(orders + 1):
            values[a, i, c - m : c + m + 1] = shapes[a] / scale**a * weights
    return AxisTests(values, m, degree, centres)


@dataclass
class WeakForm(Method):
    """Weak-form discovery (WSINDy-style) with automatic test functions and model selection.

    Attributes:
        smoothness: the bump's exponent p is the highest derivative order along its axis plus this. Each
            derivative moved onto the bump must vanish at the support's ends (p above the order), and the
            order of the zero it keeps there sets the quadrature error, about ``m^-(smoothness + 1)`` for a
            support of m points (Euler-Maclaurin): 4 makes it negligible beside noise and the data's own
            discretisation error.
        regressor: sparse regression on the weak system; by default :class:`CrossValidatedPath`.
        min_width, max_width_fraction: bounds on the automatic half-width (points; fraction of the axis).
        stride_fraction: centres every this fraction of the half-width.
    """

    smoothness: int = 4
    regressor: Any = field(default_factory=CrossValidatedPath)
    min_width: int = 4
    max_width_fraction: float = 0.25
    stride_fraction: float = 0.5
    name: str = "weak"

    def run(self, data: Dataset, library: CandidateLibrary, seed: int = 0, device: str = "cpu") -> Result:
        start = time.perf_counter()
        if not data.grid:
            raise InputError("the weak method needs data on a grid; use --method deepmod for scattered samples")
        if data.n_space == 0:
            raise InputError("the weak method is for PDE data (t and at least one space coordinate)")
        symbols = library.symbols
        n_fields, n_space = len(data.field_names), data.n_space
        poly_order, diff_order = _orders(library)
        terms = weak_terms(n_fields, n_space, poly_order, diff_order)
        standard = set(default_terms(n_fields, n_space, poly_order, diff_order))
        custom = [symbols.name(t) for t in library.terms if t not in standard]
        if custom:
            raise InputError(
                f"the weak method builds its own library (derivatives of monomials), so extra terms such as "
                f"{custom[0]} are not supported: use --method deepmod or fd for them"
            )
        fields, coords = _grid_arrays(data)
        tests = self.test_functions(fields, coords, diff_order, len(terms))
        n_rows = int(np.prod([len(a.centres) for a in tests]))
        check_library_size(n_rows, len(terms))
        columns = np.stack([self._integrate(tests, _monomial(t.monomial, fields), (0, *t.alpha)) for t in terms], 1)
        equations, details = [], {}
        for f, _name in enumerate(data.field_names):
            lhs = self._integrate(tests, fields[f], (1,) + (0,) * n_space)
            reg = _clone(self.regressor).fit(columns, lhs)
            coef = np.asarray(reg.coef_, dtype=np.float64)
            combined: Expansion = {}
            for t, c in zip(terms, coef, strict=True):
                if c == 0.0:
                    continue
                for term, k in t.expansion().items():
                    combined[term] = combined.get(term, 0.0) + c * k
            ordered = sorted(combined, key=lambda t: (t.degree, symbols.name(t)))
            equations.append(
                Equation(symbols.lhs(f), {symbols.name(t): float(combined[t]) for t in ordered if combined[t] != 0.0})
            )
            details[symbols.lhs(f)] = {
                "weak_terms": {terms[j].name(symbols): float(coef[j]) for j in np.flatnonzero(coef)},
                "path": getattr(reg, "summary_", None),
            }
        settings = {
            "test_functions": [
                {"axis": n, "half_width_points": a.half_width, "degree": a.degree, "count": len(a.centres)}
                for n, a in zip(data.coord_names, tests, strict=True)
            ],
            "rows": n_rows,
            "weak_library": [t.name(symbols) for t in terms],
            "regressor": repr(self.regressor),
            "selection": details,
        }
        names = sorted({symbols.name(t) for w in terms for t in w.expansion()})
        return Result(equations, self.name, names, "converged", 0, time.perf_counter() - start, settings=settings)

    def test_functions(
        self, fields: list[np.ndarray], coords: list[np.ndarray], diff_order: int, n_terms: int
    ) -> list[AxisTests]:
        """Test functions per axis: supports from the data's spectra; centres every half support, closer
        together where that gives fewer than ``ROWS_PER_TERM`` rows per library term."""
        widths, degrees = [], []
        for axis, coord in enumerate(coords):
            n = len(coord)
            degree = (1 if axis == 0 else diff_order) + self.smoothness
            corner = min(corner_wavenumber(u, axis) for u in fields)
            max_width = max(self.min_width, int(self.max_width_fraction * n))
            widths.append(support_half_width(n, corner, degree, self.min_width, max_width))
            degrees.append(degree)
        strides = [max(1, round(self.stride_fraction * m)) for m in widths]

        def count(axis: int) -> int:
            return len(range(widths[axis], len(coords[axis]) - widths[axis], strides[axis]))

        while np.prod([count(a) for a in range(len(coords))]) < ROWS_PER_TERM * n_terms and max(strides) > 1:
            a = int(np.argmax(strides))
            strides[a] = max(1, int(strides[a] * 0.7))
        return [
            axis_tests(coord, widths[a], degrees[a], 1 if a == 0 else diff_order, strides[a])
            for a, coord in enumerate(coords)
        ]

    @staticmethod
    def _integrate(tests: list[AxisTests], values: np.ndarray, orders: tuple[int, ...]) -> np.ndarray:
        """``(-1)^|a| int (d^a psi) values`` for every test function psi, flattened over the centres."""
        out = values
        for axis, (a, order) in enumerate(zip(tests, orders, strict=True)):
            out = np.moveaxis(np.tensordot(a.values[order], out, axes=([1], [axis])), 0, axis)
        return (-1.0) ** sum(orders) * out.ravel()


def _monomial(term: Term, fields: list[np.ndarray]) -> np.ndarray:
    out = np.ones_like(fields[0])
    for f in term.factors:
        out = out * fields[f.field] ** f.power
    return out


def _clone(regressor: Any) -> Any:
    import copy

    return copy.deepcopy(regressor)


def refit(data: Dataset, library: CandidateLibrary, masks: list[np.ndarray]) -> list[dict[str, float] | None]:
    """Least-squares coefficients of already chosen terms on the weak form of grid data, in physical units.

    Per field, the weak terms ``d^a (monomial)`` whose expansions use only the active terms of ``masks``
    (boolean, over ``library.terms``) become the columns; their fitted coefficients are expanded back into
    the active terms. ``None`` for a field whose active terms these do not span (``u*u_xx``, say, is not a
    derivative of a monomial, nor a custom term), and for every field of scattered or ODE data. The test
    functions are :class:`WeakForm`'s, for the weak library of ``library``'s orders.
    """
    if not data.grid or data.n_space == 0:
        return [None] * len(masks)
    poly_order, diff_order = _orders(library)
    terms = weak_terms(len(data.field_names), data.n_space, poly_order, diff_order)
    expansions = [w.expansion() for w in terms]
    fields, coords = _grid_arrays(data)
    method = WeakForm()
    tests = method.test_functions(fields, coords, diff_order, len(terms))
    n_rows = int(np.prod([len(a.centres) for a in tests]))
    lhs_orders = (1,) + (0,) * data.n_space
    out: list[dict[str, float] | None] = []
    for f, mask in enumerate(masks):
        active = [library.terms[j] for j in np.flatnonzero(mask)]
        chosen = [k for k, e in enumerate(expansions) if set(e) <= set(active)]
        spread = np.array([[expansions[k].get(t, 0.0) for t in active] for k in chosen]).reshape(len(chosen), -1)
        if not active or np.linalg.matrix_rank(spread) < len(active) or n_rows < ROWS_PER_TERM * len(chosen):
            out.append(None)
            continue
        columns = np.stack(
            [method._integrate(tests, _monomial(terms[k].monomial, fields), (0, *terms[k].alpha)) for k in chosen], 1
        )
        coef = np.linalg.lstsq(columns, method._integrate(tests, fields[f], lhs_orders), rcond=None)[0] @ spread
        out.append({library.symbols.name(t): float(c) for t, c in zip(active, coef, strict=True)})
    return out


def _orders(library: CandidateLibrary) -> tuple[int, int]:
    """The library's highest field power and derivative order (2 and 4 for a library that names neither)."""
    return getattr(library, "poly_order", 2), getattr(library, "diff_order", 4)


def _grid_arrays(data: Dataset) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The fields and the coordinates of grid data as float64 arrays, in the data's order."""
    fields = [np.asarray(data.fields[name], dtype=np.float64) for name in data.field_names]
    coords = [np.asarray(data.coords[name], dtype=np.float64) for name in data.coord_names]
    return fields, coords


__all__ = [
    "WeakForm",
    "WeakTerm",
    "corner_wavenumber",
    "expand_derivative",
    "refit",
    "weak_terms",
]
