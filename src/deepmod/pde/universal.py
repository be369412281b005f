"""Universal PDEs: known terms plus a learnable stencil and a network of the local field values, as one
method-of-lines vector field (Rackauckas et al. 2020, "Universal differential equations for scientific machine
learning", the Fisher-KPP CNN example).

``u_t = known(u) + c * (w * u) / dx^p + N(u)``: ``w * u`` is a convolution with learnable weights ``w`` (a
learnable derivative, started at the Fornberg weights of order ``p``), ``c`` a learnable coefficient, and
``N`` a tanh network applied at every grid point to the fields' values there (a learnable reaction term).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from deepmod.derivatives.stencils import apply_kernel, apply_stencil, centred_weights
from deepmod.pde.lines import EquationLines, Lines, LinesGrid
from deepmod.universal.fields import NeuralField


class LearnedStencil(nn.Module):
    """A learnable derivative of one field: ``coefficient * (w * u) / dx^order``.

    In 1-D ``w`` has ``width`` weights; in 2-D it is a ``(width, width)`` kernel, started at the sum of the
    two axes' Fornberg stencils. ``zero_sum`` removes the stencil's mean (it then has no ``u`` part: that is the
    network's); ``symmetric`` makes it even (no odd derivatives). The coefficient is
    ``coefficient_scale * raw`` so that the trained number is of order one.

    Args:
        grid: the grid (the stencil acts on its spacings and periodicity).
        width: odd number of nodes per axis.
        order: the derivative whose Fornberg weights start ``w`` (and the power of ``dx``).
        zero_sum, symmetric: constraints.
        coefficient_scale: a typical size of the coefficient.
    """

    coefficient_scale: torch.Tensor

    def __init__(
        self,
        grid: LinesGrid,
        width: int = 3,
        order: int = 2,
        zero_sum: bool = True,
        symmetric: bool = False,
        coefficient_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if not 0 < order < width:
            raise ValueError(f"a stencil of width {width} cannot start as a derivative of order {order}")
        self.grid = grid
        self.width = width
        self.order = order
        self.zero_sum = zero_sum
        self.symmetric = symmetric
        self.unit = float(np.mean(grid.spacings)) ** order
        w = centred_weights(width, order)
        if len(grid.shape) == 2:
            delta = np.zeros(width)
            delta[width // 2] = 1.0
            w = np.outer(w, delta) + np.outer(delta, w)
        elif len(grid.shape) != 1:
            raise ValueError("learned stencils are for one or two spatial dimensions")
        self.weights = nn.Parameter(torch.as_tensor(w, dtype=torch.float64))
        self.raw = nn.Parameter(torch.zeros((), dtype=torch.float64))
        self.register_buffer("coefficient_scale", torch.tensor(float(coefficient_scale), dtype=torch.float64))

    def constrained(self) -> torch.Tensor:
        """The weights after the constraints, in grid units."""
        w: torch.Tensor = self.weights
        if self.symmetric:
            w = (w + torch.flip(w, dims=list(range(w.dim())))) / 2
        if self.zero_sum:
            w = w - w.mean()
        return w

    def effective(self) -> np.ndarray:
        """The stencil in physical units, ``coefficient * w / dx^order``: what :func:`stencil_derivatives` reads."""
        with torch.no_grad():
            return (self.coefficient() * self.constrained() / self.unit).cpu().numpy()

    def coefficient(self) -> torch.Tensor:
        return self.raw * self.coefficient_scale

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        """``u`` ``(..., *shape)`` -> the stencil's output where it fits (``width // 2`` off non-periodic ends)."""
        w = self.constrained() * (self.coefficient() / self.unit)
        n_space = len(self.grid.shape)
        if n_space == 1:
            return apply_stencil(u, w, u.dim() - 1, self.grid.periodic[0])
        return apply_kernel(u, w, (u.dim() - 2, u.dim() - 1), (self.grid.periodic[0], self.grid.periodic[1]))


class UniversalPDE(Lines):
    """``u_t = known(u) + stencil(u) + network(u)`` on a grid, one equation per field, as a vector field.

    Args:
        known: the known part, built with the same grid (its fixed coefficients are not trained).
        stencils: one learned stencil per field (in field order), or ``None`` for none.
        network: a pointwise network of the fields (``(..., n_fields) -> (..., n_fields)``), or ``None``.
    """

    def __init__(
        self,
        known: EquationLines,
        stencils: Sequence[LearnedStencil] | None = None,
        network: NeuralField | None = None,
    ) -> None:
        self.widths = [s.width for s in stencils or ()]
        super().__init__(known.grid, max([known.margin, *(w // 2 for w in self.widths)]))
        if self.margin != known.margin:
            raise ValueError("build the known part with the learned stencils' margin (EquationLines(margin=...))")
        self.known = known
        for p in known.parameters():
            p.requires_grad_(False)
        self.stencils = nn.ModuleList(stencils or [])
        self.network = network

    def learned(self, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """The learned part at the interior, ``(..., n_fields, *inner)``."""
        n_space = len(self.grid.shape)
        field_axis = u.dim() - n_space - 1
        inner = self.interior(u)
        if self.stencils:
            parts = [
                self._cut(stencil(u.select(field_axis, k)), self.margin - width // 2)
                for k, (stencil, width) in enumerate(zip(self.stencils, self.widths, strict=True))
            ]
            out = torch.stack(parts, dim=field_axis)
        else:
            out = torch.zeros_like(inner)
        if self.network is not None:
            out = out + torch.movedim(self.network(t, torch.movedim(inner, field_axis, -1)), -1, field_axis)
        return out

    @property
    def width(self) -> int:
        """The stencil width of the model's derivatives: the learned stencils' or the known part's."""
        return max(self.widths, default=self.known.stencils.width)

    def _cut(self, part: torch.Tensor, cut: int) -> torch.Tensor:
        if not cut:
            return part
        n_space = len(self.grid.shape)
        for k, periodic in enumerate(self.grid.periodic):
            if not periodic:
                axis = part.dim() - n_space + k
                part = part.narrow(axis, cut, part.shape[axis] - 2 * cut)
        return part

    def interior_rates(self, t: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.known.interior_rates(t, u) + self.learned(t, u)


__all__ = ["LearnedStencil", "UniversalPDE"]
