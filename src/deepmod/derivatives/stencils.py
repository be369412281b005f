"""Stencils in torch: derivatives on uniform grids as (learnable) convolutions, and stencils read back as
derivatives.

A derivative stencil of width ``w = 2h + 1`` on a uniform grid of spacing ``dx`` is a convolution: ``(S u)_i =
sum_k s_k u_{i+k}``, ``k = -h..h``. Its initial values are Fornberg weights (:func:`fornberg_weights`), so a
fixed stencil here equals the numpy one. On a periodic axis the convolution wraps; on any other axis it is
taken where the whole stencil fits (the ``h`` edge points on each side are the boundary, whose values come
from elsewhere: the data).

Reading back: the Fornberg stencils of orders ``0..w-1`` on the same nodes are a basis of all width-``w``
stencils (their moment matrix is triangular with a non-zero diagonal), so any stencil is exactly
``s = sum_m a_m F_m / dx^m``, the combination ``a_0 u + a_1 u_x + ... + a_{w-1} d^{w-1}u/dx^{w-1}`` that it
approximates to order ``w - m`` (:func:`stencil_derivatives`). In 2-D the outer products ``F_m (x) F_n``
play the same part, with ``a_mn`` the coefficient of the mixed derivative of orders (m, n).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from deepmod.derivatives.finite_difference import fornberg_weights


def centred_weights(width: int, order: int) -> np.ndarray:
    """Fornberg weights of a centred stencil of ``width`` (odd) nodes for the ``order``-th derivative, in
    units of the grid spacing (divide by ``dx**order``). Shape ``(width,)``."""
    if width < 1 or width % 2 == 0:
        raise ValueError(f"a centred stencil needs an odd width, got {width}")
    h = width // 2
    return fornberg_weights(0.0, np.arange(-h, h + 1, dtype=np.float64), order)


def width_for(order: int, width: int = 3) -> int:
    """The smallest odd width of at least ``width`` that can take a derivative of ``order``."""
    need = order + 1 + (order % 2 == 1)
    return max(width, need)


def apply_stencil(u: torch.Tensor, weights: torch.Tensor, axis: int, periodic: bool) -> torch.Tensor:
    """``sum_k weights[k] u_{i+k-h}`` along ``axis`` (weights in grid units, differentiable in both).

    Periodic: the result has ``u``'s shape. Otherwise it is taken where the stencil fits: ``h`` points shorter
    at each end of ``axis``.
    """
    width = weights.shape[0]
    h = width // 2
    n = u.shape[axis]
    if periodic:
        parts = [weights[k] * torch.roll(u, shifts=h - k, dims=axis) for k in range(width)]
    else:
        parts = [weights[k] * u.narrow(axis, k, n - 2 * h) for k in range(width)]
    return torch.stack(parts).sum(0)


def apply_kernel(
    u: torch.Tensor, kernel: torch.Tensor, axes: tuple[int, int], periodic: tuple[bool, bool]
) -> torch.Tensor:
    """A 2-D stencil ``kernel`` ``(w, w)`` over the two ``axes`` (as :func:`apply_stencil` along each)."""
    width = kernel.shape[0]
    rows = [apply_stencil(u, kernel[i], axes[1], periodic[1]) for i in range(width)]
    h = width // 2
    if periodic[0]:
        parts = [torch.roll(rows[i], shifts=h - i, dims=axes[0]) for i in range(width)]
    else:
        n = rows[0].shape[axes[0]]
        parts = [rows[i].narrow(axes[0], i, n - 2 * h) for i in range(width)]
    return torch.stack(parts).sum(0)


class Stencils(torch.nn.Module):
    """Fixed Fornberg derivatives on a uniform grid, as convolutions: the torch counterpart of
    :func:`~deepmod.derivatives.finite_difference.differentiate` for the method of lines.

    Args:
        spacings: the grid spacing of each spatial axis.
        periodic: per axis, whether it wraps.
        width: the narrowest stencil used (odd); a derivative of higher order gets the narrowest odd width
            that can take it (:func:`width_for`).
        dtype: of the weights.
        max_order: the highest derivative order asked for.
        margin: cut at least this many points off each end of a non-periodic axis (a model that mixes these
            stencils with wider ones cuts all to the widest).

    A call with ``u`` of shape ``(..., n_1[, n_2])`` and a multi-index ``(m[, n])`` gives the derivative where
    every stencil fits: :attr:`margin` points shorter at each end of every non-periodic axis.
    """

    def __init__(
        self,
        spacings: Sequence[float],
        periodic: Sequence[bool],
        width: int = 3,
        dtype: torch.dtype = torch.float64,
        max_order: int = 4,
        margin: int = 0,
    ) -> None:
        super().__init__()
        self.spacings = [float(d) for d in spacings]
        self.periodic = [bool(p) for p in periodic]
        self.width = width
        self.margin = max(margin, width_for(max_order, width) // 2)
        for order in range(1, max_order + 1):
            w = centred_weights(width_for(order, width), order)
            self.register_buffer(f"w{order}", torch.as_tensor(w, dtype=dtype))

    def weights(self, order: int) -> torch.Tensor:
        """The centred weights of ``order`` in grid units."""
        return getattr(self, f"w{order}")

    def forward(self, u: torch.Tensor, derivative: tuple[int, ...]) -> torch.Tensor:
        n_space = len(self.spacings)
        out = u
        for k, order in enumerate(derivative):
            axis = u.dim() - n_space + k
            if order:
                w = self.weights(order) / self.spacings[k] ** order
                out = apply_stencil(out, w, axis, self.periodic[k])
            out = self._trim(out, axis, order, k)
        return out

    def _trim(self, out: torch.Tensor, axis: int, order: int, k: int) -> torch.Tensor:
        """Cut a non-periodic axis to the common interior (``margin`` points off each end)."""
        if self.periodic[k]:
            return out
        used = width_for(order, self.width) // 2 if order else 0
        cut = self.margin - used
        return out.narrow(axis, cut, out.shape[axis] - 2 * cut) if cut else out


def stencil_derivatives(weights: np.ndarray, spacing: float) -> np.ndarray:
    """The derivative combination a 1-D stencil approximates: ``a`` with ``s = sum_m a_m F_m / dx^m``,
    ``F_m`` the centred Fornberg stencil of order ``m`` on the same ``w`` nodes; ``a[m]`` is the coefficient of
    the ``m``-th derivative. Exact (a change of basis). Shape ``(w,)``."""
    s = np.asarray(weights, dtype=np.float64)
    basis = np.stack([centred_weights(len(s), m) for m in range(len(s))], axis=1)
    return np.linalg.solve(basis, s) * spacing ** np.arange(len(s))


def kernel_derivatives(kernel: np.ndarray, spacings: tuple[float, float]) -> np.ndarray:
    """The 2-D version of :func:`stencil_derivatives`: ``a[m, n]`` is the coefficient of the mixed derivative of
    orders (m, n) that the ``(w, w)`` kernel (first index along the first axis) approximates."""
    k = np.asarray(kernel, dtype=np.float64)
    w = k.shape[0]
    basis = np.linalg.inv(np.stack([centred_weights(w, m) for m in range(w)], axis=1))
    powers = np.arange(w)
    return basis @ k @ basis.T * np.outer(spacings[0] ** powers, spacings[1] ** powers)


__all__ = [
    "Stencils",
    "apply_kernel",
    "apply_stencil",
    "centred_weights",
    "kernel_derivatives",
    "stencil_derivatives",
    "width_for",
]
