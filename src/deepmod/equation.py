"""Equations: a left-hand side and the active terms with their coefficients, in physical units.

Printed as text (``u_t = 0.0998 u_xx - 1.002 u*u_x``), written as JSON (``{"u_xx": 0.0998, ...}``) and
turned into sympy expressions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deepmod.terms import Symbols, Term


@dataclass(frozen=True)
class Equation:
    """``lhs = sum_j coefficients[j] * term_j`` with term names in the project convention.

    Attributes:
        lhs: the left-hand side, e.g. ``"u_t"``.
        coefficients: active term name -> coefficient (physical units), in library order.
    """

    lhs: str
    coefficients: Mapping[str, float]

    def text(self, digits: int = 4) -> str:
        """Human-readable form, e.g. ``u_t = 0.1 u_xx - 1 u*u_x``."""
        parts: list[str] = []
        for name, c in self.coefficients.items():
            mag = _fmt(abs(c), digits)
            body = mag if name == "1" else f"{mag} {name}"
            if not parts:
                parts.append(f"-{body}" if c < 0 else body)
            else:
                parts.append(f"- {body}" if c < 0 else f"+ {body}")
        return f"{self.lhs} = {' '.join(parts) if parts else '0'}"

    def __str__(self) -> str:
        return self.text()

    def to_sympy(self, symbols: Symbols, time: str | None = None) -> Any:
        """The equation as ``sympy.Eq(Derivative(u, t), rhs)`` with fields as functions of the coordinates."""
        import sympy

        t = sympy.Symbol(time or symbols.time)
        space = [sympy.Symbol(s) for s in symbols.space]
        funcs = [sympy.Function(f)(t, *space) for f in symbols.fields]
        rhs = sympy.Integer(0)
        for name, c in self.coefficients.items():
            rhs += sympy.Float(c, 6) * term_to_sympy(symbols.parse(name), funcs, space)
        field = symbols.fields.index(self.lhs.split("_")[0])
        return sympy.Eq(sympy.Derivative(funcs[field], t), rhs)


def term_to_sympy(term: Term, funcs: Sequence[Any], space: Sequence[Any]) -> Any:
    """A term as a sympy product of (derivatives of) field functions."""
    import sympy

    expr = sympy.Integer(1)
    for f in term.factors:
        base = funcs[f.field]
        pairs = [(s, k) for s, k in zip(space, f.derivative, strict=True) if k]
        if pairs:
            base = sympy.Derivative(base, *pairs)
        expr *= base**f.power
    return expr


def _fmt(x: float, digits: int) -> str:
    if x == 0 or not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"
