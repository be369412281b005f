"""Hypersolvers: a cheap fixed-step method plus a learned correction of its local error.

Poli et al. 2020, "Hypersolvers: Toward Fast Continuous-Depth Models". For a base method of order ``p`` with
increment ``psi`` the step is

    u_{k+1} = u_k + h psi(u_k) + h^{p+1} g(u_k, f(u_k)),

where ``g`` is a small network trained so that the step matches the exact flow over ``h``: its target is the
base method's local error divided by ``h^{p+1}``, computed with a high-accuracy solver.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torchdiffeq import odeint

from deepmod._random import torch_seeded
from deepmod.universal.fields import tanh_mlp
from deepmod.universal.training import lbfgs


@dataclass(frozen=True)
class CorrectionScales:
    """The correction's normalisation, each ``(n_states,)``: centre and spread of the states, typical size of
    the vector field, and of the output (in units of the local error over ``h^{p+1}``, see
    :meth:`HyperSolver.fit`)."""

    center: Sequence[float]
    scale: Sequence[float]
    rate_scale: Sequence[float]
    output_scale: Sequence[float]


class Correction(nn.Module):
    """``g(u, f(u))``: a tanh MLP on the state and the vector field, both normalised (:class:`CorrectionScales`)."""

    center: torch.Tensor
    scale: torch.Tensor
    rate_scale: torch.Tensor
    output_scale: torch.Tensor

    def __init__(self, n_states: int, scales: CorrectionScales, width: int = 64, depth: int = 2) -> None:
        super().__init__()
        self.net = tanh_mlp(2 * n_states, n_states, width, depth, dtype=torch.float64)
        for name in ("center", "scale", "rate_scale", "output_scale"):
            self.register_buffer(name, torch.as_tensor(getattr(scales, name), dtype=torch.float64))

    def forward(self, u: torch.Tensor, du: torch.Tensor) -> torch.Tensor:
        z = torch.cat([(u - self.center) / self.scale, du / self.rate_scale], dim=-1)
        return self.net(z) * self.output_scale


@dataclass
class SolveStats:
    """Cost of one :meth:`HyperSolver.solve`: evaluations of the vector field and of the correction."""

    field_evaluations: int
    correction_evaluations: int
    seconds: float


class HyperSolver(nn.Module, abc.ABC):
    """A fixed-step solver ``u + h psi(u) + h^{p+1} g(u)`` around a vector field ``f(t, u)``.

    Subclasses give the base increment :meth:`increment` and its order :attr:`order`. Without a trained
    correction (``correction=None``) the solver is its plain base method.
    """

    order: int
    evaluations_per_step: int

    def __init__(self, field: nn.Module, correction: Correction | None = None) -> None:
        super().__init__()
        self.field = field
        self.correction = correction

    @abc.abstractmethod
    def increment(self, u: torch.Tensor, du: torch.Tensor, h: float) -> torch.Tensor:
        """The base method's ``psi(u)`` given ``du = f(u)``."""

    def step(self, u: torch.Tensor, h: float) -> torch.Tensor:
        """One step of size ``h`` from states ``u`` ``(..., n_states)``."""
        du = self.field(torch.zeros(()), u)
        out = u + h * self.increment(u, du, h)
        if self.correction is not None:
            out = out + h ** (self.order + 1) * self.correction(u, du)
        return out

    @torch.no_grad()
    def solve(self, u0: torch.Tensor, t: torch.Tensor, steps_per_interval: int = 1) -> tuple[torch.Tensor, SolveStats]:
        """The solution at the (uniformly spaced) times ``t``, ``steps_per_interval`` steps between them.

        Returns the path ``(len(t), *u0.shape)`` and the cost.
        """
        start = time.perf_counter()
        dt = float(t[1] - t[0])
        if not torch.allclose(t[1:] - t[:-1], torch.full_like(t[1:], dt)):
            raise ValueError("a hypersolver steps with a fixed size: give uniformly spaced times")
        h = dt / steps_per_interval
        out = [u0]
        u = u0
        for _ in range(len(t) - 1):
            for _ in range(steps_per_interval):
                u = self.step(u, h)
            out.append(u)
        n = (len(t) - 1) * steps_per_interval
        stats = SolveStats(
            field_evaluations=n * self.evaluations_per_step,
            correction_evaluations=n if self.correction is not None else 0,
            seconds=time.perf_counter() - start,
        )
        return torch.stack(out), stats

    def fit(
        self,
        states: torch.Tensor,
        h: float,
        *,
        iterations: int = 2000,
        lbfgs_iterations: int = 500,
        learning_rate: float = 3e-3,
        width: int = 64,
        seed: int = 0,
        rtol: float = 1e-10,
        atol: float = 1e-12,
    ) -> list[float]:
        """Train the correction for steps of size ``h`` on sample ``states`` ``(n_samples, n_states)``.

        The target of ``g`` at ``u`` is ``(Phi_h(u) - u - h psi(u)) / h^{p+1}``, with the exact flow ``Phi_h``
        from dopri5 at tolerance ``rtol``. Adam on the mean squared error (each output scaled by the target's
        spread), full batch, then L-BFGS to polish: the correction's error is the solver's error. Returns the
        loss history.
        """
        states = states.to(torch.float64)
        with torch.no_grad():
            exact = odeint(self.field, states, torch.tensor([0.0, h], dtype=torch.float64), rtol=rtol, atol=atol)[-1]
            du = self.field(torch.zeros(()), states)
            target = (exact - states - h * self.increment(states, du, h)) / h ** (self.order + 1)
        spread = target.std(dim=0).clamp_min(1e-12)
        with torch_seeded(seed):  # the correction's initial weights
            scales = CorrectionScales(
                states.mean(dim=0).tolist(),
                states.std(dim=0).clamp_min(1e-12).tolist(),
                du.std(dim=0).clamp_min(1e-12).tolist(),
                spread.tolist(),
            )
            self.correction = Correction(states.shape[1], scales, width=width)
        adam = torch.optim.Adam(self.correction.parameters(), lr=learning_rate)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(adam, iterations)
        history = []
        for _ in range(iterations):
            adam.zero_grad()
            loss = (((self.correction(states, du) - target) / spread) ** 2).mean()
            loss.backward()
            adam.step()
            schedule.step()
            history.append(float(loss.detach()))
        correction = self.correction
        if lbfgs_iterations:
            lbfgs(
                list(correction.parameters()),
                lambda: (((correction(states, du) - target) / spread) ** 2).mean(),
                lbfgs_iterations,
                history,
                max_eval=lbfgs_iterations * 5 // 4,
                tolerance_grad=1e-12,
                tolerance_change=1e-14,
            )
        return history


