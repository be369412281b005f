"""The method of lines' pieces: spatial derivatives on a grid, the values a model's terms take that are no
state (inputs and coordinates), the boundary points that follow the data, and the exact Jacobian of a
right-hand side, dense or sparse.

Spatial derivatives are spectral (FFT) along a periodic axis and fourth-order finite differences (Fornberg
stencils, one-sided near the edges) otherwise; the Jacobians apply the same operators, so they are exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from deepmod.data.dataset import Dataset
from deepmod.derivatives.finite_difference import differentiate
from deepmod.derivatives.smoothing import spectral_derivative
from deepmod.library import DerivativeKey, RightHandSide, coordinate_values


def known_values(
    needed: set[DerivativeKey],
    data: Dataset,
    n_state: int,
    axes: list[np.ndarray],
    periodic: tuple[bool, ...],
) -> Callable[[float], dict[DerivativeKey, np.ndarray]]:
    """``at(time)``: the values of the ``needed`` keys that are no state, on the grid at ``time``.

    Inputs (fields ``n_state`` and after) follow the data, a cubic spline in time through its snapshots, and
    are differentiated like the state; coordinates are the grid's mesh, time the current time.
    """
    from scipy.interpolate import CubicSpline

    t = np.asarray(data.coords[data.coord_names[0]], dtype=np.float64)
    names = data.field_names
    inputs = {(f, d) for f, d in needed if f >= n_state}
    splines = {f: CubicSpline(t, np.asarray(data.fields[names[f]], dtype=np.float64), axis=0) for f, _ in inputs}
    shape = data.shape[1:]
    mesh = list(np.meshgrid(*axes, indexing="ij")) if axes else []

    def at(time_: float) -> dict[DerivativeKey, np.ndarray]:
        now = {f: spline(time_) for f, spline in splines.items()}
        out = {(f, d): derivative(now[f], d, axes, periodic) for f, d in inputs}
        out.update(coordinate_values(needed, [np.full(shape, time_), *mesh]))
        return out

    return at


def dense_jacobian(
    rhs_terms: list[RightHandSide],
    needed: set[DerivativeKey],
    axes: list[np.ndarray],
    periodic: tuple[bool, ...],
    shape: tuple[int, ...],
    frozen: np.ndarray | None,
    known: Callable[[float], dict[DerivativeKey, np.ndarray]],
) -> Callable[[float, np.ndarray], np.ndarray]:
    """The exact Jacobian as a dense matrix, from the derivative operators as dense matrices."""
    n_fields, n_grid = len(rhs_terms), int(np.prod(shape))
    eye = np.eye(n_grid).reshape(n_grid, *shape)
    operators = {
        deriv: derivative(eye, deriv, axes, periodic, offset=1).reshape(n_grid, n_grid).T
        for deriv in {d for f, d in needed if f >= 0}
    }

    def jac(time_: float, y: np.ndarray) -> np.ndarray:
        u = y.reshape(n_fields, n_grid)
        values = {(f, d): operators[d] @ u[f] for f, d in needed if 0 <= f < n_fields}
        values.update({k: np.ravel(v) for k, v in known(time_).items()})
        out = np.zeros((n_fields, n_grid, n_fields, n_grid))
        for i, (evaluator, coefficients) in enumerate(rhs_terms):
            for j, c in enumerate(coefficients):
                for f, weight in evaluator.partials(values, j):
                    if f.field < n_fields:
                        out[i, :, f.field, :] += (c * weight)[:, None] * operators[f.derivative]
        if frozen is not None:
            out[:, frozen.ravel()] = 0.0
        return out.reshape(n_fields * n_grid, n_fields * n_grid)

    return jac


def sparse_jacobian(
    rhs_terms: list[RightHandSide],
    needed: set[tuple[int, tuple[int, ...]]],
    axes: list[np.ndarray],
    periodic: tuple[bool, ...],
    shape: tuple[int, ...],
    frozen: np.ndarray | None,
    known: Callable[[float], dict[DerivativeKey, np.ndarray]],
) -> Callable[[float, np.ndarray], Any]:
    """The exact Jacobian as a sparse matrix, for grids too large for a dense one: each derivative operator
    is a Kronecker product of one-dimensional operators (a finite-difference stencil, or the spectral
    differentiation matrix of a periodic axis), so a 100 x 100 grid costs a sparse LU instead of a dense
    one on 10,000 unknowns."""
    from scipy import sparse

    n_fields, n_grid = len(rhs_terms), int(np.prod(shape))

    def along(k: int, order: int) -> Any:
        one = derivative(np.eye(len(axes[k])), (order,), [axes[k]], (periodic[k],))  # the rhs's own operator
        before, after = int(np.prod(shape[:k])), int(np.prod(shape[k + 1 :]))
        return sparse.kron(sparse.kron(sparse.identity(before), sparse.csr_matrix(one)), sparse.identity(after))

    operators: dict[tuple[int, ...], Any] = {}
    for deriv in {d for f, d in needed if f >= 0}:
        op = sparse.identity(n_grid, format="csr")
        for k, order in enumerate(deriv):
            if order:
                op = along(k, order) @ op
        operators[deriv] = op.tocsr()
    keep = sparse.diags(np.ones(n_grid) if frozen is None else (~frozen.ravel()).astype(np.float64))

    def jac(time_: float, y: np.ndarray) -> Any:
        u = y.reshape(n_fields, n_grid)
        values = {(f, d): operators[d] @ u[f] for f, d in needed if 0 <= f < n_fields}
        values.update({k: np.ravel(v) for k, v in known(time_).items()})
        blocks: list[list[Any]] = [[None] * n_fields for _ in range(n_fields)]
        for i, (evaluator, coefficients) in enumerate(rhs_terms):
            for j, c in enumerate(coefficients):
                for f, weight in evaluator.partials(values, j):
                    if f.field >= n_fields:
                        continue
                    part = sparse.diags(np.broadcast_to(c * weight, (n_grid,))) @ operators[f.derivative]
                    block = blocks[i][f.field]
                    blocks[i][f.field] = part if block is None else block + part
        empty = sparse.csr_matrix((n_grid, n_grid))
        rows = [[keep @ (b if b is not None else empty) for b in row] for row in blocks]
        return sparse.bmat(rows, format="csc")

    return jac


def boundary_mask(shape: tuple[int, ...], orders: list[int], periodic: tuple[bool, ...]) -> np.ndarray | None:
    """Points that follow the data: the outer ceil(order/2) layers along each non-periodic axis."""
    mask = np.zeros(shape, dtype=bool)
    for k, (order, wrap) in enumerate(zip(orders, periodic, strict=True)):
        width = math.ceil(order / 2)
        if wrap or width == 0:
            continue
        index: list[slice | int] = [slice(None)] * len(shape)
        index[k] = slice(0, width)
        mask[tuple(index)] = True
        index[k] = slice(shape[k] - width, shape[k])
        mask[tuple(index)] = True
    return mask if mask.any() else None


def derivative(
    u: np.ndarray, deriv: tuple[int, ...], axes: list[np.ndarray], periodic: tuple[bool, ...], offset: int = 0
) -> np.ndarray:
    """The mixed derivative ``deriv`` of ``u``, whose spatial axes start at ``offset``."""
    out = u
    for k, order in enumerate(deriv):
        if order == 0:
            continue
        if periodic[k]:
            out = spectral_derivative(out, axes[k], order, axis=k + offset)
        else:
            out = differentiate(out, axes[k], order, axis=k + offset, accuracy=4)
    return out
