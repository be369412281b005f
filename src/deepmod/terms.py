"""Term names and the term algebra shared by every method.

A *term* is a product of *factors*; a factor is a field, optionally differentiated in space, raised to a
positive integer power. Names follow the project convention: factors joined by ``*``, powers as ``u^2``,
derivatives as ``u_x``, ``u_xx``, ``u_xy``; the empty product is the constant ``1``. Examples: ``u^2*u_xx``,
``u*v``, ``u_x^2``.

Derivative orders are stored as a tuple with one entry per *spatial* coordinate (time derivatives only
appear on the left-hand side, ``u_t``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


@dataclass(frozen=True, order=True)
class Factor:
    """One factor ``field_{derivative}^power`` of a term.

    Attributes:
        field: index of the field in the data set's field list.
        derivative: derivative order along each spatial coordinate, e.g. ``(2,)`` for ``u_xx``.
        power: positive integer exponent.
    """

    field: int
    derivative: tuple[int, ...]
    power: int = 1

    def __post_init__(self) -> None:
        if self.power < 1:
            raise ValueError(f"a factor's power must be >= 1, got {self.power}")
        if any(d < 0 for d in self.derivative):
            raise ValueError(f"derivative orders must be >= 0, got {self.derivative}")

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
        powers: dict[tuple[int, tuple[int, ...]], int] = {}
        for f in factors:
            key = (f.field, f.derivative)
            powers[key] = powers.get(key, 0) + f.power
        merged = [Factor(fi, d, p) for (fi, d), p in powers.items()]
        merged.sort(key=lambda f: (f.order > 0, f.field, f.order, tuple(-x for x in f.derivative), f.power))
        return Term(tuple(merged))

    def __mul__(self, other: Term) -> Term:
        return Term.of(self.factors + other.factors)

    def reduced(self, k: int) -> Term:
        """The term with one power of its ``k``-th factor fewer (``u^2*u_xx`` -> ``u*u_xx`` for the ``u^2``)."""
        f = self.factors[k]
        rest = self.factors[:k] + self.factors[k + 1 :]
        return Term(rest) if f.power == 1 else Term.of((*rest, Factor(f.field, f.derivative, f.power - 1)))

    @property
    def degree(self) -> int:
        """Polynomial degree in the fields and their derivatives."""
        return sum(f.power for f in self.factors)

    @property
    def max_order(self) -> int:
        """Highest spatial derivative order appearing in the term."""
        return max((f.order for f in self.factors), default=0)


@dataclass(frozen=True)
class Symbols:
    """Names used to print and parse terms: fields (``u``, ``v``) and spatial coordinates (``x``, ``y``).

    ``time`` is the symbol of the time coordinate, used for the left-hand side ``u_t``.
    """

    fields: tuple[str, ...]
    space: tuple[str, ...]
    time: str = "t"

    def __post_init__(self) -> None:
        names = [*self.fields, *self.space, self.time]
        for n in names:
            if not _NAME.match(n):
                raise ValueError(f"'{n}' is not a valid symbol: use letters and digits, starting with a letter")
        if len(set(names)) != len(names):
            raise ValueError(f"symbols must be distinct, got fields {self.fields}, coordinates {self.space}")
        for c in (*self.space, self.time):
            if len(c) != 1:
                raise ValueError(f"coordinate symbol '{c}' must be a single letter (it is used in u_{c}{c})")

    def factor_name(self, f: Factor) -> str:
        base = self.fields[f.field]
        suffix = "".join(c * k for c, k in zip(self.space, f.derivative, strict=True))
        if suffix:
            base = f"{base}_{suffix}"
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
        """Parse a term name (``u^2*u_xx``, ``1``) into a :class:`Term`.

        Raises:
            ValueError: if the name uses an unknown field or coordinate or is malformed.
        """
        text = name.replace(" ", "")
        if text == "1":
            return Term()
        factors = []
        for part in text.split("*"):
            m = re.fullmatch(r"([A-Za-z][A-Za-z0-9]*?)(?:_([A-Za-z]+))?(?:\^([0-9]+))?", part)
            if m is None or m.group(1) not in self.fields:
                raise ValueError(
                    f"cannot read term '{name}': each factor must look like u, u_x, u_xx or u^2 with a field "
                    f"from {list(self.fields)}"
                )
            deriv = [0] * len(self.space)
            for ch in m.group(2) or "":
                if ch not in self.space:
                    raise ValueError(f"term '{name}' differentiates by '{ch}', not a spatial coordinate")
                deriv[self.space.index(ch)] += 1
            power = int(m.group(3) or 1)
            if power < 1:
                raise ValueError(f"term '{name}' has a power below 1")
            factors.append(Factor(self.fields.index(m.group(1)), tuple(deriv), power))
        return Term.of(factors)


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


def default_terms(n_fields: int, n_space: int, poly_order: int, diff_order: int) -> list[Term]:
    """The standard candidate library.

    For PDEs: every monomial of the fields up to ``poly_order`` times either nothing or one spatial
    derivative (orders 1..``diff_order``) of one field, as in DeepMoD and PDE-FIND; for 1-D Burgers with
    ``poly_order=2, diff_order=3`` these are the 12 terms 1, u_x, u_xx, u_xxx, u, u*u_x, ... For ODEs
    (``n_space == 0``) only the monomials.
    """
    mons = monomials(n_fields, poly_order, n_space)
    if n_space == 0:
        return mons
    derivs = [Term()] + [
        Term((Factor(f, d),)) for f in range(n_fields) for d in derivative_indices(n_space, diff_order)
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
                j = index.get(term.reduced(k)) if f.order == 0 else None
                if j is not None:
                    related.append(j)  # distinct: a term's factors have distinct bases
        out.append(related)
    return out
