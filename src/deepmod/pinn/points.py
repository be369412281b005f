"""The points a PINN trains on, in the network's coordinates (the box mapped to [-1, 1]), with the values
the initial and boundary conditions and the data prescribe there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from deepmod.data.dataset import Dataset
from deepmod.errors import InputError
from deepmod.pinn.problem import PinnProblem, Values
from deepmod.terms import Factor

if TYPE_CHECKING:
    from deepmod.pinn.solver import PINN


@dataclass(frozen=True)
class Points:
    """Training points and prescribed values (numpy, or tensors after :meth:`to`).

    Attributes:
        collocation: ``(n, n_coords)`` residual points.
        initial, initial_values: points at the first time and the fields' values there ``(n, len(initial_fields))``.
        initial_fields: the fields the initial values are of.
        boundary, boundary_values: points on the spatial faces and the prescribed values, grouped by
            ``kinds`` (the field or derivative each group prescribes) with their rows ``kind_rows``.
        data, data_values: samples to fit (an inverse problem's), values of the first fields.
        field_scale: ``(n_fields,)`` the fields' typical size (RMS of the initial values).
        boundary_scale: per boundary row, its field's size over the derivative's length scale.
    """

    collocation: Any
    initial: Any
    initial_values: Any
    initial_fields: list[int]
    boundary: Any
    boundary_values: Any
    kinds: list[Factor]
    kind_rows: list[Any]
    boundary_scale: Any
    data: Any
    data_values: Any
    field_scale: np.ndarray

    def to(self, convert: Callable[[np.ndarray], Any]) -> Points:
        """The points with every array converted (to tensors); indices and scales of numbers stay."""
        import torch

        def maybe(a: Any) -> Any:
            return None if a is None else convert(a)

        return replace(
            self,
            collocation=convert(self.collocation),
            initial=maybe(self.initial),
            initial_values=maybe(self.initial_values),
            boundary=maybe(self.boundary),
            boundary_values=maybe(self.boundary_values),
            boundary_scale=maybe(self.boundary_scale),
            data=maybe(self.data),
            data_values=maybe(self.data_values),
            kind_rows=[torch.as_tensor(r) for r in self.kind_rows],
        )


def training_points(problem: PinnProblem, settings: PINN, rng: np.random.Generator) -> Points:
    """Uniform random collocation points, the initial and boundary points and values, and the data."""
    box = problem.box
    n_in = len(box.names)
    centre, half = box.centre, box.half_width
    collocation = rng.uniform(-1.0, 1.0, (settings.sampling.collocation, n_in))
    field_scale = np.ones(len(problem.symbols.fields))
    initial = initial_values = None
    initial_fields: list[int] = []
    if problem.initial is not None:
        initial, initial_values, initial_fields = _initial(problem, settings.sampling.initial, rng)
        scale = np.sqrt(np.mean(initial_values**2, axis=0))
        field_scale[initial_fields] = np.where(scale > 0, scale, 1.0)
    elif problem.data is not None:  # an inverse problem from samples alone: their size sets the scale
        scale = np.sqrt(np.mean(problem.data.points()[1] ** 2, axis=0))
        field_scale[: len(scale)] = np.where(scale > 0, scale, 1.0)
    boundary = _boundary(problem, settings.sampling.boundary, rng)
    data = data_values = None
    if problem.data is not None:
        x, u = problem.data.points()
        data, data_values = (x - centre) / half, u
    pts, values, kinds, rows = boundary
    b_scale = None
    if pts is not None:
        b_scale = np.concatenate(
            [
                np.full(len(r), field_scale[k.field] / np.prod(half[1:] ** np.array(k.derivative)))
                for k, r in zip(kinds, rows, strict=True)
            ]
        )
    return Points(
        collocation,
        initial,
        initial_values,
        initial_fields,
        pts,
        values,
        kinds,
        rows,
        b_scale,
        data,
        data_values,
        field_scale,
    )


def _initial(problem: PinnProblem, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Points at t0 and the initial values of every field: by expression or from a data set's first snapshot."""
    box, symbols = problem.box, problem.symbols
    centre, half = box.centre, box.half_width
    if isinstance(problem.initial, Dataset):
        x, u = _first_snapshot(problem.initial, len(symbols.targets))
        return (x - centre) / half, u, list(range(len(symbols.targets)))
    z = rng.uniform(-1.0, 1.0, (n, len(box.names)))
    z[:, 0] = -1.0
    physical = z * half + centre
    given: dict[int, Values] = {}
    for v in problem.initial or ():
        if any(v.target.derivative):
            raise InputError(f"an initial condition gives a field's values, not {symbols.factor_name(v.target)}")
        given[v.target.field] = v
    missing = [symbols.fields[i] for i in range(len(symbols.targets)) if i not in given]
    if missing:
        raise InputError(f"no initial condition for {', '.join(missing)}", options=("initial",))
    names = dict(zip(symbols.coordinates, physical.T, strict=True))
    fields = sorted(given)
    values = np.stack([np.broadcast_to(given[f].expression(names), (n,)) for f in fields], axis=1)
    return z, values.astype(np.float64), fields


def _first_snapshot(data: Dataset, n_fields: int) -> tuple[np.ndarray, np.ndarray]:
    """The grid points at the first time ``(n, n_coords)`` and the first ``n_fields`` fields there."""
    if not data.grid:
        raise InputError("the initial state from data needs data on a grid", options=("initial",))
    axes = [np.asarray(data.coords[c])[:1] if k == 0 else data.coords[c] for k, c in enumerate(data.coord_names)]
    mesh = np.meshgrid(*axes, indexing="ij")
    x = np.stack([m.ravel() for m in mesh], axis=1).astype(np.float64)
    u = np.stack([np.asarray(data.fields[n], dtype=np.float64)[0].ravel() for n in data.field_names[:n_fields]], axis=1)
    return x, u


def _boundary(
    problem: PinnProblem, n: int, rng: np.random.Generator
) -> tuple[np.ndarray | None, np.ndarray | None, list[Factor], list[np.ndarray]]:
    """Points on the spatial faces, the prescribed values and their kinds: none for periodic boundaries."""
    box, symbols = problem.box, problem.symbols
    centre, half = box.centre, box.half_width
    if isinstance(problem.boundary, str) or problem.boundary is None:
        return None, None, [], []
    if isinstance(problem.boundary, Dataset):
        return _data_edges(problem.boundary, centre, half, len(symbols.targets))
    n_space = len(box.names) - 1
    z = rng.uniform(-1.0, 1.0, (n, len(box.names)))
    face = rng.integers(0, 2 * n_space, n)
    z[np.arange(n), 1 + face // 2] = np.where(face % 2 == 0, -1.0, 1.0)
    names = dict(zip(symbols.coordinates, (z * half + centre).T, strict=True))
    points, values, kinds, rows = [], [], [], []
    for k, v in enumerate(problem.boundary):
        points.append(z)
        values.append(np.broadcast_to(np.asarray(v.expression(names), dtype=np.float64), (n,)))
        kinds.append(v.target)
        rows.append(np.arange(k * n, (k + 1) * n))
    if not points:
        raise InputError("no boundary values: give them (u = 0), or periodic, or data", options=("boundary",))
    return np.concatenate(points), np.concatenate(values), kinds, rows


def _data_edges(
    data: Dataset, centre: np.ndarray, half: np.ndarray, n_targets: int
) -> tuple[np.ndarray, np.ndarray, list[Factor], list[np.ndarray]]:
    """Every grid point of ``data`` on a spatial face, each field's values there."""
    if not data.grid:
        raise InputError("boundary values from data need data on a grid", options=("boundary",))
    shape = data.shape
    edge = np.zeros(shape, dtype=bool)
    for axis in range(1, len(shape)):
        index: list[Any] = [slice(None)] * len(shape)
        for end in (0, shape[axis] - 1):
            index[axis] = end
            edge[tuple(index)] = True
    x, u = data.points()
    keep = edge.ravel()
    z = (x[keep] - centre) / half
    n = len(z)
    kinds = [Factor(f, (0,) * (len(shape) - 1)) for f in range(n_targets)]
    return (
        np.concatenate([z] * n_targets),
        np.concatenate([u[keep, f] for f in range(n_targets)]),
        kinds,
        [np.arange(f * n, (f + 1) * n) for f in range(n_targets)],
    )


__all__ = ["Points", "training_points"]
