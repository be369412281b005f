"""PDE-FIND style discovery: derivatives of the (smoothed) data on the grid, the library evaluated pointwise,
sparse regression with automatic model selection (Rudy, Brunton, Proctor and Kutz, "Data-driven discovery of
partial differential equations", Science Advances 3, 2017).

Derivatives are Savitzky-Golay (local polynomial) derivatives, one filter per axis; each axis's window
passes the wavenumbers where the data's spectrum stands above its noise floor
(:func:`~deepmod.derivatives.noise_cutoff`) and the polynomial degree is the derivative order plus two.
Points within a window of an edge are left out of the regression.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from deepmod.data.dataset import Dataset
from deepmod.derivatives.smoothing import noise_cutoff, savgol_derivative, savgol_half_width
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.library import CandidateLibrary
from deepmod.method import Method, check_library_size
from deepmod.regression.selection import CrossValidatedPath
from deepmod.result import Result


@dataclass
class SmoothingPlan:
    """Savitzky-Golay windows per axis for derivatives of noisy grid data.

    Each axis's window passes the wavenumbers up to the data's noise cutoff; the degree is the highest
    derivative order wanted along the axis plus two. ``interior`` leaves out a window's width at each edge.
    """

    coords: list[np.ndarray]
    widths: list[int]
    polyorders: list[int]

    @staticmethod
    def fit(fields: list[np.ndarray], coords: list[np.ndarray], max_orders: list[int]) -> SmoothingPlan:
        polyorders = [m + 2 for m in max_orders]
        widths = []
        for axis, coord in enumerate(coords):
            cutoff = min(noise_cutoff(u, axis) for u in fields)
            widths.append(min(savgol_half_width(len(coord), cutoff, polyorders[axis]), (len(coord) - 1) // 4))
        plan = SmoothingPlan(coords, widths, polyorders)
        if any(s.stop - s.start < 2 for s in plan.interior):
            raise InputError("the grid is too small for the derivative windows the noise level calls for")
        return plan

    @property
    def interior(self) -> tuple[slice, ...]:
        return tuple(slice(w, len(c) - w) for w, c in zip(self.widths, self.coords, strict=True))

    def derivative(self, u: np.ndarray, orders: tuple[int, ...]) -> np.ndarray:
        """The derivative of ``orders`` (one per axis, time first) on the whole grid."""
        out = u
        for axis, order in enumerate(orders):
            out = savgol_derivative(out, self.coords[axis], order, axis, self.widths[axis], self.polyorders[axis])
        return out


@dataclass
class FiniteDifferences(Method):
    """Finite-difference (Savitzky-Golay) derivatives of the data plus :class:`CrossValidatedPath` selection.

    Attributes:
        regressor: sparse regression on (Theta, u_t); by default :class:`CrossValidatedPath`.
        max_rows: at most this many grid points enter the regression (a regular subsample in time).
    """

    regressor: Any = field(default_factory=CrossValidatedPath)
    max_rows: int = 100_000
    name: str = "fd"

    def run(self, data: Dataset, library: CandidateLibrary, seed: int = 0, device: str = "cpu") -> Result:
        start = time.perf_counter()
        if not data.grid or data.n_space == 0:
            raise InputError("the fd method needs PDE data on a grid (t and at least one space coordinate)")
        fields = [np.asarray(data.fields[n], dtype=np.float64) for n in data.field_names]
        coords = [np.asarray(data.coords[n], dtype=np.float64) for n in data.coord_names]
        n_axes = len(coords)
        max_order = [1] + [max((d[k] for _, d in library.required()), default=0) for k in range(n_axes - 1)]
        plan = SmoothingPlan.fit(fields, coords, max_order)
        interior = plan.interior

        def derivative(u: np.ndarray, orders: tuple[int, ...]) -> np.ndarray:
            return plan.derivative(u, orders)[interior]

        step = max(1, int(np.ceil(np.prod([s.stop - s.start for s in interior]) / self.max_rows)))
        rows = (slice(None, None, step),)
        values = {(f, d): torch.from_numpy(derivative(fields[f], (0, *d))[rows].ravel()) for f, d in library.required()}
        theta = library.evaluate(values).numpy()
        check_library_size(len(theta), theta.shape[1])
        names, symbols = library.names, library.symbols
        equations, paths = [], {}
        for f in range(len(fields)):
            u_t = derivative(fields[f], (1,) + (0,) * (n_axes - 1))[rows].ravel()
            reg = copy.deepcopy(self.regressor).fit(theta, u_t)
            coef = np.asarray(reg.coef_, dtype=np.float64)
            equations.append(Equation(symbols.lhs(f), {names[j]: float(coef[j]) for j in np.flatnonzero(coef)}))
            paths[symbols.lhs(f)] = getattr(reg, "summary_", None)
        settings = {
            "savgol_half_widths": dict(zip(data.coord_names, plan.widths, strict=True)),
            "savgol_polyorders": dict(zip(data.coord_names, plan.polyorders, strict=True)),
            "rows": len(theta),
            "regressor": repr(self.regressor),
            "selection": paths,
        }
        return Result(equations, self.name, names, "converged", 0, time.perf_counter() - start, settings=settings)
