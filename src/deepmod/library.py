"""Candidate libraries and the one term evaluator: columns of Theta from derivative values, for any source.

A term is a product of powers of fields and their derivatives (:mod:`deepmod.terms`). :class:`TermEvaluator`
multiplies derivative values, numpy arrays or torch tensors (gradients flow), into the term values; every
room that evaluates terms uses it: the libraries of every method (network jets, stencils, monomials of the
data for weak integrals), the simulator's right-hand side and Jacobian, the report and the ODE vector fields.
A library knows its terms and names; :meth:`CandidateLibrary.evaluate` gives Theta ``(n_points, n_terms)``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from deepmod.data.dataset import Dataset
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.terms import Factor, Symbols, Term, default_terms, required_derivatives

DerivativeKey = tuple[int, tuple[int, ...]]
"""(field index, spatial multi-index): ``(0, (2,))`` is u_xx."""

Values = Mapping[DerivativeKey, Any]
"""Derivative values by key, all numpy arrays or all torch tensors of one shape."""


class TermEvaluator:
    """Values of products of powers of factors, ``prod_k F_k(d_k)^p_k``, from a mapping of derivative values.

    ``d_k`` is a field's derivative, a field or a coordinate (a negative key, :class:`~deepmod.terms.Factor`),
    ``F_k`` one of :data:`~deepmod.terms.FUNCTIONS` or the identity. Powers of a factor are computed once per
    call and shared between terms; a term's value is the product of its factors' powers in canonical factor
    order, the constant term an array of ones.

    Args:
        terms: the terms, in output order.
        units: per field, the factor that turns the given values into physical ones before a function is
            applied (a network works in units of each field's RMS; ``sin`` needs the physical value). Plain
            powers are left in the given units (the method rescales their coefficients).
    """

    def __init__(self, terms: Sequence[Term], units: Sequence[float] | None = None) -> None:
        self.terms = list(terms)
        self.units = None if units is None else [float(u) for u in units]

    def required(self) -> set[DerivativeKey]:
        """The derivative values the terms need (negative field indices: coordinates)."""
        return required_derivatives(self.terms)

    def _base(self, values: Values, f: Factor) -> Any:
        value = values[(f.field, f.derivative)]
        if not f.function:
            return value
        if self.units is not None and f.field >= 0:
            value = value * self.units[f.field]
        return _apply(f.function, value, 0)

    def columns(self, values: Values, like: Any = None) -> list[Any]:
        """One array per term, of the values' shape (``like``'s, where no value is needed: constants only)."""
        some = like if like is not None else next(iter(values.values()))
        cache: dict[tuple[int, tuple[int, ...], int, str], Any] = {}
        out = []
        with np.errstate(divide="ignore", invalid="ignore"):  # a log or 1/u at 0: the callers check finiteness
            for term in self.terms:
                col: Any = None
                for f in term.factors:
                    key = (f.field, f.derivative, f.power, f.function)
                    if key not in cache:
                        cache[key] = self._base(values, f) ** f.power
                    col = cache[key] if col is None else col * cache[key]
                out.append(_ones_like(some) if col is None else col)
        return out

    def matrix(self, values: Values, like: Any = None, axis: int = 1) -> Any:
        """The columns stacked along ``axis``: Theta ``(n_points, n_terms)`` for 1-D values."""
        columns = self.columns(values, like)
        return torch.stack(columns, dim=axis) if isinstance(columns[0], torch.Tensor) else np.stack(columns, axis)

    def combine(self, values: Values, coefficients: Sequence[float], like: Any = None) -> Any:
        """``sum_j coefficients[j] * term_j``: a right-hand side."""
        some = like if like is not None else next(iter(values.values()))
        total = 0.0 * _ones_like(some)
        for c, col in zip(coefficients, self.columns(values, some), strict=True):
            total = total + c * col
        return total

    def partials(self, values: Values, j: int) -> list[tuple[Factor, Any]]:
        """The derivative of term ``j`` with respect to each of its fields' factors' bases: ``(factor, d term /
        d base)`` with ``d(prod_k F_k(d_k)^p_k)/d d_m = p_m F_m(d_m)^(p_m - 1) F_m'(d_m) prod_{k != m}
        F_k(d_k)^p_k`` (the simulator's Jacobian). Coordinates are not differentiated (they are no state)."""
        term = self.terms[j]
        out = []
        for m, f in enumerate(term.factors):
            if f.field < 0:
                continue
            value = f.power * self._base(values, f) ** (f.power - 1)
            if f.function:
                unit = 1.0 if self.units is None else self.units[f.field]
                value = value * unit * _apply(f.function, unit * values[(f.field, f.derivative)], 1)
            for k, g in enumerate(term.factors):
                if k != m:
                    value = value * self._base(values, g) ** g.power
            out.append((f, value))
        return out


def _apply(function: str, value: Any, derivative: int) -> Any:
    """``function(value)`` (``derivative`` 0) or its derivative (1), for numpy arrays or torch tensors."""
    lib: Any = torch if isinstance(value, torch.Tensor) else np
    if derivative == 0:
        return {"sin": lib.sin, "cos": lib.cos, "exp": lib.exp, "log": lib.log, "abs": lib.abs}[function](value)
    table = {
        "sin": lambda v: lib.cos(v),
        "cos": lambda v: -lib.sin(v),
        "exp": lambda v: lib.exp(v),
        "log": lambda v: 1.0 / v,
        "abs": lambda v: lib.sign(v),
    }
    return table[function](value)


def coordinate_values(
    needed: set[DerivativeKey] | Sequence[DerivativeKey], coordinates: Sequence[Any]
) -> dict[DerivativeKey, Any]:
    """The values of the coordinate factors among ``needed`` (negative field keys): ``coordinates[k]`` (time
    first, then space) at the points, in physical units."""
    return {key: coordinates[-1 - key[0]] for key in needed if key[0] < 0}


def _ones_like(a: Any) -> Any:
    return torch.ones_like(a) if isinstance(a, torch.Tensor) else np.ones_like(np.asarray(a, dtype=np.float64))


def finite_columns(theta: np.ndarray, names: Sequence[str]) -> None:
    """Check that every column of Theta ``(n_points, n_terms)`` is finite.

    Raises:
        InputError: naming the terms that are not (a log, or a negative power, of a field that reaches 0).
    """
    bad = [n for n, ok in zip(names, np.isfinite(theta).all(axis=0), strict=True) if not ok]
    if bad:
        raise InputError(
            f"the term(s) {', '.join(bad)} are not finite on the data (a log or a negative power where a value "
            "is 0 or below): leave them out",
            options=("terms",),
        )


class CandidateLibrary(abc.ABC):
    """The candidate terms of the right-hand side.

    Contract: :attr:`terms` is fixed after construction; :meth:`evaluate` returns one column per term, in
    that order, from a mapping of the derivatives listed by :meth:`required`.
    """

    symbols: Symbols

    @property
    @abc.abstractmethod
    def terms(self) -> list[Term]:
        """The candidate terms, in column order."""

    @property
    def poly_order(self) -> int:
        """The highest total power of the underived fields in a term."""
        return max((sum(f.power for f in t.factors if f.order == 0 and f.plain) for t in self.terms), default=0)

    @property
    def diff_order(self) -> int:
        """The highest total spatial derivative order of a factor."""
        return max((t.max_order for t in self.terms), default=0)

    @property
    def names(self) -> list[str]:
        """Term names in column order, e.g. ``['1', 'u_x', 'u*u_x']``."""
        return [self.symbols.name(t) for t in self.terms]

    def required(self) -> set[DerivativeKey]:
        """The derivative values :meth:`evaluate` needs."""
        return required_derivatives(self.terms)

    def evaluate(self, derivatives: Values, units: Sequence[float] | None = None) -> Any:
        """Theta of shape ``(n_points, n_terms)`` from derivative values of shape ``(n_points,)`` (torch tensors
        or numpy arrays; the result is of the same kind), coordinates included (:func:`coordinate_values`);
        ``units`` as :class:`TermEvaluator`'s."""
        return TermEvaluator(self.terms, units).matrix(derivatives)

    def scales(self, field_scales: Sequence[float], coord_scales: Sequence[float]) -> torch.Tensor:
        """How much each column grows when fields and spatial coordinates are scaled.

        If every field ``k`` is multiplied by ``field_scales[k]`` and every spatial coordinate by
        ``coord_scales[i]``, column ``j`` is multiplied by the returned ``scales[j]``; used to map
        coefficients between normalised and physical units. Functions and coordinates are evaluated in
        physical units (:class:`TermEvaluator`'s ``units``, physical coordinates) and do not scale.
        """
        out = []
        for term in self.terms:
            s = 1.0
            for f in term.factors:
                if f.function or f.field < 0:
                    continue
                d = 1.0
                for c, k in zip(coord_scales, f.derivative, strict=True):
                    d *= c**k
                s *= (field_scales[f.field] / d) ** f.power
            out.append(s)
        return torch.tensor(out, dtype=torch.float64)


class PolynomialLibrary(CandidateLibrary):
    """Products of field powers (up to ``poly_order``) with one spatial derivative (up to ``diff_order``).

    ``poly_order=0`` gives the constant and the derivatives alone (``1, u_x, u_xx``), DeePyMoD's
    convention; for ODE data that would leave the constant only and is refused.

    With several fields the monomials include cross terms (``u*v``); in 2-D the derivatives include mixed
    ones (``u_xy``). For ODE data (no spatial coordinate) the terms are the monomials of the states.
    ``extra_terms`` adds user terms by name (``"u_x^2"``, ``"u*u_xxx"``); duplicates are dropped.
    """

    def __init__(
        self, symbols: Symbols, poly_order: int = 2, diff_order: int = 3, extra_terms: Sequence[str] = ()
    ) -> None:
        if poly_order < 0 or poly_order > 6:
            raise ValueError(f"poly_order must be between 0 and 6, got {poly_order}")
        if poly_order == 0 and not symbols.space and not extra_terms:
            raise ValueError(
                "poly_order 0 leaves ODE data only the constant (for PDE data it means the derivatives alone, "
                "DeePyMoD's convention): use poly_order 1 or more"
            )
        if symbols.space and not 0 <= diff_order <= 5:
            raise ValueError(f"diff_order must be between 0 and 5, got {diff_order}")
        self.symbols = symbols
        self._orders = (poly_order, diff_order)
        terms = default_terms(
            len(symbols.fields),
            len(symbols.space),
            poly_order,
            diff_order if symbols.space else 0,
            len(symbols.targets),
        )
        for name in extra_terms:
            t = symbols.parse(name)
            if t not in terms:
                terms.append(t)
        self._terms = terms

    @property
    def terms(self) -> list[Term]:
        return list(self._terms)

    @property
    def poly_order(self) -> int:
        """The ``poly_order`` the library was built with (extra terms may go beyond it)."""
        return self._orders[0]

    @property
    def diff_order(self) -> int:
        """The ``diff_order`` the library was built with."""
        return self._orders[1]


def symbols_for(data: Dataset) -> Symbols:
    """Printing symbols for a data set: coordinate names where they are single letters, else t, x, y, z."""
    names = list(data.coord_names)
    fields = tuple(data.field_names)
    inputs = tuple(data.inputs)
    defaults = ["t", "x", "y", "z"]
    if len(names) > len(defaults):
        raise InputError(f"at most {len(defaults) - 1} spatial coordinates are supported, got {len(names) - 1}")
    chosen = [n if len(n) == 1 and n.isalpha() else defaults[i] for i, n in enumerate(names)]
    if len(set(chosen)) != len(chosen) or set(chosen) & set(fields):
        chosen = defaults[: len(names)]
    try:
        return Symbols(fields=fields, space=tuple(chosen[1:]), time=chosen[0], inputs=inputs)
    except ValueError as exc:
        raise InputError(f"{exc}; rename the array with alias=name, e.g. u=usol", options=("fields",)) from exc


RightHandSide = tuple[TermEvaluator, list[float]]
"""The terms of one field's right-hand side and their coefficients."""


def right_hand_sides(equations: Sequence[Equation], symbols: Symbols, names: Sequence[str]) -> list[RightHandSide]:
    """Per field of ``names`` that is no input of ``symbols``, its equation's terms and coefficients (no terms
    where it has no equation).

    Raises:
        InputError: for an equation of an input field or of no field.
    """
    targets = [i for i, n in enumerate(names) if n not in symbols.inputs]
    lhs = {symbols.lhs(i): k for k, i in enumerate(targets)}
    out: list[RightHandSide] = [(TermEvaluator([]), []) for _ in targets]
    for eq in equations:
        if eq.lhs not in lhs:
            raise InputError(f"the equation for '{eq.lhs}' names no field to fit ({', '.join(symbols.targets)})")
        terms = [symbols.parse(n) for n in eq.coefficients]
        out[lhs[eq.lhs]] = (TermEvaluator(terms), [float(c) for c in eq.coefficients.values()])
    return out
