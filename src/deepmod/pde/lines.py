"""The method of lines in torch: a PDE on a uniform grid as a vector field ``(t, y) -> dy/dt`` that torchdiffeq
integrates with direct or adjoint gradients.

The state is every field on the whole grid, flattened: ``(..., n_fields * n_points)``. Spatial derivatives are
convolutions (:mod:`deepmod.derivatives.stencils`). On a periodic axis they wrap. On any other axis the
right-hand side is computed where every stencil fits, and the ``margin`` points at each end are the boundary,
whose rate of change is the data's (a cubic spline of the record in time, as in :func:`deepmod.simulate`).
Terms are evaluated by the one term evaluator (:class:`~deepmod.library.TermEvaluator`), on tensors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from deepmod.data.dataset import Dataset
from deepmod.derivatives.stencils import Stencils
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.library import DerivativeKey, TermEvaluator
from deepmod.terms import Symbols

UNIFORM = 1e-8
"""Largest relative deviation of a grid step from the mean step for the grid to count as uniform."""


@dataclass(frozen=True)
class LinesGrid:
    """A uniform grid for the method of lines.

    Attributes:
        axes: the spatial coordinate arrays.
        periodic: per axis, whether it wraps.
        n_fields: fields in the state.
        boundary: the record ``(n_times, n_fields, *shape)`` and its times, whose cubic spline gives the
            boundary's rate on non-periodic axes (``None`` when every axis is periodic).
    """

    axes: tuple[np.ndarray, ...]
    periodic: tuple[bool, ...]
    n_fields: int
    boundary: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.axes)

    @property
    def spacings(self) -> tuple[float, ...]:
        return tuple(float(a[1] - a[0]) for a in self.axes)

    @staticmethod
    def of(data: Dataset, periodic: Sequence[bool], record: tuple[np.ndarray, np.ndarray] | None = None) -> LinesGrid:
        """The grid of grid ``data`` (uniform spatial axes only; time is the first axis). ``record``: the times and
        values ``(n_times, n_fields, *shape)`` whose spline drives the boundary (default: all of ``data``'s)."""
        axes = tuple(np.asarray(data.coords[c], dtype=np.float64) for c in data.coord_names[1:])
        for name, a in zip(data.coord_names[1:], axes, strict=True):
            steps = np.diff(a)
            if len(a) < 5 or np.ptp(steps) > UNIFORM * abs(steps.mean()) * len(a):
                raise InputError(f"the method of lines in torch needs a uniform grid of 5 or more points in {name}")
        if all(periodic):
            return LinesGrid(axes, tuple(periodic), len(data.field_names))
        if record is None:
            values = np.stack([np.asarray(data.fields[f], dtype=np.float64) for f in data.field_names], axis=1)
            record = (np.asarray(data.coords[data.coord_names[0]], dtype=np.float64), values)
        return LinesGrid(axes, tuple(periodic), len(data.field_names), record)


class Lines(nn.Module):
    """The base of method-of-lines vector fields: reshapes the state, computes derivatives where the stencils
    fit, and puts the boundary's rate back on non-periodic axes. Subclasses give :meth:`interior_rates`.

    Args:
        grid: the grid.
        margin: points at each end of a non-periodic axis that are boundary.
    """

    def __init__(self, grid: LinesGrid, margin: int) -> None:
        super().__init__()
        self.grid = grid
        self.margin = margin
        self._spline: Any = None
        self._mesh = [torch.as_tensor(m) for m in np.meshgrid(*grid.axes, indexing="ij")]
        if grid.boundary is not None:
            from scipy.interpolate import CubicSpline

            t, record = grid.boundary
            self._spline = CubicSpline(t, record, axis=0).derivative()

    def interior_rates(self, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """``du/dt`` at the interior: ``u`` is ``(..., n_fields, *shape)``; returns ``(..., n_fields, *inner)``
        with ``margin`` points fewer at each end of every non-periodic axis."""
        raise NotImplementedError

    def interior(self, u: torch.Tensor) -> torch.Tensor:
        """``u`` ``(..., *shape)`` cut to the interior."""
        out = u
        n_space = len(self.grid.shape)
        for k, periodic in enumerate(self.grid.periodic):
            if not periodic and self.margin:
                axis = out.dim() - n_space + k
                out = out.narrow(axis, self.margin, out.shape[axis] - 2 * self.margin)
        return out

    def forward(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        u = y.reshape(*y.shape[:-1], self.grid.n_fields, *self.grid.shape)
        rates = self.interior_rates(t, u)
        if self._spline is None:
            return rates.reshape(y.shape)
        full = torch.as_tensor(self._spline(float(t)), dtype=y.dtype, device=y.device).expand_as(u).clone()
        index: tuple[Any, ...] = (..., *self._interior_slices())
        full[index] = rates
        return full.reshape(y.shape)

    def _interior_slices(self) -> list[slice]:
        m = self.margin
        return [
            slice(None) if p or not m else slice(m, n - m)
            for n, p in zip(self.grid.shape, self.grid.periodic, strict=True)
        ]

    def coordinates(
        self, needed: set[DerivativeKey], t: torch.Tensor, like: torch.Tensor
    ) -> dict[DerivativeKey, torch.Tensor]:
        """The coordinate factors among ``needed`` (time -1, then space -2, ...) on the interior, like ``like``."""
        out = {}
        for key in needed:
            if key[0] == -1:
                out[key] = t.to(like.dtype) * torch.ones_like(like)
            elif key[0] < -1:
                values = self._mesh[-2 - key[0]].to(dtype=like.dtype, device=like.device)
                out[key] = self.interior(values).expand_as(like)
        return out


class EquationLines(Lines):
    """The method of lines of polynomial PDEs in the fields and their derivatives (one equation per field), with
    some coefficients free (trainable) and the rest fixed: the symbolic model a universal PDE is refitted as.

    Args:
        equations: one per field (a field without one does not change).
        symbols: the data's symbols (field and coordinate names).
        grid: the grid.
        width: the narrowest derivative stencil (odd); wider where an order needs it.
        free: per left-hand side, the names of the coefficients that are trained.
        margin: at least this many boundary points (a model sharing its boundary with wider stencils).
    """

    def __init__(
        self,
        equations: Sequence[Equation],
        symbols: Symbols,
        grid: LinesGrid,
        width: int = 3,
        free: Mapping[str, Sequence[str]] | None = None,
        margin: int = 0,
    ) -> None:
        by_lhs = {eq.lhs: eq for eq in equations}
        self.evaluators: list[TermEvaluator] = []
        fixed, trained, masks, units = [], [], [], []
        self.names: list[list[str]] = []
        for k in range(grid.n_fields):
            eq = by_lhs.get(symbols.lhs(k), Equation(symbols.lhs(k), {}))
            names = list(eq.coefficients)
            self.names.append(names)
            free_names = set((free or {}).get(eq.lhs, ()))
            self.evaluators.append(TermEvaluator([symbols.parse(n) for n in names]))
            values = [float(eq.coefficients[n]) for n in names]
            masks.append([n in free_names for n in names])
            fixed.append(torch.tensor(values, dtype=torch.float64))
            units.append(torch.tensor([abs(v) if v else 1.0 for v in values], dtype=torch.float64))
            trained.append(nn.Parameter(fixed[-1] / units[-1]))
        needed = set().union(*(e.required() for e in self.evaluators))
        max_order = max((max(d, default=0) for f, d in needed if f >= 0), default=0)
        stencils = Stencils(grid.spacings, grid.periodic, width, max_order=max(max_order, 1), margin=margin)
        super().__init__(grid, stencils.margin)
        self.stencils = stencils
        self.fixed = fixed
        self.units = units
        self.coefficients = nn.ParameterList(trained)
        self.masks = [torch.tensor(m, dtype=torch.bool) for m in masks]
        self.needed = needed
        self.symbols = symbols

    def interior_rates(self, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        values = derivative_values(u, self.needed, self.stencils)
        like = self.interior(u.select(u.dim() - len(self.grid.shape) - 1, 0))
        values.update(self.coordinates(self.needed, t, like))
        rates = []
        for k, (evaluator, trained) in enumerate(zip(self.evaluators, self.coefficients, strict=True)):
            coefficients = self._coefficients(k, trained)
            if not evaluator.terms:
                rates.append(torch.zeros_like(like))
                continue
            terms: Any = coefficients.unbind()
            rates.append(evaluator.combine(values, terms, like=like))
        return torch.stack(rates, dim=-1 - len(self.grid.shape))

    def _coefficients(self, k: int, trained: torch.Tensor) -> torch.Tensor:
        """Field ``k``'s coefficients: the free ones trained in units of their starting size (an L-BFGS step
        then moves a coefficient of 0.01 and one of 1 alike), the rest fixed."""
        device = trained.device
        free = trained * self.units[k].to(device)
        return torch.where(self.masks[k].to(device), free, self.fixed[k].to(device))

    def equations(self) -> list[Equation]:
        """The equations with the current coefficients."""
        out = []
        for k, (names, trained) in enumerate(zip(self.names, self.coefficients, strict=True)):
            values = self._coefficients(k, trained.detach()).cpu().tolist()
            out.append(Equation(self.symbols.lhs(k), dict(zip(names, values, strict=True))))
        return out


def derivative_values(u: torch.Tensor, needed: set[DerivativeKey], stencils: Stencils) -> dict[DerivativeKey, Any]:
    """The fields' derivatives in ``needed`` at the interior, from ``u`` ``(..., n_fields, *shape)``."""
    n_space = len(stencils.spacings)
    out: dict[DerivativeKey, Any] = {}
    for f, d in needed:
        if f < 0:
            continue
        field = u.select(u.dim() - n_space - 1, f)
        out[(f, d)] = stencils(field, d if d else (0,) * n_space)
    return out


__all__ = ["EquationLines", "Lines", "LinesGrid", "derivative_values"]
