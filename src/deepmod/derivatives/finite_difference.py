"""Finite-difference derivatives on grids: Fornberg weights for any order, accuracy and spacing.

Weights come from Fornberg's recursion (B. Fornberg, "Generation of finite difference formulas on
arbitrarily spaced grids", Math. Comp. 51, 1988), so non-uniform grids are handled exactly. Interior
points use centred stencils; near the edges the stencil slides inwards (one-sided), keeping its width.
"""

from __future__ import annotations

import numpy as np


def fornberg_weights(x0: float, nodes: np.ndarray, order: int) -> np.ndarray:
    """Weights ``w`` such that ``sum(w * f(nodes)) ~ f^(order)(x0)``.

    Args:
        x0: the point at which the derivative is wanted.
        nodes: stencil positions, shape ``(n,)``, distinct; ``n > order``.
        order: derivative order m >= 0.

    Returns:
        Array of shape ``(n,)``.
    """
    nodes = np.asarray(nodes, dtype=np.float64)
    n = len(nodes)
    if order < 0 or n <= order:
        raise ValueError(f"a stencil of {n} nodes cannot give a derivative of order {order}")
    c = np.zeros((n, order + 1))
    c1, c4 = 1.0, nodes[0] - x0
    c[0, 0] = 1.0
    for i in range(1, n):
        mn = min(i, order)
        c2, c5, c4 = 1.0, c4, nodes[i] - x0
        for j in range(i):
            c3 = nodes[i] - nodes[j]
            c2 *= c3
            if j == i - 1:
                for k in range(mn, 0, -1):
                    c[i, k] = c1 * (k * c[i - 1, k - 1] - c5 * c[i - 1, k]) / c2
                c[i, 0] = -c1 * c5 * c[i - 1, 0] / c2
            for k in range(mn, 0, -1):
                c[j, k] = (c4 * c[j, k] - k * c[j, k - 1]) / c3
            c[j, 0] = c4 * c[j, 0] / c3
        c1 = c2
    return c[:, order]


def differentiate(f: np.ndarray, x: np.ndarray, order: int, axis: int = 0, accuracy: int = 4) -> np.ndarray:
    """The ``order``-th derivative of samples ``f`` along ``axis`` of grid coordinate ``x``.

    Uses stencils of ``order + accuracy - 1`` nodes (rounded up to odd) so the truncation error is
    O(h^accuracy) in the interior on a uniform grid; edges use one-sided stencils of the same width.
    On a uniform grid the interior is one convolution with a single kernel.
    """
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    width = order + accuracy - 1
    width += 1 - width % 2
    if width > n:
        raise ValueError(f"{n} grid points are too few for a derivative of order {order} at accuracy {accuracy}")
    f = np.moveaxis(np.asarray(f, dtype=np.float64), axis, 0)
    out = np.empty_like(f)
    half = width // 2
    h = np.diff(x)
    uniform = np.allclose(h, h[0], rtol=1e-10, atol=0)
    if uniform and n > width:
        kernel = fornberg_weights(0.0, (np.arange(width) - half) * h[0], order)
        windows = np.lib.stride_tricks.sliding_window_view(f, width, axis=0)
        out[half : n - half] = windows @ kernel
        rows = [*range(half), *range(n - half, n)]
    else:
        rows = list(range(n))
    for i in rows:
        lo = min(max(i - half, 0), n - width)
        w = fornberg_weights(x[i], x[lo : lo + width], order)
        out[i] = np.tensordot(w, f[lo : lo + width], axes=(0, 0))
    return np.moveaxis(out, 0, axis)
