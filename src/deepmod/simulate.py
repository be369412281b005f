"""Integrate a discovered model: ODEs directly, PDEs by the method of lines on the data's grid.

Spatial derivatives: spectral (FFT) along a periodic axis, fourth-order finite differences (Fornberg
stencils, one-sided near the edges) otherwise. Boundaries: along a periodic axis none are needed; along a
non-periodic one the outermost ``k`` points of every field follow the data (a cubic spline in time),
``k`` = half the highest derivative order along that axis, rounded up: the values a measurement provides.
Time: ``scipy.integrate.solve_ivp``, Radau (implicit, A-stable, fifth order) for PDEs, whose diffusion and
dispersion terms are stiff on fine grids, with the exact Jacobian (dense on grids of up to
``MAX_DENSE_JACOBIAN`` values, sparse beyond); DOP853 for ODEs. The boundary values between the data's times
come from a cubic spline through them.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from deepmod.control import RunControl, Step
from deepmod.data.dataset import Dataset
from deepmod.derivatives.denoise import denoised_start
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.library import RightHandSide, right_hand_sides
from deepmod.lines import boundary_mask, dense_jacobian, derivative, known_values, sparse_jacobian
from deepmod.terms import Symbols

BOUNDARIES = ("auto", "periodic", "data")


@dataclass(frozen=True)
class Simulation(Dataset):
    """A simulated trajectory: a :class:`~deepmod.data.Dataset` with the data's coordinates (times up to where
    the integration got) and the simulated fields, plus how the integration went.

    Attributes:
        periodic: per spatial axis, whether it was treated as periodic.
        status: ``"success"`` or the integrator's message when it stopped early.
        seconds: wall time.
        start: where the integration started from, in words (the first snapshot, denoised or not).
    """

    periodic: tuple[bool, ...] = ()
    status: str = "success"
    seconds: float = 0.0
    start: str = ""

    def relative_error(self, reference: Dataset) -> float:
        """Relative L2 error ``||sim - ref|| / ||ref||`` over all fields, times and points; ``inf`` when the
        integration stopped before the end of ``reference``'s time span. Inputs are left out (they are given,
        not simulated)."""
        sim = np.stack([np.ravel(self.fields[n]) for n in self.targets], axis=1)
        ref = np.stack([np.ravel(reference.fields[n]) for n in self.targets], axis=1)
        if sim.shape != ref.shape:
            return math.inf
        return float(np.linalg.norm(sim - ref) / np.linalg.norm(ref))


def is_periodic(data: Dataset, axis: int) -> bool:
    """Whether the fields look periodic along spatial ``axis`` (1-based in the field arrays).

    Periodic when the sequence stays as smooth across the wrap (last point, then first) as inside: the
    second differences at the two wrap points are at most three times the largest interior one, for every
    field and time. PDE-FIND's periodic grids leave out the repeated end point and pass; a sine on an
    interval that is not a whole period jumps across the wrap and fails.
    """
    for f in data.fields.values():
        u = np.moveaxis(np.asarray(f, dtype=np.float64), axis, 0)
        if len(u) < 4:
            return False
        inner = np.abs(u[2:] - 2 * u[1:-1] + u[:-2]).max()
        wrap = max(np.abs(u[-1] - 2 * u[0] + u[1]).max(), np.abs(u[-2] - 2 * u[-1] + u[0]).max())
        if wrap > 3.0 * inner:
            return False
    return True


def simulate(
    equations: Sequence[Equation],
    data: Dataset,
    symbols: Symbols,
    *,
    initial: Mapping[str, np.ndarray] | None = None,
    boundary: str = "auto",
    rtol: float = 1e-6,
    atol: float = 1e-8,
    denoise: bool = True,
    max_seconds: float | None = None,
    control: RunControl | None = None,
) -> Simulation:
    """Integrate ``equations`` over the time span and grid of ``data``.

    Args:
        equations: one per field, e.g. from :attr:`Result.equations`.
        data: a grid data set: its coordinates give the grid and output times; its fields the initial state
            (unless ``initial`` is given) and, for ``boundary="data"``, the boundary values.
        symbols: the names used by the equations (:func:`deepmod.method.symbols_for`).
        initial: field name -> initial values ``data.shape[1:]``; default: the data at the first time.
        boundary: ``"periodic"``, ``"data"`` or ``"auto"`` (periodic where :func:`is_periodic`).
        denoise: on noisy PDE data start from the first snapshot low-passed at its noise floor
            (:func:`~deepmod.derivatives.denoise.denoised_start`), as :attr:`Simulation.start` says.
        max_seconds: a time budget; past it an error says how far the integration got.
        control: its callbacks see every right-hand-side evaluation (``Step.values["t"]``: the integrator's
            time; a progress bar, it must be cheap); its stop request ends the integration at the next step,
            the trajectory so far returned with status ``"interrupted"``.
    """
    start = time.perf_counter()
    if not data.grid:
        raise InputError("simulation needs data on a grid (one axis per coordinate)")
    if boundary not in BOUNDARIES:
        raise InputError(f"unknown boundary '{boundary}': choose one of {', '.join(BOUNDARIES)}")
    t = np.asarray(data.coords[data.coord_names[0]], dtype=np.float64)
    names = [n for n in data.field_names if n not in symbols.inputs]
    rhs_terms = right_hand_sides(equations, symbols, data.field_names)
    axes = [np.asarray(data.coords[c], dtype=np.float64) for c in data.coord_names[1:]]
    periodic = tuple(
        boundary == "periodic" or (boundary == "auto" and is_periodic(data, k + 1)) for k in range(len(axes))
    )
    u0, start_note = _starting_state(data, names, initial, denoise and bool(axes), periodic)
    rhs, jac = _method_of_lines(rhs_terms, axes, periodic, data, t)
    control = RunControl() if control is None else control
    rhs = _reporting(rhs, control) if control.callbacks else rhs
    deadline = None if max_seconds is None else start + max_seconds
    sol = _integrate(rhs, jac, u0, t, bool(axes), (rtol, atol), deadline, max_seconds, control)
    status = "success" if sol.success and len(sol.t) == len(t) else str(sol.message)
    if control.stopped() and sol.status == 1:  # the stop request's terminal event
        status = "interrupted"
    if len(sol.t) < 3:
        raise InputError(f"the integration stopped at t = {sol.t[-1]:.4g} ({sol.message}): the model blows up there")
    return Simulation(
        {data.coord_names[0]: sol.t, **{c: data.coords[c] for c in data.coord_names[1:]}},
        _trajectory(sol, data, names, symbols.inputs),
        grid=True,
        source=f"simulation of {data.source or 'data'}",
        inputs=tuple(symbols.inputs),
        periodic=periodic,
        status=status,
        seconds=time.perf_counter() - start,
        start=start_note,
    )


def _trajectory(sol: Any, data: Dataset, names: Sequence[str], inputs: Sequence[str]) -> dict[str, np.ndarray]:
    """The simulated fields ``names`` at the solver's output times, then the inputs as the data give them."""
    fields = sol.y.T.reshape(len(sol.t), len(names), *data.shape[1:])
    given = {n: np.asarray(data.fields[n])[: len(sol.t)] for n in inputs}
    return {**{n: fields[:, i] for i, n in enumerate(names)}, **given}


