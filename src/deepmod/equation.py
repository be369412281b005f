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
            rhs += sympy.Float(c, 6) * term_to_sympy(symbols.parse(name), funcs, [t, *space])
        field = symbols.fields.index(self.lhs.split("_")[0])
        return sympy.Eq(sympy.Derivative(funcs[field], t), rhs)


def term_to_sympy(term: Term, funcs: Sequence[Any], coordinates: Sequence[Any]) -> Any:
    """A term as a sympy product of (derivatives of) field functions, coordinates (``coordinates``: time,
    then space) and functions of them."""
    import sympy

    expr = sympy.Integer(1)
    space = coordinates[1:]
    for f in term.factors:
        base = coordinates[-1 - f.field] if f.field < 0 else funcs[f.field]
        pairs = [(s, k) for s, k in zip(space, f.derivative, strict=True) if k]
        if pairs:
            base = sympy.Derivative(base, *pairs)
        if f.function:
            base = getattr(sympy, "Abs" if f.function == "abs" else f.function)(base)
        expr *= base**f.power
    return expr


def _fmt(x: float, digits: int) -> str:
    if x == 0 or not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


_MAX_POWER = 12
_MAX_TEXT = 2000


def parse_equation(text: str, symbols: Symbols) -> Equation:
    """Read a user's equation such as ``"x_t = 1.3*x - 0.9*x*y"`` or ``"u_t = 0.01/pi*u_xx - u*u_x"``.

    Safe by construction: the text is parsed with :mod:`ast` and only numbers, ``pi``, the names of fields and
    their derivatives (``u``, ``u_xx``), ``+ - * /``, powers (``**`` or ``^``) with small non-negative integer
    exponents and parentheses are accepted; nothing is evaluated by Python. The right-hand side is expanded
    into a polynomial and written in the term-naming convention.

    Raises:
        ValueError: naming what is not allowed, e.g. a function call or an unknown name.
    """
    parametric = parse_parametric(text, symbols, ())
    return parametric.resolve({})


@dataclass(frozen=True)
class ParametricEquation:
    """``lhs = sum_j (c_j + sum_p a_jp p) term_j``: an equation whose coefficients are affine in named
    parameters (the unknowns of an inverse problem).

    Attributes:
        lhs: the left-hand side, ``u_t``.
        terms: term name -> ``{"": c_j, "nu": a_jp, ...}``, in the equation's order.
    """

    lhs: str
    terms: Mapping[str, Mapping[str, float]]

    @property
    def parameters(self) -> tuple[str, ...]:
        """The parameters named, in order of appearance."""
        return tuple(dict.fromkeys(p for parts in self.terms.values() for p in parts if p))

    def resolve(self, values: Mapping[str, float]) -> Equation:
        """The equation with each parameter's value filled in (every parameter needs one)."""
        missing = [p for p in self.parameters if p not in values]
        if missing:
            raise ValueError(f"no value for the parameter(s) {', '.join(missing)}")
        out = {n: sum(k * (values[p] if p else 1.0) for p, k in parts.items()) for n, parts in self.terms.items()}
        return Equation(self.lhs, {n: c for n, c in out.items() if c != 0.0})


def parse_parametric(text: str, symbols: Symbols, parameters: Sequence[str]) -> ParametricEquation:
    """Read an equation whose coefficients may name ``parameters`` (``"u_t = nu*u_xx + a*u*u_x"``), as
    :func:`parse_equation` reads one of numbers; each coefficient must be affine in the parameters.

    Raises:
        ValueError: naming what is not allowed, or a coefficient that is not affine in the parameters.
    """
    import ast

    import sympy

    if len(text) > _MAX_TEXT:
        raise ValueError(f"the equation is longer than {_MAX_TEXT} characters")
    lhs, sep, rhs = text.partition("=")
    if not sep or "=" in rhs:
        raise ValueError(f"'{text}' is not an equation: write it as LHS = RHS, e.g. x_t = 1.3*x")
    lhs = lhs.strip()
    lhs_names = [symbols.lhs(i) for i in range(len(symbols.targets))]
    if lhs not in lhs_names:
        raise ValueError(f"the left-hand side '{lhs}' must be one of {', '.join(lhs_names)}")
    try:
        tree = ast.parse(rhs.replace("^", "**").strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"cannot read the right-hand side of '{text}': {exc.msg}") from exc
    factors: dict[str, Any] = {}
    params = {p: sympy.Symbol(p) for p in parameters}
    expr = sympy.expand(_to_sympy(tree.body, symbols, factors, params))
    gens = list(factors.values())
    pairs = sympy.Poly(expr, *gens).terms() if gens else [((), expr)]
    terms: dict[str, dict[str, float]] = {}
    for powers, c in pairs:
        parts = [name if p == 1 else f"{name}^{p}" for name, p in zip(factors, powers, strict=True) if p]
        term = symbols.name(symbols.parse("*".join(parts))) if parts else "1"
        for key, value in _affine(sympy.expand(c), params, text).items():
            into = terms.setdefault(term, {})
            into[key] = into.get(key, 0.0) + value
    order = sorted(terms, key=lambda n: (symbols.parse(n).degree, n))
    return ParametricEquation(lhs, {n: terms[n] for n in order if any(terms[n].values())})


def _affine(coefficient: Any, params: Mapping[str, Any], text: str) -> dict[str, float]:
    """``{"": constant, p: factor}`` of a coefficient affine in the parameters ``params``."""
    import sympy

    if not params:
        return {"": float(coefficient)}
    poly = sympy.Poly(coefficient, *params.values())
    if poly.total_degree() > 1:
        raise ValueError(f"in '{text}' a coefficient is not affine in the unknowns ({coefficient})")
    out = {"": float(poly.coeff_monomial(1))}
    for name, symbol in params.items():
        out[name] = float(poly.coeff_monomial(symbol))
    return {k: v for k, v in out.items() if v != 0.0 or k == ""}


def _to_sympy(node: Any, symbols: Symbols, factors: dict[str, Any], params: Mapping[str, Any]) -> Any:
    """The sympy expression of an allowed AST node; ``factors`` collects the names met (name -> symbol);
    ``params`` are the unknowns' symbols, ``pi`` is the constant."""
    import ast

    import sympy

    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return sympy.Rational(node.value) if isinstance(node.value, int) else sympy.Float(node.value)
    if isinstance(node, ast.Name) and node.id in params:
        return params[node.id]
    if isinstance(node, ast.Name) and node.id == "pi":
        return sympy.pi
    if isinstance(node, ast.Name):
        try:
            term = symbols.parse(node.id)
        except ValueError as exc:
            raise ValueError(f"unknown name '{node.id}': use the fields {list(symbols.fields)}") from exc
        if len(term.factors) != 1 or term.factors[0].power != 1:
            raise ValueError(f"'{node.id}' is not a field or a derivative of one")
        name = symbols.name(term)
        return factors.setdefault(name, sympy.Symbol(name))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
        value = _to_sympy(node.operand, symbols, factors, params)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div | ast.Pow):
        left = _to_sympy(node.left, symbols, factors, params)
        right = _to_sympy(node.right, symbols, factors, params)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            if not right.is_number or right == 0:
                raise ValueError("only division by a non-zero number is allowed")
            return left / right
        if not (right.is_integer and 0 <= int(right) <= _MAX_POWER):
            raise ValueError(f"powers must be whole numbers from 0 to {_MAX_POWER}")
        return left ** int(right)
    raise ValueError(f"'{ast.unparse(node)}' is not allowed: use numbers, field names, + - * / and powers")