class HyperEuler(HyperSolver):
    """Euler's method (order 1, one evaluation per step) plus a learned ``h^2 g(u)``."""

    order = 1
    evaluations_per_step = 1

    def increment(self, u: torch.Tensor, du: torch.Tensor, h: float) -> torch.Tensor:
        return du


class HyperHeun(HyperSolver):
    """Heun's method (explicit trapezoid, order 2, two evaluations per step) plus a learned ``h^3 g(u)``."""

    order = 2
    evaluations_per_step = 2

    def increment(self, u: torch.Tensor, du: torch.Tensor, h: float) -> torch.Tensor:
        return 0.5 * (du + self.field(torch.zeros(()), u + h * du))


def relative_error(path: torch.Tensor, reference: torch.Tensor) -> float:
    """``||path - reference|| / ||reference||`` over all times, states and initial conditions."""
    return float(torch.linalg.vector_norm(path - reference) / torch.linalg.vector_norm(reference))


def sample_states(field: nn.Module, initial: torch.Tensor, t_end: float, n_times: int) -> torch.Tensor:
    """States visited by the flow of ``field`` from each of ``initial`` ``(n, n_states)`` over ``[0, t_end]``."""
    with torch.no_grad():
        t = torch.linspace(0.0, t_end, n_times, dtype=torch.float64)
        path = odeint(field, initial.to(torch.float64), t, rtol=1e-10, atol=1e-12)
    return path.reshape(-1, path.shape[-1])


__all__ = ["Correction", "HyperEuler", "HyperHeun", "HyperSolver", "SolveStats", "relative_error", "sample_states"]
