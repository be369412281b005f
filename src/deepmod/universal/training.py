"""Fit a vector field to observed trajectories through an ODE solver: Adam, then L-BFGS.

The loss is the mean squared misfit between the solution and the observations, each state scaled by its
spread. The initial states are parameters too (noisy first samples are a poor start). With ``segments > 1``
the series is cut into pieces that each start from their own fitted state (multiple shooting), with a
penalty on the jumps between pieces: long series stay trainable because no gradient runs through the
whole series.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torchdiffeq import odeint, odeint_adjoint

from deepmod.control import RunControl
from deepmod.training import adam_stage, lbfgs_stage

ADAPTIVE = ("dopri5", "dopri8", "bosh3", "fehlberg2", "adaptive_heun")


@dataclass(frozen=True)
class SolverOptions:
    """How the ODE is solved during training: a torchdiffeq method and tolerances; ``adjoint`` uses the
    adjoint method (memory independent of the number of steps) instead of backpropagating through the solver.
    An adaptive solver gives up after ``max_steps`` steps (a model that blows up), raising ``AssertionError``.
    """

    method: str = "dopri5"
    rtol: float = 1e-6
    atol: float = 1e-8
    adjoint: bool = False
    max_steps: int = 10_000

    def solve(self, func: nn.Module, u0: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The solution ``(len(t), *u0.shape)``."""
        solver = odeint_adjoint if self.adjoint else odeint
        options = {"max_num_steps": self.max_steps} if self.method in ADAPTIVE else None
        return solver(func, u0, t, rtol=self.rtol, atol=self.atol, method=self.method, options=options)


@dataclass
class TrajectoryFit:
    """The outcome of :func:`fit_trajectories`.

    Attributes:
        initial_states: ``(n_trajectories, n_segments, n_states)`` fitted start of every segment.
        loss: loss after every iteration (Adam, then L-BFGS).
        iterations: Adam steps plus L-BFGS iterations.
        seconds: wall time.
    """

    initial_states: np.ndarray
    loss: list[float] = field(default_factory=list)
    iterations: int = 0
    seconds: float = 0.0


def device_of(module: nn.Module) -> torch.device:
    """Where ``module``'s parameters live (the CPU for a module without any): the data follow it."""
    first = next(module.parameters(), None)
    return torch.device("cpu") if first is None else first.device


def segment_bounds(n_times: int, segments: int) -> list[tuple[int, int]]:
    """Index ranges ``[a, b]`` (inclusive) of ``segments`` pieces that share their end points."""
    if not 1 <= segments <= n_times - 1:
        raise ValueError(f"segments must be between 1 and {n_times - 1}, got {segments}")
    edges = np.linspace(0, n_times - 1, segments + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(edges)]


def fit_trajectories(
    func: nn.Module,
    t: np.ndarray,
    observations: np.ndarray,
    *,
    adam_iterations: int = 1000,
    lbfgs_iterations: int = 200,
    learning_rate: float = 1e-2,
    segments: int = 1,
    continuity: float = 10.0,
    solver: SolverOptions | None = None,
    on_step: Callable[[int, float], None] | None = None,
    scale: np.ndarray | None = None,
    control: RunControl | None = None,
) -> TrajectoryFit:
    """Train ``func``'s parameters (and the initial states) so that its solutions match ``observations``.

    Args:
        func: a vector field module ``(t, u) -> du/dt``; its floating parameters are trained in float64.
        t: ``(n_times,)`` increasing sample times shared by all trajectories.
        observations: ``(n_trajectories, n_times, n_states)`` or ``(n_times, n_states)``.
        segments: pieces of the series for multiple shooting (1: single shooting).
        continuity: weight of the squared jumps between pieces, relative to the data misfit.
        solver: ODE solver settings (dopri5, rtol 1e-6 by default).
        on_step: called with (iteration, loss) after every iteration.
        scale: ``(n_states,)`` each state's misfit divisor (default: its spread; one per field on a grid).
        control: once its stop is set, training ends after the current iteration (the fit so far is returned).
    """
    start = time.perf_counter()
    solver = solver or SolverOptions()
    func.double()
    device = device_of(func)
    obs = torch.as_tensor(np.asarray(observations, dtype=np.float64), device=device)
    obs = obs.unsqueeze(0) if obs.dim() == 2 else obs
    times = torch.as_tensor(np.asarray(t, dtype=np.float64), device=device)
    bounds = segment_bounds(len(times), segments)
    spread = _spread(obs.reshape(-1, obs.shape[-1]), scale)
    starts = nn.Parameter(torch.stack([obs[:, a] for a, _ in bounds], dim=1).clone())

    def loss_fn() -> torch.Tensor:
        misfit = obs.new_zeros(())
        jumps = obs.new_zeros(())
        for k, (a, b) in enumerate(bounds):
            path = solver.solve(func, starts[:, k], times[a : b + 1]).transpose(0, 1)
            misfit = misfit + (((path - obs[:, a : b + 1]) / spread) ** 2).sum()
            if k + 1 < len(bounds):
                jumps = jumps + (((path[:, -1] - starts[:, k + 1]) / spread) ** 2).sum()
        n = obs.shape[0] * (len(times) + len(bounds) - 1)
        return (misfit + continuity * jumps) / (n * obs.shape[-1])

    params = [p for p in func.parameters() if p.requires_grad] + [starts]
    control = RunControl() if control is None else control
    history = adam_steps(params, loss_fn, adam_iterations, learning_rate, on_step, control)
    if lbfgs_iterations and not control.stopped():
        lbfgs(params, loss_fn, lbfgs_iterations, history, on_step, control=control)
    return TrajectoryFit(
        initial_states=starts.detach().cpu().numpy().copy(),
        loss=history,
        iterations=len(history),
        seconds=time.perf_counter() - start,
    )


