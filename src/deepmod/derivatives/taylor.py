"""Taylor-mode (jet) propagation: all input derivatives a network needs, in one forward pass.

A *jet* holds, for each multi-index gamma in a down-closed set S, the normalised Taylor coefficient
``f_gamma = d^gamma f / gamma!`` of a quantity with respect to the network inputs. Jets are stacked in one
tensor of shape ``(len(S), n_points, width)`` with the value (gamma = 0) first, so a linear layer maps every
stream with one batched matrix product (the bias enters the value stream only). An element-wise activation
``s`` is composed with Faa di Bruno's formula in truncated-polynomial form,

    s(z0 + d) = sum_k s^(k)(z0) / k! * d^k,

where ``d`` is the jet without its value and ``d^k`` is a truncated product (coefficient gamma sums
``a_alpha * b_beta`` over alpha + beta = gamma). Because S is down-closed, truncation is exact: each
coefficient depends only on coefficients of lower multi-indices (Griewank & Walther, *Evaluating
Derivatives*, ch. 13). Mixed derivatives such as u_xy come out of the same algebra.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence

import numpy as np
import torch

MultiIndex = tuple[int, ...]


class JetSpec:
    """A down-closed set of multi-indices over the network inputs and its product table.

    Args:
        indices: the multi-indices wanted (over all inputs, time first); their lower sets are added.
        n_inputs: number of network inputs.
    """

    def __init__(self, indices: Iterable[Sequence[int]], n_inputs: int) -> None:
        wanted = {tuple(int(i) for i in idx) for idx in indices} | {(0,) * n_inputs}
        if any(len(idx) != n_inputs or min(idx) < 0 for idx in wanted):
            raise ValueError(f"every multi-index needs {n_inputs} non-negative entries")
        closed: set[MultiIndex] = set()
        for idx in wanted:
            closed.update(itertools.product(*(range(k + 1) for k in idx)))
        self.n_inputs = n_inputs
        self.indices: list[MultiIndex] = sorted(closed, key=lambda g: (sum(g), tuple(-k for k in g)))
        self.position = {g: i for i, g in enumerate(self.indices)}
        self.max_order = max(sum(g) for g in self.indices)
        order = [sum(g) for g in self.indices]
        # products[g] lists (a, b) with a + b = g, both non-constant; ordered so a has the higher order
        self.products: list[list[tuple[int, int]]] = [
            [
                (self.position[a], self.position[b])
                for a in self.indices
                if any(a) and all(x <= y for x, y in zip(a, g, strict=True)) and sum(a) < sum(g)
                for b in [tuple(y - x for x, y in zip(a, g, strict=True))]
            ]
            for g in self.indices
        ]
        self.order = order
        self.factorials = torch.tensor(
            [math.prod(math.factorial(k) for k in g) for g in self.indices], dtype=torch.float64
        )

    def __len__(self) -> int:
        return len(self.indices)

    def seed(self, x: torch.Tensor) -> torch.Tensor:
        """The jets of the inputs themselves: value ``x`` and unit first derivatives.

        Args:
            x: inputs of shape ``(n_points, n_inputs)``.

        Returns:
            Tensor of shape ``(len(self), n_points, n_inputs)``.
        """
        unit = x.new_zeros((len(self) - 1, 1, self.n_inputs))
        for i in range(self.n_inputs):
            e = tuple(int(j == i) for j in range(self.n_inputs))
            if e in self.position:
                unit[self.position[e] - 1, 0, i] = 1.0
        return torch.cat([x.unsqueeze(0), unit.expand(-1, x.shape[0], -1)])

    def derivative(self, jets: torch.Tensor, index: Sequence[int]) -> torch.Tensor:
        """The derivative ``d^index`` (not normalised) from stacked Taylor coefficients."""
        pos = self.position[tuple(index)]
        return jets[pos] * float(self.factorials[pos])


def compose(
    scaled_derivs: Sequence[torch.Tensor], streams: Sequence[torch.Tensor], spec: JetSpec
) -> list[torch.Tensor]:
    """Apply an element-wise function to a jet, given its scaled derivatives at the value stream.

    Args:
        scaled_derivs: ``[s(z0), s'(z0)/1!, ..., s^(K)(z0)/K!]``, each shaped like ``streams[0]``, with K the
            highest total order in the jet set.
        streams: Taylor coefficients of the argument, one tensor per multi-index of ``spec``.
        spec: the jet set.

    Returns:
        The Taylor coefficients of the result, one tensor per multi-index.

    The powers ``d^k`` of the non-constant part are kept only where they can be non-zero
    (``|gamma| >= k``), each as a short sum of per-stream products: no index tensors and no slicing of
    stacked tensors, so the backward pass is a chain of plain multiplications without zero-filled buffers.
    """
    n = len(streams)
    d1 = scaled_derivs[1]
    out: list[torch.Tensor] = [scaled_derivs[0]] + [d1 * streams[g] for g in range(1, n)]
    power: list[torch.Tensor | None] = [None, *streams[1:]]
    for k in range(2, len(scaled_derivs)):
        new: list[torch.Tensor | None] = [None] * n
        for g in range(1, n):
            if spec.order[g] < k:
                continue
            total: torch.Tensor | None = None
            for a, b in spec.products[g]:
                p = power[a]
                if p is None or spec.order[a] < k - 1:
                    continue
                total = p * streams[b] if total is None else torch.addcmul(total, p, streams[b])
            if total is not None:
                new[g] = total
                out[g] = torch.addcmul(out[g], scaled_derivs[k], total)
        power = new
    return out


def tanh_derivatives(z: torch.Tensor, order: int) -> list[torch.Tensor]:
    """``[tanh(z), tanh'(z)/1!, ..., tanh^(order)(z)/order!]`` as polynomials in ``y = tanh(z)``.

    With ``p_0(y) = y`` and ``p_{k+1}(y) = p_k'(y) (1 - y^2)``.
    """
    y = torch.tanh(z)
    out = [y]
    poly = np.polynomial.Polynomial([0.0, 1.0])
    one_minus_y2 = np.polynomial.Polynomial([1.0, 0.0, -1.0])
    for k in range(1, order + 1):
        poly = poly.deriv() * one_minus_y2
        coef = np.asarray(poly.coef, dtype=np.float64) / math.factorial(k)
        val = y * float(coef[-1]) + float(coef[-2])  # Horner; the polynomials have degree k + 1 >= 2
        for c in reversed(coef[:-2]):
            val = val * y + float(c)
        out.append(val)
    return out


def sin_derivatives(z: torch.Tensor, order: int) -> list[torch.Tensor]:
    """``[sin(z), cos(z)/1!, -sin(z)/2!, -cos(z)/3!, ...]`` up to ``order``."""
    s, c = torch.sin(z), torch.cos(z)
    cycle = [(s, 1.0), (c, 1.0), (s, -1.0), (c, -1.0)]
    return [cycle[k % 4][0] * (cycle[k % 4][1] / math.factorial(k)) if k else s for k in range(order + 1)]