MAX_DENSE_JACOBIAN = 4096


def _reporting(
    rhs: Callable[[float, np.ndarray], np.ndarray], control: RunControl
) -> Callable[[float, np.ndarray], np.ndarray]:
    """``rhs`` that first tells ``control``'s callbacks the integrator's time (a step per evaluation)."""
    evaluations = itertools.count(1)

    def reported(time_: float, y: np.ndarray) -> np.ndarray:
        step = Step(next(evaluations), values={"t": float(time_)})
        for cb in control.callbacks:
            cb.on_step(step)
        return rhs(time_, y)

    return reported


def _starting_state(
    data: Dataset,
    names: Sequence[str],
    initial: Mapping[str, np.ndarray] | None,
    denoise: bool,
    periodic: tuple[bool, ...],
) -> tuple[np.ndarray, str]:
    """The initial state ``(n_fields, *grid)`` of the fields ``names`` and where it comes from, in words."""
    said = "the data's first snapshot" if initial is None else "the given initial state"
    if initial is None and denoise:
        initial, said = denoised_start(data, periodic)
    return _initial_state(data, names, initial), said


def _integrate(
    rhs: Callable[[float, np.ndarray], np.ndarray],
    jac: Callable[[float, np.ndarray], Any] | None,
    u0: np.ndarray,
    t: np.ndarray,
    pde: bool,
    tolerances: tuple[float, float],
    deadline: float | None,
    max_seconds: float | None,
    control: RunControl,
) -> Any:
    """``solve_ivp`` from ``u0`` over ``t``: Radau with ``jac`` for PDEs, DOP853 for ODEs; past ``deadline``
    (wall clock) an error that says how far it got; a stop request ends it at a step (a terminal event)."""
    from scipy.integrate import solve_ivp  # here, not at the top: scipy.integrate costs a second at start-up

    checked = rhs if deadline is None else _budgeted(rhs, deadline)
    options = {"jac": jac} if pde and jac is not None else {}
    rtol, atol = tolerances
    method = "Radau" if pde else "DOP853"
    if control.stop is not None:
        options["events"] = _stop_event(control)
    try:
        return solve_ivp(checked, (t[0], t[-1]), u0.ravel(), t_eval=t, method=method, rtol=rtol, atol=atol, **options)
    except _OutOfTime as late:
        raise InputError(
            f"the simulation used up its time budget of {max_seconds:g} s at t = {late.time:.4g} of "
            f"{t[-1]:.4g}: the model is stiff or unstable from this start; give it more time (max_seconds) or "
            "start from a smoother state",
            options=("max_seconds",),
        ) from None


