"""The coefficients of chosen terms fitted by simulation: the maximum-likelihood refit of an ensemble's model.

Once the terms are chosen, the weak form's coefficients are a local estimate: each test function sees a patch
of the record. The equation also acts globally (a diffusion constant sets how far a profile has spread after a
long time), and under white noise the maximum-likelihood estimate uses that: least squares of the simulated
solution against every sample, over the coefficients and the initial state (single shooting). On PDE-FIND's
Burgers at noise 100 % of std(u) the Cramer-Rao std of the diffusion coefficient, the initial state unknown,
is 3.4 %, against a spread of 4.7 % of the weak refit over 20 noise draws (``benchmarks/identifiability.py
--weak``).

Gauss-Newton from the weak coefficients and the first snapshot cut at the data's corner wavenumber; the
Jacobian by forward differences, every coefficient and every initial grid value moved in one batched solve
(spectral derivatives, so one spatial axis that is periodic; RK45). A system that is unstable along the
record (Fisher-KPP below u = 0) blows up from a noisy start, a stiff or large one costs too much: the refit
then returns ``None`` and the weak coefficients stand (:meth:`SimulationRefit.refine` says why).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, final

import numpy as np
from threadpoolctl import threadpool_limits

from deepmod.data.dataset import Dataset
from deepmod.derivatives.bumps import corner_wavenumber
from deepmod.derivatives.smoothing import noise_std
from deepmod.equation import Equation
from deepmod.library import CandidateLibrary, TermEvaluator
from deepmod.lines import derivative
from deepmod.refinement.base import Refined, Refinement
from deepmod.simulate import is_periodic
from deepmod.systems.base import Bootstrap
from deepmod.terms import Symbols

STEP = 1e-6
"""Relative size of the forward-difference steps of the Jacobian."""

SETTLED = 1e-6
"""The fit ends once a step lowers the misfit by less than this fraction of it."""


class _BlewUp(Exception):
    """A trial solution left every bound of the record."""


@final
@dataclass(frozen=True)
class SimulationRefit(Refinement):
    """Single-shooting maximum likelihood of chosen terms' coefficients (:mod:`deepmod.refinement.simulation`).

    Attributes:
        iterations: largest number of Gauss-Newton steps.
        rtol: the solver's relative tolerance.
        max_work: largest estimated number of grid-point evaluations of the right-hand side in one batched
            solve (stiff terms on a fine grid: KdV's u_xxx on 512 points needs 10^5 steps).
        max_jacobian: largest Jacobian (samples times parameters) kept in memory.
    """

    iterations: int = 8
    rtol: float = 1e-7
    max_work: float = 3e9
    max_jacobian: float = 5e7

    def refine(
        self, data: Dataset, library: CandidateLibrary, equations: Sequence[Equation], rows: Bootstrap | None = None
    ) -> Refined:
        """The equations with their coefficients fitted to ``data``'s record by simulation, one per field (empty
        for a field given none), and what was done (the Gauss-Newton steps, the misfit in units of the noise
        variance); none refined (the reason as ``how["skipped"]``) where that is not possible or made no
        progress. The whole record is fitted: ``rows`` is not used (an ensemble's reported model only)."""
        start = time.perf_counter()
        symbols = library.symbols
        why = _unsupported(data, equations, symbols)
        if why:
            return _skipped(equations, why)
        problem = _Shooting(data, equations, symbols, self.rtol)
        size = problem.record.size * problem.n_parameters
        if size > self.max_jacobian:
            return _skipped(equations, f"a Jacobian of {size:.2g} entries (more than {self.max_jacobian:.2g})")
        work = problem.work()
        if work > self.max_work:
            return _skipped(equations, f"{work:.2g} point evaluations per solve (more than {self.max_work:.2g})")
        with threadpool_limits(1):  # the same bits on any number of BLAS threads (the solver's stage sums)
            fitted, info = problem.fit(self.iterations)
        info["seconds"] = time.perf_counter() - start
        if fitted is None:
            return Refined([None] * len(equations), {"skipped": "no Gauss-Newton step lowered the misfit", **info})
        return Refined(list(problem.equations(fitted)), info)


def _skipped(equations: Sequence[Equation], why: str) -> Refined:
    return Refined([None] * len(equations), {"skipped": why})


def _unsupported(data: Dataset, equations: Sequence[Equation], symbols: Symbols) -> str:
    """Why the record or the equations cannot be simulated here ('' when they can)."""
    if not data.grid or data.n_space != 1 or len(data.trajectories) != 1 or data.inputs:
        return "needs one record on a grid in t and one spatial coordinate, without input fields"
    steps = np.diff(np.asarray(data.coords[data.coord_names[1]], dtype=np.float64))
    if np.ptp(steps) > 1e-8 * len(steps) * abs(steps.mean()):
        return "the spatial axis is not uniform"
    if not is_periodic(data, 1):
        return "the spectral simulation needs periodic data"
    terms = [symbols.parse(n) for eq in equations for n in eq.coefficients]
    if not terms or not all(t.polynomial for t in terms):
        return "only polynomials of the fields and their derivatives are simulated"
    return ""


class _Shooting:
    """The least-squares problem over ``[coefficients, initial values of every field]``, each field's misfit in
    units of its noise."""

    def __init__(self, data: Dataset, equations: Sequence[Equation], symbols: Symbols, rtol: float):
        self.rtol = rtol
        self.t = np.asarray(data.coords[data.coord_names[0]], dtype=np.float64)
        self.x = np.asarray(data.coords[data.coord_names[1]], dtype=np.float64)
        self.n_fields = len(symbols.targets)
        self.record = np.stack([np.asarray(data.fields[f], dtype=np.float64) for f in data.field_names], axis=1)
        self.n_x = len(self.x)
        by_lhs = {eq.lhs: eq for eq in equations}
        self.lhs = [symbols.lhs(f) for f in range(self.n_fields)]
        self.names = [list(by_lhs[lhs].coefficients) if lhs in by_lhs else [] for lhs in self.lhs]
        self.evaluators = [TermEvaluator([symbols.parse(n) for n in names]) for names in self.names]
        self.coefficients = np.array(
            [by_lhs[lhs].coefficients[n] for lhs, ns in zip(self.lhs, self.names, strict=True) for n in ns]
        )
        self.splits = np.cumsum([len(names) for names in self.names])[:-1]  # each field's coefficients
        spread = self.record.std(axis=(0, 2))
        noise = [noise_std(self.record[:, f]) for f in range(self.n_fields)]
        self.scale = np.array(
            [s if np.isfinite(s) and s > 0 else max(w, 1e-12) for s, w in zip(noise, spread, strict=True)]
        )
        self.peak = float(np.abs(self.record).max())
        self.bound = 1e3 * self.peak
        spectrum = np.fft.rfft(self.record[0], axis=-1)  # the first snapshot, cut at the data's corner
        for f in range(self.n_fields):
            spectrum[f, corner_wavenumber(self.record[:, f], 1) + 1 :] = 0
        self.x0 = np.r_[self.coefficients, np.fft.irfft(spectrum, n=self.n_x, axis=-1).ravel()]

    @property
    def n_parameters(self) -> int:
        return len(self.x0)

    def derivatives(self, u: np.ndarray, keys: set[Any], values: dict[Any, np.ndarray]) -> dict[Any, np.ndarray]:
        """``values`` with the fields' derivatives ``keys`` of ``u`` ``(batch, n_fields, n_x)`` added (spectral,
        :func:`deepmod.lines.derivative`)."""
        for f, d in keys - set(values):
            values[(f, d)] = derivative(u[:, f], d, [self.x], (True,), offset=1)
        return values

    def rates(self, u: np.ndarray, c: np.ndarray) -> np.ndarray:
        """``du/dt`` for states ``u`` ``(batch, n_fields, n_x)`` and coefficient rows ``c`` ``(batch, n)``."""
        values: dict[Any, np.ndarray] = {}
        out = np.zeros_like(u)
        for f, (evaluator, c_f) in enumerate(zip(self.evaluators, np.split(c, self.splits, axis=1), strict=True)):
            self.derivatives(u, evaluator.required(), values)
            for j, col in enumerate(evaluator.columns(values, like=u[:, 0])):
                out[:, f] += c_f[:, j, None] * col
        return out

    def solve(self, rows: np.ndarray) -> np.ndarray:
        """``(batch, n_times, n_fields, n_x)``: the solutions for parameter rows ``(batch, n_parameters)``."""
        from scipy.integrate import solve_ivp

        n_c = len(self.coefficients)
        c, shape = rows[:, :n_c], (len(rows), self.n_fields, self.n_x)

        def rhs(_t: float, y: np.ndarray) -> np.ndarray:
            if not np.all(np.abs(y) < self.bound):
                raise _BlewUp
            return self.rates(y.reshape(shape), c).ravel()

        atol = self.rtol * 1e-2 * self.peak
        span = (self.t[0], self.t[-1])
        sol = solve_ivp(rhs, span, rows[:, n_c:].ravel(), t_eval=self.t, rtol=self.rtol, atol=atol)
        if not sol.success or sol.y.shape[1] != len(self.t):
            raise _BlewUp
        return sol.y.reshape(*shape, len(self.t)).transpose(0, 3, 1, 2)

    def residuals(self, paths: np.ndarray) -> np.ndarray:
        """``(batch, n_samples)``: the data minus each solution, each field in units of its noise."""
        return ((self.record - paths) / self.scale[:, None]).reshape(len(paths), -1)

    def linearised(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The residuals at ``x`` and their Jacobian with respect to the parameters (forward differences)."""
        steps = STEP * np.maximum(np.abs(x), 1e-3 * np.abs(x[len(self.coefficients) :]).max())
        rows = np.tile(x, (1 + len(x), 1))
        rows[1 + np.arange(len(x)), np.arange(len(x))] += steps
        r = self.residuals(self.solve(rows))
        return r[0], ((r[0] - r[1:]) / steps[:, None]).T  # d(model)/dx = -d(residual)/dx

    def fit(self, iterations: int) -> tuple[np.ndarray | None, dict[str, Any]]:
        """Gauss-Newton, a step halved until the misfit falls; the fitted parameters (``None`` where the start
        blew up or no step lowered the misfit) and what was done."""
        try:
            r, jacobian = self.linearised(self.x0)
        except _BlewUp:
            return None, {"skipped": "the simulation from the weak coefficients blew up"}
        x, cost, start, steps = self.x0, float(r @ r), float(r @ r), 0
        while steps < iterations:
            step = np.linalg.lstsq(jacobian, r, rcond=None)[0]
            new = math.inf
            for _ in range(6):
                try:
                    trial = self.residuals(self.solve((x + step)[None]))[0]
                    new = float(trial @ trial)
                except _BlewUp:
                    new = math.inf
                if new < cost:
                    break
                step = step / 2
            if not new < cost:
                break
            x, settled, cost, steps = x + step, cost - new < SETTLED * cost, new, steps + 1
            if settled or steps == iterations:
                break
            r, jacobian = self.linearised(x)
        info = {"steps": steps, "misfit_in_noise_units": {"start": start / r.size, "fitted": cost / r.size}}
        return (x if steps else None), info

    def work(self) -> float:
        """An estimate of the grid-point evaluations of one batched solve: RK45's six stages per step, its
        steps set by the fastest rate of the equations on the record (derivative factors at the grid's highest
        wavenumber), a step of 2.5 over it at most."""
        values: dict[Any, np.ndarray] = {}
        k_max = 2 * np.pi * np.fft.rfftfreq(self.n_x, self.x[1] - self.x[0])[-1]
        fastest = 0.0
        for evaluator, c_f in zip(self.evaluators, np.split(self.coefficients, self.splits), strict=True):
            rate = 0.0
            for term, c in zip(evaluator.terms, c_f, strict=True):
                if not term.factors:  # the constant does not change with the state
                    continue
                top = max(range(len(term.factors)), key=lambda i: term.factors[i].order)
                reduced = TermEvaluator([term.reduced(top)])
                self.derivatives(self.record, reduced.required(), values)
                size = float(np.abs(reduced.columns(values, like=self.record[:, 0])[0]).max())
                factor = term.factors[top]
                rate += abs(c) * factor.power * k_max**factor.order * size
            fastest = max(fastest, rate)
        steps = len(self.t) + (self.t[-1] - self.t[0]) * fastest / 2.5
        return 6 * steps * (1 + self.n_parameters) * self.n_fields * self.n_x

    def equations(self, x: np.ndarray) -> list[Equation]:
        """One equation per field (none of its terms where it was given none) with the parameters' coefficients."""
        fitted = np.split(x[: len(self.coefficients)], self.splits)
        return [
            Equation(lhs, dict(zip(names, map(float, c), strict=True)))
            for lhs, names, c in zip(self.lhs, self.names, fitted, strict=True)
        ]


__all__ = ["SimulationRefit"]
