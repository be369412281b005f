"""Learned coarse discretizations (after Bar-Sinai, Hoyer, Hickey and Brenner, "Learning data-driven
discretizations for partial differential equations", PNAS 116, 2019).

A known PDE is to be integrated on a grid ``factor`` times coarser than one that resolves it. Its spatial
derivatives are taken with stencils whose weights a small convolutional network chooses at every point from the
local field: ``d^m u / dx^m (x_i) ~ sum_k s_ik u_{i+k} / dx^m``. Each stencil is constrained to be exact on
polynomials of degree up to ``m + accuracy - 1`` (``accuracy`` 1: first order), built in: ``s = F + N a``,
``F`` the Fornberg stencil and ``N`` a basis of the null space of the moment conditions, so the network's output
``a`` changes only what the conditions leave free. The network starts at ``a = 0``, the Fornberg discretization.

Training matches the time derivative: on the fine data, the equation's right-hand side with spectral derivatives
(the fine grid resolves the solution), sampled at the coarse points, is the target of the coarse model's
right-hand side. The learned discretization is then integrated on the coarse grid like any method of lines.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from deepmod._random import torch_seeded
from deepmod.data.dataset import Dataset
from deepmod.derivatives.smoothing import spectral_derivative
from deepmod.derivatives.stencils import centred_weights
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.library import TermEvaluator
from deepmod.terms import Symbols


def constrained_basis(width: int, order: int, accuracy: int) -> tuple[np.ndarray, np.ndarray]:
    """The Fornberg stencil ``(w,)`` of ``order`` and a basis ``(w, w - order - accuracy)`` of the stencils that
    vanish on every polynomial of degree below ``order + accuracy`` (orthonormal columns): adding any combination
    of them keeps the stencil exact on those polynomials."""
    h = width // 2
    nodes = np.arange(-h, h + 1, dtype=np.float64)
    moments = np.stack([nodes**j for j in range(order + accuracy)])
    _, _, vt = np.linalg.svd(moments)
    return centred_weights(width, order), vt[order + accuracy :].T


@dataclass(frozen=True)
class Convolutions:
    """The stencil network's convolutions: ``layers`` periodic convolutions of ``channels`` filters of size
    ``kernel``, ReLU between them (as Bar-Sinai et al.: 3 layers of 32 filters of size 5)."""

    channels: int = 32
    layers: int = 3
    kernel: int = 5


class StencilNetwork(nn.Module):
    """A periodic CNN from the field on a coarse grid to per-point stencils, one per derivative order.

    Args:
        orders: the derivative orders wanted.
        width: stencil width (odd).
        accuracy: polynomial accuracy built into every stencil (1: first order).
        convolutions: the network's layers.
        scale: the field's typical size (inputs are divided by it).
    """

    def __init__(
        self,
        orders: Sequence[int],
        width: int = 5,
        accuracy: int = 1,
        convolutions: Convolutions | None = None,
        scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.orders = list(orders)
        self.width = width
        self.scale = float(scale)
        sizes = []
        for m in self.orders:
            base, null = constrained_basis(width, m, accuracy)
            if null.shape[1] == 0:
                raise ValueError(f"a width-{width} stencil has no freedom left for order {m} at accuracy {accuracy}")
            self.register_buffer(f"base{m}", torch.as_tensor(base))
            self.register_buffer(f"null{m}", torch.as_tensor(null))
            sizes.append(null.shape[1])
        self.sizes = sizes
        convs: list[nn.Module] = []
        shape = convolutions or Convolutions()
        channels = shape.channels
        for k in range(shape.layers):
            convs += [
                nn.Conv1d(1 if k == 0 else channels, channels, shape.kernel, padding="same", padding_mode="circular")
            ]
            convs.append(nn.ReLU())
        last = nn.Conv1d(channels, sum(sizes), 1)
        nn.init.zeros_(last.weight)
        if last.bias is not None:
            nn.init.zeros_(last.bias)
        self.net = nn.Sequential(*convs, last).double()

    def forward(self, u: torch.Tensor) -> dict[int, torch.Tensor]:
        """``u`` ``(batch, n)`` -> per order, stencils ``(batch, n, width)`` in grid units."""
        free = self.net((u / self.scale).unsqueeze(1)).transpose(1, 2)
        out = {}
        for m, part in zip(self.orders, torch.split(free, self.sizes, dim=-1), strict=True):
            out[m] = getattr(self, f"base{m}") + part @ getattr(self, f"null{m}").T
        return out


def apply_local(u: torch.Tensor, stencils: torch.Tensor) -> torch.Tensor:
    """Per-point stencils on a periodic field: ``sum_k s_ik u_{i+k-h}``; ``u`` ``(batch, n)``, ``stencils``
    ``(batch, n, w)``."""
    h = stencils.shape[-1] // 2
    shifted = torch.stack([torch.roll(u, shifts=h - k, dims=-1) for k in range(stencils.shape[-1])], dim=-1)
    return (shifted * stencils).sum(-1)


class CoarseLines(nn.Module):
    """An equation of one field on a periodic 1-D grid as a method-of-lines vector field, its derivatives taken by
    :class:`StencilNetwork` (learned) or by fixed Fornberg stencils (``network=None``, the baseline).

    Args:
        equation: the equation, in the symbols' names.
        symbols: one field, one space coordinate.
        spacing: the grid step.
        width: stencil width of the fixed baseline (the network has its own).
        network: the learned stencils, or ``None``.
    """

    coefficients: torch.Tensor

    def __init__(
        self,
        equation: Equation,
        symbols: Symbols,
        spacing: float,
        width: int = 5,
        network: StencilNetwork | None = None,
    ) -> None:
        super().__init__()
        terms = [symbols.parse(n) for n in equation.coefficients]
        self.evaluator = TermEvaluator(terms)
        self.register_buffer("coefficients", torch.tensor(list(equation.coefficients.values()), dtype=torch.float64))
        self.spacing = float(spacing)
        self.network = network
        self.orders = sorted({d[0] for f, d in self.evaluator.required() if f == 0 and d and d[0] > 0})
        for m in self.orders:
            self.register_buffer(f"fixed{m}", torch.as_tensor(centred_weights(max(width, m + 1 + m % 2), m)))

    def forward(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        u = y if y.dim() == 2 else y.unsqueeze(0)
        values: dict[tuple[int, tuple[int, ...]], torch.Tensor] = {(0, (0,)): u}
        local = self.network(u) if self.network is not None else None
        for m in self.orders:
            if local is not None:
                derivative = apply_local(u, local[m])
            else:
                w = getattr(self, f"fixed{m}")
                derivative = apply_local(u, w.expand(*u.shape, -1))
            values[(0, (m,))] = derivative / self.spacing**m
        terms: Any = self.coefficients.unbind()
        out = self.evaluator.combine(values, terms, like=u)
        return out if y.dim() == 2 else out.squeeze(0)


@dataclass
class CoarseModel:
    """A trained coarse discretization.

    Attributes:
        lines: the learned vector field on the coarse grid.
        baseline: the Fornberg vector field of the same width on the same grid.
        x: the coarse grid.
        factor: the coarsening factor.
        loss: training loss per step.
        seconds: training time.
    """

    lines: CoarseLines
    baseline: CoarseLines
    x: np.ndarray
    factor: int
    loss: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def rollout(self, u0: np.ndarray, t: np.ndarray, learned: bool = True) -> np.ndarray:
        """Integrate from the coarse state ``u0`` ``(n,)`` to times ``t``: ``(len(t), n)`` (dopri5, rtol 1e-6). A
        solution that blows up (the step size underflows) is NaN from the first time it could not reach."""
        lines = self.lines if learned else self.baseline
        return integrate(lines, u0, t)


def integrate(lines: nn.Module, u0: np.ndarray, t: np.ndarray, rtol: float = 1e-6, atol: float = 1e-8) -> np.ndarray:
    """The method of lines ``lines`` from ``u0`` to each of ``t``, interval by interval so that a blow-up keeps
    what came before it (NaN after)."""
    from torchdiffeq import odeint

    out = np.full((len(t), *np.shape(u0)), np.nan)
    out[0] = u0
    state = torch.as_tensor(u0, dtype=torch.float64)
    options = {"max_num_steps": 100_000}
    with torch.no_grad():
        for k in range(1, len(t)):
            span = torch.as_tensor(t[k - 1 : k + 1], dtype=torch.float64)
            try:
                state = odeint(lines, state, span, rtol=rtol, atol=atol, method="dopri5", options=options)[-1]
            except AssertionError:
                break
            if not torch.isfinite(state).all():
                break
            out[k] = state.numpy()
    return out


@dataclass(frozen=True)
class Coarsening:
    """Learn a coarse discretization of a known 1-D periodic equation from fine-grid data (several runs).

    Attributes:
        factor: coarsening factor (the coarse grid takes every ``factor``-th fine point).
        width: stencil width (odd).
        accuracy: polynomial accuracy built into the learned stencils.
        convolutions: the network.
        iterations: Adam steps.
        batch: snapshots per step.
        learning_rate: Adam's step size (decayed tenfold over the run, cosine).
    """

    factor: int = 4
    width: int = 5
    accuracy: int = 1
    convolutions: Convolutions = field(default_factory=Convolutions)
    iterations: int = 3000
    batch: int = 32
    learning_rate: float = 3e-3

    def fit(self, data: Dataset, equation: Equation, symbols: Symbols, seed: int = 0) -> CoarseModel:
        """Train on every run of ``data`` (periodic grid in t, x; one field)."""
        start = time.perf_counter()
        fine, targets, x = self.samples(data, equation, symbols)
        coarse_x = x[:: self.factor]
        spacing = float(coarse_x[1] - coarse_x[0])
        u = torch.as_tensor(fine[:, :: self.factor])
        target = torch.as_tensor(targets[:, :: self.factor])
        baseline = CoarseLines(equation, symbols, spacing, self.width)
        with torch_seeded(seed):
            network = StencilNetwork(baseline.orders, self.width, self.accuracy, self.convolutions, float(u.std()))
        lines = CoarseLines(equation, symbols, spacing, self.width, network)
        losses = self._train(lines, u, target, seed)
        return CoarseModel(lines, baseline, coarse_x, self.factor, losses, time.perf_counter() - start)

    def samples(self, data: Dataset, equation: Equation, symbols: Symbols) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fine snapshots of every run ``(n_samples, n_fine)``, the equation's right-hand side on them with
        spectral derivatives, and the fine grid."""
        if data.n_space != 1 or len(data.fields) != 1 or not data.grid:
            raise InputError("coarsening needs one field on a 1-D periodic grid in t and x")
        x = np.asarray(data.coords[data.coord_names[1]], dtype=np.float64)
        if len(x) % self.factor:
            raise InputError(f"the grid's {len(x)} points do not divide by the factor {self.factor}")
        snapshots = np.concatenate(
            [np.asarray(r.fields[r.field_names[0]], dtype=np.float64) for r in data.trajectories]
        )
        evaluator = TermEvaluator([symbols.parse(n) for n in equation.coefficients])
        values = {
            (f, d): snapshots if not any(d) else spectral_derivative(snapshots, x, d[0], axis=1)
            for f, d in evaluator.required()
        }
        rates = evaluator.combine(values, list(equation.coefficients.values()), like=snapshots)
        return snapshots, rates, x

    def _train(self, lines: CoarseLines, u: torch.Tensor, target: torch.Tensor, seed: int) -> list[float]:
        params = [p for p in lines.parameters() if p.requires_grad]
        adam = torch.optim.Adam(params, lr=self.learning_rate)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(adam, self.iterations, eta_min=self.learning_rate / 10)
        generator = torch.Generator().manual_seed(seed)
        scale = target.pow(2).mean()
        losses = []
        zero = torch.zeros((), dtype=torch.float64)
        for _ in range(self.iterations):
            rows = torch.randint(0, len(u), (min(self.batch, len(u)),), generator=generator)
            adam.zero_grad()
            loss = (lines(zero, u[rows]) - target[rows]).pow(2).mean() / scale
            loss.backward()
            adam.step()
            schedule.step()
            losses.append(float(loss.detach()))
        return losses


def relative_error(path: np.ndarray, reference: np.ndarray) -> float:
    """``||path - reference|| / ||reference||`` over all times and points (``inf`` once the path is not finite)."""
    if not np.all(np.isfinite(path)):
        return float("inf")
    return float(np.linalg.norm(path - reference) / np.linalg.norm(reference))


__all__ = [
    "CoarseLines",
    "CoarseModel",
    "Coarsening",
    "Convolutions",
    "StencilNetwork",
    "apply_local",
    "constrained_basis",
    "relative_error",
]
