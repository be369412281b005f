"""The one data container: named coordinates (time first) and named fields, on a grid or scattered.

Every loader and synthetic generator produces a :class:`Dataset`; every method consumes one. Validation
happens here, once, so later code can trust its input.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from deepmod.errors import InputError


@dataclass(frozen=True)
class Dataset:
    """Samples of one or more fields over named coordinates.

    Attributes:
        coords: coordinate name -> values, time first. On a grid each is the 1-D axis (strictly
            increasing); scattered, each is the 1-D array of sample positions, all of equal length.
        fields: field name -> values. On a grid each has shape ``(len(t), len(x), ...)`` in coordinate
            order; scattered, shape ``(n_points,)``.
        grid: whether the data lie on a tensor-product grid.
        source: where the data came from (file name or generator), for reports.
        inputs: the last fields, given by the data and used in terms but with no equation of their own (a
            forcing, a potential, a velocity field).
        runs: further trajectories of the same system (same coordinate and field names, their own samples):
            a record of several runs is this data set, the first, with the others here. The weak and fd
            methods stack the runs' rows; the other methods take one trajectory.

    Data with time as the only coordinate are an ODE system.
    """

    coords: dict[str, np.ndarray]
    fields: dict[str, np.ndarray]
    grid: bool
    source: str = ""
    inputs: tuple[str, ...] = ()
    runs: tuple[Dataset, ...] = ()

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def coord_names(self) -> tuple[str, ...]:
        return tuple(self.coords)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(self.fields)

    @property
    def targets(self) -> tuple[str, ...]:
        """The fields to find equations for: all but the :attr:`inputs`."""
        return tuple(n for n in self.fields if n not in self.inputs)

    @property
    def n_space(self) -> int:
        """Number of spatial coordinates (0 for an ODE system)."""
        return len(self.coords) - 1

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape ``(n_t, n_x, ...)``, or ``(n_points,)`` for scattered data."""
        return next(iter(self.fields.values())).shape

    @property
    def n_points(self) -> int:
        return int(np.prod(self.shape))

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """All samples as ``(X, U)``: X of shape ``(n_points, n_coords)``, U of ``(n_points, n_fields)``."""
        if self.grid:
            mesh = np.meshgrid(*self.coords.values(), indexing="ij")
            x = np.stack([m.ravel() for m in mesh], axis=1)
        else:
            x = np.stack(list(self.coords.values()), axis=1)
        u = np.stack([f.ravel() for f in self.fields.values()], axis=1)
        return x.astype(np.float64), u.astype(np.float64)

    def coord_ranges(self) -> np.ndarray:
        """``(n_coords, 2)`` array of (min, max) per coordinate."""
        return np.array([[c.min(), c.max()] for c in self.coords.values()], dtype=np.float64)

    def with_fields(self, fields: dict[str, np.ndarray], source: str | None = None) -> Dataset:
        """A copy with the same coordinates and new field values of the same shapes."""
        return Dataset(dict(self.coords), fields, self.grid, self.source if source is None else source, self.inputs)

    @property
    def trajectories(self) -> tuple[Dataset, ...]:
        """Every run, this one first (its :attr:`runs` left out of each)."""
        return (dataclasses.replace(self, runs=()), *self.runs)

    def with_inputs(self, names: tuple[str, ...] | list[str]) -> Dataset:
        """A copy in which ``names`` are the :attr:`inputs`: moved, in that order, after the fields to fit.

        Raises:
            InputError: for a name that is not a field, or when no field would be left to fit.
        """
        unknown = [n for n in names if n not in self.fields]
        if unknown:
            raise InputError(
                f"input {', '.join(unknown)} is not among the fields ({', '.join(self.fields)}): name it in fields too",
                options=("inputs", "fields"),
            )
        order = [n for n in self.fields if n not in names] + list(names)
        runs = tuple(r.with_inputs(names) for r in self.runs)
        fields = {n: self.fields[n] for n in order}
        return Dataset(dict(self.coords), fields, self.grid, self.source, tuple(names), runs)

    def to_scattered(self) -> Dataset:
        """The same samples as scattered points."""
        if not self.grid:
            return self
        x, u = self.points()
        return Dataset(
            {n: x[:, i] for i, n in enumerate(self.coords)},
            {n: u[:, i] for i, n in enumerate(self.fields)},
            grid=False,
            source=self.source,
            inputs=self.inputs,
        )

    def to_torch(
        self, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`points` as tensors on ``device``."""
        x, u = self.points()
        return torch.as_tensor(x, dtype=dtype, device=device), torch.as_tensor(u, dtype=dtype, device=device)


def _validate(ds: Dataset) -> None:
    if not ds.coords:
        raise InputError(
            "the data set has no coordinates: name at least the time coordinate, e.g. t,x", options=("coords",)
        )
    if not ds.fields:
        raise InputError("the data set has no fields: name at least one, e.g. u", options=("fields",))
    for kind, arrays in (("coordinate", ds.coords), ("field", ds.fields)):
        for name, a in arrays.items():
            if not isinstance(a, np.ndarray) or a.dtype.kind not in "iuf":
                raise InputError(f"{kind} '{name}' is not a real numeric array: convert it to numbers first")
            if a.size == 0:
                raise InputError(f"{kind} '{name}' is empty: give at least a few samples")
            if not np.all(np.isfinite(a)):
                raise InputError(
                    f"{kind} '{name}' contains NaN or infinite values: remove those samples, or leave out the NaN "
                    "points (mask_nan)",
                    options=("mask_nan",),
                )
    names = tuple(ds.fields)
    if ds.inputs and (names[len(names) - len(ds.inputs) :] != tuple(ds.inputs) or len(ds.inputs) == len(names)):
        raise InputError(
            f"the inputs {', '.join(ds.inputs)} must be the last of the fields ({', '.join(names)}) and leave at "
            "least one field to fit",
            options=("inputs",),
        )
    for run in ds.runs:
        if run.coord_names != ds.coord_names or run.field_names != ds.field_names or run.inputs != ds.inputs:
            raise InputError("every run of a record needs the same coordinates, fields and inputs")
    for name, c in ds.coords.items():
        if c.ndim != 1:
            raise InputError(f"coordinate '{name}' must be a 1-D array, got shape {c.shape}")
    if ds.grid:
        _validate_grid(ds)
    else:
        _validate_scattered(ds)


def _validate_grid(ds: Dataset) -> None:
    shape = tuple(len(c) for c in ds.coords.values())
    for name, c in ds.coords.items():
        d = np.diff(c)
        if np.any(d == 0):
            raise InputError(f"coordinate '{name}' has duplicate values: each grid value must appear once")
        if np.any(d < 0):
            raise InputError(f"coordinate '{name}' is not sorted: grid coordinates must increase")
        if len(c) < 3:
            raise InputError(f"coordinate '{name}' has {len(c)} values: at least 3 are needed to differentiate")
    for name, f in ds.fields.items():
        if f.shape != shape:
            raise InputError(f"field '{name}' has shape {f.shape} but the coordinates {list(ds.coords)} give {shape}")


def _validate_scattered(ds: Dataset) -> None:
    n = len(next(iter(ds.coords.values())))
    for kind, arrays in (("coordinate", ds.coords), ("field", ds.fields)):
        for name, a in arrays.items():
            if a.ndim != 1 or len(a) != n:
                raise InputError(
                    f"{kind} '{name}' has shape {a.shape}, but scattered data need 1-D arrays of one length ({n})"
                )
    if n < 10:
        raise InputError(f"only {n} samples: discovery needs at least 10 points, preferably thousands")
    x = np.stack(list(ds.coords.values()), axis=1)
    if len(np.unique(x, axis=0)) != n:
        raise InputError("some scattered samples share the same coordinates: average or drop the duplicates")