def _stop_event(control: RunControl) -> Callable[[float, np.ndarray], float]:
    """A terminal event of ``solve_ivp`` that fires once a stop was asked for: positive until the solver's step
    at which the request is first seen (never at its start), then ``seen - t``, zero at that step's end, so
    the event's root is that time and the integration ends there."""
    calls = itertools.count()
    seen: list[float] = []

    def stopped(time_: float, _y: np.ndarray) -> float:
        if not seen and next(calls) and control.stopped():
            seen.append(float(time_))
        return seen[0] - time_ if seen else 1.0

    stopped.terminal = True  # type: ignore[attr-defined]
    return stopped


class _OutOfTime(Exception):
    def __init__(self, time_: float) -> None:
        super().__init__(time_)
        self.time = time_


def _budgeted(
    rhs: Callable[[float, np.ndarray], np.ndarray], deadline: float
) -> Callable[[float, np.ndarray], np.ndarray]:
    """``rhs`` that stops the integration (:class:`_OutOfTime`) once the wall clock passes ``deadline``."""

    def checked(time_: float, y: np.ndarray) -> np.ndarray:
        if time.perf_counter() > deadline:
            raise _OutOfTime(time_)
        return rhs(time_, y)

    return checked


def _initial_state(data: Dataset, names: Sequence[str], initial: Mapping[str, np.ndarray] | None) -> np.ndarray:
    """``(n_fields, *grid)`` of the fields ``names``: ``initial``'s values where given, else the data's first
    snapshot."""
    shape = data.shape[1:]
    u0 = np.stack([np.asarray((initial or {}).get(n, data.fields[n][0]), dtype=np.float64) for n in names])
    if u0.shape != (len(names), *shape):
        raise InputError(f"the initial state has shape {u0.shape[1:]}, the grid {shape}")
    return u0


def state_series(time: str, times: Sequence[float] | np.ndarray, initial: Mapping[str, Any]) -> Dataset:
    """A stand-in ODE record at ``times`` whose first state is ``initial`` (state name -> number): what the
    simulator needs of data when only an initial state is given."""
    t = np.asarray(times, dtype=np.float64)
    fields = {name: np.full(len(t), float(np.asarray(value).ravel()[0])) for name, value in initial.items()}
    return Dataset({time: t}, fields, grid=True, source="initial state")


def with_times(data: Dataset, times: Sequence[float] | np.ndarray) -> Dataset:
    """Grid ``data`` with other output times: the first snapshot is kept as the initial state and the boundary
    values are held at it (a simulation beyond the data has no measured boundary)."""
    t = np.asarray(times, dtype=np.float64)
    first = {n: np.repeat(np.asarray(f)[:1], len(t), axis=0) for n, f in data.fields.items()}
    coords = {data.coord_names[0]: t, **{c: data.coords[c] for c in data.coord_names[1:]}}
    return Dataset(coords, first, grid=True, source=data.source)


def _method_of_lines(
    rhs_terms: list[RightHandSide],
    axes: list[np.ndarray],
    periodic: tuple[bool, ...],
    data: Dataset,
    t: np.ndarray,
) -> tuple[Callable[[float, np.ndarray], np.ndarray], Callable[[float, np.ndarray], Any] | None]:
    """``f(t, y)`` for solve_ivp (the flattened state's time derivative) and its exact Jacobian, dense when
    the state has at most ``MAX_DENSE_JACOBIAN`` values and sparse beyond (``None`` for ODEs). The state is
    the fields with an equation (``rhs_terms``' order); inputs and coordinates come from :func:`known_values`."""
    n_fields = len(rhs_terms)
    shape = data.shape[1:]
    needed = set().union(*(evaluator.required() for evaluator, _ in rhs_terms))
    orders = [max((d[k] for f, d in needed if f >= 0), default=0) for k in range(len(axes))]
    frozen = boundary_mask(shape, orders, periodic)
    known = known_values(needed, data, n_fields, axes, periodic)
    boundary_rate = None
    if frozen is not None:
        values = np.stack([data.fields[n] for n in data.field_names[:n_fields]], axis=1)
        from scipy.interpolate import CubicSpline

        boundary_rate = CubicSpline(t, values[:, :, frozen], axis=0).derivative()

    def rhs(time_: float, y: np.ndarray) -> np.ndarray:
        u = y.reshape(n_fields, *shape)
        cache = {(f, d): derivative(u[f], d, axes, periodic) for f, d in needed if 0 <= f < n_fields}
        cache.update(known(time_))
        out = np.stack([evaluator.combine(cache, c, like=u[0]) for evaluator, c in rhs_terms])
        if frozen is not None and boundary_rate is not None:
            out[:, frozen] = boundary_rate(time_)
        return out.ravel()

    if not axes:
        return rhs, None
    build = sparse_jacobian if n_fields * int(np.prod(shape)) > MAX_DENSE_JACOBIAN else dense_jacobian
    return rhs, build(rhs_terms, needed, axes, periodic, shape, frozen, known)