def _spread(values: torch.Tensor, scale: np.ndarray | None) -> torch.Tensor:
    """What each state's misfit is divided by: ``scale`` where given, else the spread of ``values``
    ``(n_samples, n_states)`` per state."""
    if scale is None:
        return values.std(dim=0).clamp_min(1e-12)
    return torch.as_tensor(np.asarray(scale, dtype=np.float64), device=values.device)


def adam_steps(
    params: Sequence[torch.Tensor],
    loss_fn: Callable[[], torch.Tensor],
    iterations: int,
    learning_rate: float,
    on_step: Callable[[int, float], None] | None = None,
    control: RunControl | None = None,
) -> list[float]:
    """``iterations`` full-batch Adam steps on ``loss_fn`` (fewer once ``control``'s stop is set); returns the
    loss before each step."""
    history: list[float] = []

    def record(step: int, loss: torch.Tensor) -> None:
        history.append(float(loss.detach()))
        if on_step is not None:
            on_step(step, history[-1])

    adam_stage(torch.optim.Adam(params, lr=learning_rate), loss_fn, range(iterations), control, after=record)
    return history


def lbfgs(
    params: Sequence[torch.Tensor],
    loss_fn: Callable[[], torch.Tensor],
    iterations: int,
    history: list[float],
    on_step: Callable[[int, float], None] | None = None,
    *,
    max_eval: int | None = None,
    tolerance_grad: float = 1e-10,
    tolerance_change: float = 1e-12,
    control: RunControl | None = None,
) -> None:
    """L-BFGS with a strong-Wolfe line search until the loss or the gradient stops changing.

    At most ``iterations`` iterations and ``max_eval`` loss evaluations (default ``2 * iterations``). Every
    loss evaluation (line-search trials included) is appended to ``history``. Once ``control``'s stop is set the next
    evaluation ends the search, the parameters left at the last point tried.
    """
    optimiser = torch.optim.LBFGS(
        params,
        lr=1.0,
        max_iter=iterations,
        max_eval=2 * iterations if max_eval is None else max_eval,
        tolerance_grad=tolerance_grad,
        tolerance_change=tolerance_change,
        history_size=50,
        line_search_fn="strong_wolfe",
    )

    def record(loss: torch.Tensor) -> None:
        history.append(float(loss.detach()))
        if on_step is not None:
            on_step(len(history) - 1, history[-1])

    lbfgs_stage(optimiser, loss_fn, control, after=record)


def progress_bar(show: bool, total: int, desc: str) -> Any:
    """A tqdm bar of ``total`` steps for training or refits, shown only when ``show`` and on a terminal."""
    import sys

    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, disable=not (show and sys.stderr.isatty()))


def smoothed_rates(t: np.ndarray, observations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed states and their time derivatives at ``t``, from a smoothing spline per state.

    The spline's penalty is chosen by generalised cross-validation (``scipy.interpolate.make_smoothing_spline``),
    so no smoothing parameter is set by hand. Shapes as ``observations``: ``(..., n_times, n_states)``.
    """
    from scipy.interpolate import make_smoothing_spline

    obs = np.asarray(observations, dtype=np.float64)
    flat = np.moveaxis(obs, -2, 0).reshape(len(t), -1)
    values = np.empty_like(flat)
    rates = np.empty_like(flat)
    for j in range(flat.shape[1]):
        spline = make_smoothing_spline(t, flat[:, j])
        values[:, j] = spline(t)
        rates[:, j] = spline.derivative()(t)
    shape = (len(t), *obs.shape[:-2], obs.shape[-1])
    return np.moveaxis(values.reshape(shape), 0, -2), np.moveaxis(rates.reshape(shape), 0, -2)


def fit_rates(
    func: nn.Module,
    states: np.ndarray,
    rates: np.ndarray,
    *,
    iterations: int = 2000,
    learning_rate: float = 1e-2,
    scale: np.ndarray | None = None,
) -> list[float]:
    """Collocation: train ``func`` so that ``func(u) ~ du/dt`` on given (states, rates) pairs, no ODE solve.

    A cheap start for :func:`fit_trajectories` (Roesch et al. 2021, "Collocation based training of neural
    ordinary differential equations"). Each state's misfit is scaled by the spread of its rate, or by
    ``scale`` ``(n_states,)`` where given.
    """
    func.double()
    device = device_of(func)
    u = torch.as_tensor(states.reshape(-1, states.shape[-1]), device=device)
    du = torch.as_tensor(rates.reshape(-1, rates.shape[-1]), device=device)
    spread = _spread(du, scale)
    params = [p for p in func.parameters() if p.requires_grad]
    adam = torch.optim.Adam(params, lr=learning_rate)
    history = []
    t = torch.zeros((), device=device)
    for _ in range(iterations):
        adam.zero_grad()
        loss = (((func(t, u) - du) / spread) ** 2).mean()
        loss.backward()
        adam.step()
        history.append(float(loss.detach()))
    return history
