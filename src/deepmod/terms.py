"""Term names and the term algebra shared by every method.

A *term* is a product of *factors*; a factor is a field, optionally differentiated in space, or a
coordinate, optionally inside one of :data:`FUNCTIONS`, raised to a non-zero integer power. Names follow the
project convention: factors joined by ``*``, powers as ``u^2`` (``u^-1`` is ``1/u``), derivatives as ``u_x``,
``u_xx``, ``u_xy``, functions as ``sin(u)``; the empty product is the constant ``1``. Examples: ``u^2*u_xx``,
``u*v``, ``u_x^2``, ``x^2*b`` (a coordinate factor: a potential), ``exp(u)``, ``t*u``.

Coordinates are factors with a negative index: ``-1`` is time, ``-2`` the first spatial coordinate, and so
on (:meth:`Symbols.coordinate_factor`); they come first in a term's canonical name.

Derivative orders are stored as a tuple with one entry per *spatial* coordinate (time derivatives only
appear on the left-hand side, ``u_t``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")

FUNCTIONS = ("sin", "cos", "exp", "log", "abs")
"""The functions a factor may apply to a field or a coordinate (never to a derivative): ``sin(u)``, ``exp(x)``."""

_FACTOR = re.compile(
    r"(?:(?P<fn>" + "|".join(FUNCTIONS) + r")\((?P<arg>[A-Za-z][A-Za-z0-9]*)\)"
    r"|(?P<base>[A-Za-z][A-Za-z0-9]*?)(?:_(?P<axes>[A-Za-z]+))?)(?:\^(?P<power>-?[0-9]+))?"
)


@dataclass(frozen=True, order=True)
class Factor:
    """One factor ``field_{derivative}^power`` of a term.

    Attributes:
        field: index of the field in the data set's field list; negative for a coordinate (``-1`` time,
            ``-2`` the first spatial coordinate, ...).
        derivative: derivative order along each spatial coordinate, e.g. ``(2,)`` for ``u_xx``.
        power: non-zero integer exponent (``-1``: the reciprocal).
        function: one of :data:`FUNCTIONS` applied before the power, or ``""``.
    """

    field: int
    derivative: tuple[int, ...]
    power: int = 1
    function: str = ""

    def __post_init__(self) -> None:
        if self.power == 0:
            raise ValueError("a factor's power must not be 0")
        if any(d < 0 for d in self.derivative):
            raise ValueError(f"derivative orders must be >= 0, got {self.derivative}")
        if self.function and self.function not in FUNCTIONS:
            raise ValueError(f"unknown function '{self.function}': use one of {', '.join(FUNCTIONS)}")
        if (self.function or self.field < 0) and any(self.derivative):
            raise ValueError("functions and coordinates cannot be differentiated in a term")

    @property
    def plain(self) -> bool:
        """Whether the factor is a positive power of a field or its derivative (no function, no coordinate):
        the factors of a polynomial library."""
        return self.field >= 0 and not self.function and self.power > 0

    @property
    def order(self) -> int:
        """Total spatial derivative order of the factor."""
        return sum(self.derivative)


@dataclass(frozen=True)
class Term:
    """A product of factors in canonical order; the empty product is the constant term ``1``."""

    factors: tuple[Factor, ...] = ()

    @staticmethod
    def of(factors: Iterable[Factor]) -> Term:
        """Build a term, merging equal bases (``u*u`` -> ``u^2``) and sorting factors canonically."""
        powers: dict[tuple[int, tuple[int, ...], str], int] = {}
        for f in factors:
            key = (f.field, f.derivative, f.function)
            powers[key] = powers.get(key, 0) + f.power
        merged = [Factor(fi, d, p, fn) for (fi, d, fn), p in powers.items() if p != 0]
        merged.sort(
            key=lambda f: (
                f.order > 0,
                f.field >= 0,
                f.function,
                f.field,
                f.order,
                tuple(-x for x in f.derivative),
                f.power,
            )
        )
        return Term(tuple(merged))

    def __mul__(self, other: Term) -> Term:
        return Term.of(self.factors + other.factors)

    def reduced(self, k: int) -> Term:
        """The term with one power of its ``k``-th factor fewer (``u^2*u_xx`` -> ``u*u_xx`` for the ``u^2``)."""
        f = self.factors[k]
        rest = self.factors[:k] + self.factors[k + 1 :]
        return Term(rest) if f.power == 1 else Term.of((*rest, Factor(f.field, f.derivative, f.power - 1, f.function)))

    @property
    def degree(self) -> int:
        """Polynomial degree in the fields and their derivatives (the plain factors'; see :attr:`Factor.plain`)."""
        return sum(f.power for f in self.factors if f.plain)

    @property
    def polynomial(self) -> bool:
        """Whether every factor is plain: a product of positive powers of fields and their derivatives."""
        return all(f.plain for f in self.factors)

    @property
    def max_order(self) -> int:
        """Highest spatial derivative order appearing in the term."""
        return max((f.order for f in self.factors), default=0)


@dataclass(frozen=True)
class Symbols:
    """Names used to print and parse terms: fields (``u``, ``v``) and spatial coordinates (``x``, ``y``).

    ``time`` is the symbol of the time coordinate, used for the left-hand side ``u_t``. ``inputs`` are the
    last fields, those given by the data and used in terms but with no equation of their own (a forcing, a
    potential, a velocity that carries a scalar).
    """

    fields: tuple[str, ...]
    space: tuple[str, ...]
    time: str = "t"
    inputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [*self.fields, *self.space, self.time]
        for n in names:
            if not _NAME.match(n) or n in FUNCTIONS:
                raise ValueError(f"'{n}' is not a valid symbol: use letters and digits, starting with a letter")
        if len(set(names)) != len(names):
            raise ValueError(f"symbols must be distinct, got fields {self.fields}, coordinates {self.space}")
        for c in (*self.space, self.time):
            if len(c) != 1:
                raise ValueError(f"coordinate symbol '{c}' must be a single letter (it is used in u_{c}{c})")
        if self.inputs and (self.fields[len(self.fields) - len(self.inputs) :] != self.inputs or not self.targets):
            raise ValueError(f"inputs {self.inputs} must be the last of the fields {self.fields}, after a field to fit")

    @property
    def targets(self) -> tuple[str, ...]:
        """The fields with an equation (all but the inputs), in order: field ``i`` has left-hand side
        :meth:`lhs` ``(i)``."""
        return self.fields[: len(self.fields) - len(self.inputs)]

    @property
    def coordinates(self) -> tuple[str, ...]:
        """Time, then the spatial coordinates: coordinate factor ``-1 - k`` is ``coordinates[k]``."""
        return (self.time, *self.space)

    def base_name(self, f: Factor) -> str:
        """The factor's name without its power: ``u_xx``, ``x``, ``sin(u)``."""
        if f.field < 0:
            base = self.coordinates[-1 - f.field]
        else:
            base = self.fields[f.field]
            suffix = "".join(c * k for c, k in zip(self.space, f.derivative, strict=True))
            base = f"{base}_{suffix}" if suffix else base
        return f"{f.function}({base})" if f.function else base

    def factor_name(self, f: Factor) -> str:
        base = self.base_name(f)
        return base if f.power == 1 else f"{base}^{f.power}"

    def name(self, term: Term) -> str:
        """The canonical name of ``term``, e.g. ``u^2*u_xx``; ``1`` for the constant."""
        if not term.factors:
            return "1"
        return "*".join(self.factor_name(f) for f in term.factors)

    def lhs(self, field: int) -> str:
        """Name of the left-hand side for ``field``, e.g. ``u_t``."""
        return f"{self.fields[field]}_{self.time}"

    def parse(self, name: str) -> Term:
        """Parse a term name (``u^2*u_xx``, ``x^2*b``, ``exp(u)``, ``u^-1``, ``1``) into a :class:`Term`.

        Raises:
            ValueError: if the name uses an unknown field, coordinate or function, or is malformed.
        """
        text = name.replace(" ", "")
        if text == "1":
            return Term()
        factors = [self._factor(part, name) for part in text.split("*")]
        return Term.of(factors)

    def _factor(self, part: str, name: str) -> Factor:
        m = _FACTOR.fullmatch(part)
        base = None if m is None else m.group("arg") or m.group("base")
        if m is None or base not in (*self.fields, *self.coordinates):
            raise ValueError(
                f"cannot read term '{name}': each factor must look like u, u_x, u_xx, u^2, u^-1, x^2 or "
                f"{FUNCTIONS[0]}(u) with a field from {list(self.fields)} or a coordinate from "
                f"{list(self.coordinates)}; functions: {', '.join(FUNCTIONS)}"
            )
        deriv = [0] * len(self.space)
        for ch in m.group("axes") or "":
            if ch not in self.space:
                raise ValueError(f"term '{name}' differentiates by '{ch}', not a spatial coordinate")
            deriv[self.space.index(ch)] += 1
        if base in self.coordinates and any(deriv):
            raise ValueError(f"term '{name}' differentiates the coordinate '{base}'")
        index = self.fields.index(base) if base in self.fields else -1 - self.coordinates.index(base)
        power = int(m.group("power") or 1)
        if power == 0:
            raise ValueError(f"term '{name}' has a power 0: leave the factor out")
        return Factor(index, tuple(deriv), power, m.group("fn") or "")


def derivative_indices(n_space: int, max_order: int) -> list[tuple[int, ...]]:
    """All spatial multi-indices with total order 1..max_order, ordered by order then lexicographically.

    In 2-D with ``max_order=2`` this gives x, y, xx, xy, yy.
    """
    out: list[tuple[int, ...]] = []
    for order in range(1, max_order + 1):
        level = [tuple(c) for c in itertools.product(range(order + 1), repeat=n_space) if sum(c) == order]
        out.extend(sorted(level, reverse=True))
    return out


def monomials(n_fields: int, max_degree: int, n_space: int) -> list[Term]:
    """Monomials of the fields up to ``max_degree``, including the constant: 1, u, v, u^2, u*v, ..."""
    out = [Term()]
    for degree in range(1, max_degree + 1):
        for combo in itertools.combinations_with_replacement(range(n_fields), degree):
            out.append(Term.of(Factor(f, (0,) * n_space) for f in combo))
    return out


def default_terms(
    n_fields: int, n_space: int, poly_order: int, diff_order: int, n_targets: int | None = None
) -> list[Term]:
    """The standard candidate library.

    For PDEs: every monomial of the fields up to ``poly_order`` times either nothing or one spatial
    derivative (orders 1..``diff_order``) of one field, as in DeepMoD and PDE-FIND; for 1-D Burgers with
    ``poly_order=2, diff_order=3`` these are the 12 terms 1, u_x, u_xx, u_xxx, u, u*u_x, ... For ODEs
    (``n_space == 0``) only the monomials. Only the first ``n_targets`` fields (all by default) are
    differentiated: inputs enter the monomials (``V*u``), their derivatives only as a user's terms (a
    potential's derivatives are nearly collinear with it: ``V_xx = -k^2 V`` for a sine).
    """
    mons = monomials(n_fields, poly_order, n_space)
    if n_space == 0:
        return mons
    n_targets = n_fields if n_targets is None else n_targets
    derivs = [Term()] + [
        Term((Factor(f, d),)) for f in range(n_targets) for d in derivative_indices(n_space, diff_order)
    ]
    out: list[Term] = []
    seen: set[Term] = set()
    for d in derivs:
        for m in mons:
            t = m * d
            if t not in seen:
                seen.add(t)
                out.append(t)
    return out


def required_derivatives(terms: Sequence[Term]) -> set[tuple[int, tuple[int, ...]]]:
    """The (field, spatial multi-index) pairs whose values are needed to evaluate ``terms``."""
    return {(f.field, f.derivative) for t in terms for f in t.factors}


def simpler_relatives(terms: Sequence[Term]) -> list[list[int]]:
    """Per term, the indices of the terms in ``terms`` with one field factor fewer and the same derivatives.

    Only terms with a derivative are related: ``v*u_xx -> u_xx``, ``u*v*v_xx -> v*v_xx, u*v_xx``; polynomial
    terms and the derivative factors themselves are left alone. A field that swings about a level makes a
    derivative term and its product with that field nearly collinear (the selection then prefers the simpler,
    :class:`~deepmod.regression.BackwardElimination`'s ``simpler``).
    """
    index = {t: i for i, t in enumerate(terms)}
    out: list[list[int]] = []
    for term in terms:
        related: list[int] = []
        if term.max_order > 0:
            for k, f in enumerate(term.factors):
                j = index.get(term.reduced(k)) if f.order == 0 and f.plain else None
                if j is not None:
                    related.append(j)  # distinct: a term's factors have distinct bases
        out.append(related)
    return out
