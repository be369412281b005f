"""The universal PDE as a discovery method: known terms plus a learned stencil and a reaction network, trained
through the solver on grid data, then read back as symbols and refitted (:mod:`deepmod.pde.recovery`).

Training: collocation first (the model against the time derivative of a smoothing spline of each grid point's
record; no solve), then through the method-of-lines solve against the record (Adam, then L-BFGS), the initial
state fitted too. With ``segments > 1`` the record is cut into pieces that start from their own fitted states
(multiple shooting).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from deepmod._random import torch_seeded
from deepmod.control import RunControl
from deepmod.data.dataset import Dataset
from deepmod.derivatives.stencils import stencil_derivatives, width_for
from deepmod.equation import Equation
from deepmod.errors import FitFailed, InputError
from deepmod.library import CandidateLibrary
from deepmod.method import Method, Problem, assemble, known_parts, require_grid, require_one_run, symbols_for
from deepmod.pde.lines import EquationLines, LinesGrid
from deepmod.pde.recovery import LinesCandidate, Record, choose, learned_systems, refit
from deepmod.pde.universal import LearnedStencil, UniversalPDE
from deepmod.regression.system import RegressionSystem
from deepmod.result import CandidateEvidence, History, Result
from deepmod.simulate import is_periodic
from deepmod.terms import Symbols
from deepmod.universal.fields import NeuralField
from deepmod.universal.recovery import candidate_supports, support_coefficients, with_supports
from deepmod.universal.training import SolverOptions, fit_rates, fit_trajectories, progress_bar, smoothed_rates

SEGMENT_SPAN = 20
"""Sampling intervals per multiple-shooting piece when the number of pieces is left to the method."""

BLEW_UP = "every recovered model blew up when refitted through the solver: the learned part's read-back is kept"
NOT_REFITTED = "interrupted before the refits through the solver: the equations are the learned part's read-back"


@dataclass(frozen=True)
class UniversalPDEMethod(Method):
    """A universal PDE ``u_t = known(u) + stencil(u) + N(u)`` with symbolic recovery of the learned part.

    Attributes:
        known: the known part, one equation per field at most; fixed coefficients.
        stencil: width of the learned stencil (odd; 0 for none). Its weights start at the Fornberg second
            derivative and sum to zero (the ``u`` part is the network's), which removes a redundancy and no
            physics.
        reaction: learn a network of the local field values.
        width, depth: the network's hidden layers.
        collocation_iterations: Adam steps against the spline time derivatives.
        adam_iterations, lbfgs_iterations: training through the solver.
        learning_rate: Adam's step size through the solver.
        segments: multiple-shooting pieces (1: single shooting); ``None``: one piece per ``SEGMENT_SPAN``
            sampling intervals. A reaction term is unstable in some direction (Fisher-KPP below u = 0), and
            noise in a long record's single start grows along it until the solve blows up; pieces bound the
            growth. On the built-in Fisher-KPP at 5 % noise (100 intervals) every candidate with the true terms
            blew up in single shooting and refitted to within 3 % in 5 pieces.
        max_terms: largest number of recovered terms per field that is tried.
        refit_iterations: L-BFGS iterations of each candidate's refit.
        solver: the ODE solver of the method of lines.
        progress: progress bars on a terminal.
    """

    known: Sequence[Equation] = ()
    stencil: int = 3
    reaction: bool = True
    width: int = 20
    depth: int = 2
    solver: SolverOptions = field(default_factory=lambda: SolverOptions(rtol=1e-6, atol=1e-8))
    collocation_iterations: int = 1000
    adam_iterations: int = 200
    lbfgs_iterations: int = 100
    learning_rate: float = 1e-2
    segments: int | None = None
    max_terms: int = 4
    refit_iterations: int = 100
    progress: bool = False

    name: ClassVar[str] = "upde"
    poly_order: ClassVar[int] = 3

    def orders(self) -> tuple[int, int]:
        """Monomials up to ``poly_order`` and derivatives up to the stencil's reach (``width - 1``)."""
        return self.poly_order, max(self.stencil - 1, 0)

    def run(self, problem: Problem) -> Result:
        start = time.perf_counter()
        data = problem.data
        self._check(data)
        symbols = symbols_for(data)
        t, record = _record(data)
        if problem.bootstrap is not None:  # an ensemble member: the times of a draw, the span kept
            keep = np.unique(np.r_[0, problem.bootstrap.draw(len(t)), len(t) - 1])
            t, record = t[keep], record[keep]
        periodic = tuple(is_periodic(data, k + 1) for k in range(data.n_space))
        grid = LinesGrid.of(data, periodic, (t, record))
        known = known_parts(self.known, symbols, len(data.fields))
        model, start_state, history = self._train(known, symbols, grid, t, record, problem)
        systems = self._systems(model, start_state, symbols, problem.library, t)
        control = problem.control
        candidates = [] if control.stopped() else self._choose(model, known, systems, t, record, control)
        equations = candidates[0].equations if candidates else None
        if equations is None:  # interrupted before any refit finished, or every refit blew up
            equations = _read_back(known, systems, self.max_terms)
            result = self._result(equations, model, systems, candidates, symbols, data, history, start, problem)
            if not control.stopped():
                result.warnings.append(BLEW_UP)
                raise FitFailed(BLEW_UP, result)
            result.warnings.append(NOT_REFITTED)
        else:
            result = self._result(equations, model, systems, candidates, symbols, data, history, start, problem)
        if control.stopped():
            result.status = "interrupted"
        return result

    def pieces(self, n_times: int) -> int:
        """The number of multiple-shooting pieces for a record of ``n_times`` samples."""
        if self.segments is not None:
            return min(self.segments, n_times - 1)
        return max(1, -(-(n_times - 1) // SEGMENT_SPAN))

    def _check(self, data: Dataset) -> None:
        require_grid(data, self.name)
        require_one_run(data, self.name)
        if data.n_space not in (1, 2):
            raise InputError("the universal PDE needs data on a grid in t and one or two spatial coordinates")
        if data.inputs:
            raise InputError("the universal PDE takes no input fields", options=("method",))
        if self.stencil and (self.stencil % 2 == 0 or self.stencil < 3):
            raise InputError(f"--stencil must be an odd width of 3 or more, got {self.stencil}", options=("stencil",))
        if not self.stencil and not self.reaction:
            raise InputError("nothing to learn: give a stencil width or the reaction network")

    def _train(
        self,
        known: list[Equation],
        symbols: Symbols,
        grid: LinesGrid,
        t: np.ndarray,
        record: np.ndarray,
        problem: Problem,
    ) -> tuple[UniversalPDE, np.ndarray, list[float]]:
        """Build the model, collocation, then training through the solver; returns the model (on
        ``problem.device``), its fitted initial state ``(n_states,)`` and the loss history."""
        flat = record.reshape(len(t), -1)
        smooth, rates = smoothed_rates(t, flat)
        rate_scale = _field_spread(rates.reshape(record.shape))
        model = self._build(known, symbols, grid, record, rate_scale, problem.seed).to(problem.device)
        scale = _per_state(_field_spread(record), record)
        rate_scales = _per_state(rate_scale, record)
        history = fit_rates(model, smooth, rates, iterations=self.collocation_iterations, scale=rate_scales)
        bar = progress_bar(self.progress, self.adam_iterations + self.lbfgs_iterations, "training through the solver")
        fit = fit_trajectories(
            model,
            t,
            flat,
            scale=scale,
            control=problem.control,
            adam_iterations=self.adam_iterations,
            lbfgs_iterations=self.lbfgs_iterations,
            learning_rate=self.learning_rate,
            segments=self.pieces(len(t)),
            solver=self.solver,
            on_step=lambda step, _loss: bar.update(max(0, step - bar.n)),
        )
        bar.close()
        return model, fit.initial_states[0, 0], history + fit.loss

    def _build(
        self,
        known: list[Equation],
        symbols: Symbols,
        grid: LinesGrid,
        record: np.ndarray,
        rate_scale: np.ndarray,
        seed: int,
    ) -> UniversalPDE:
        """The model before training: stencils started at the Fornberg second derivative with coefficient 0, the
        network's last layer at 0 (the model starts as its known part)."""
        known_lines = EquationLines(known, symbols, grid, width=max(self.stencil, 3), margin=self.stencil // 2)
        stencils, network = None, None
        with torch_seeded(seed):
            if self.stencil:
                scales = [_coefficient_scale(grid, record, k, rate_scale[k]) for k in range(grid.n_fields)]
                stencils = [LearnedStencil(grid, self.stencil, coefficient_scale=c) for c in scales]
            if self.reaction:
                center = record.mean(axis=(0, *range(2, record.ndim)))
                network = NeuralField(
                    grid.n_fields,
                    center.tolist(),
                    _field_spread(record).tolist(),
                    rate_scale.tolist(),
                    self.width,
                    self.depth,
                )
        return UniversalPDE(known_lines, stencils, network)

    def _systems(
        self, model: UniversalPDE, start_state: np.ndarray, symbols: Symbols, library: CandidateLibrary, t: np.ndarray
    ) -> list[RegressionSystem]:
        """The learned part's regression systems along the fitted solution (four times the record's density)."""
        device = next(model.parameters()).device
        dense = torch.as_tensor(np.linspace(t[0], t[-1], max(4 * len(t), 50)), device=device)
        with torch.no_grad():
            path = self.solver.solve(model, torch.as_tensor(start_state, device=device), dense)
        path = path.reshape(len(dense), model.grid.n_fields, *model.grid.shape)
        return learned_systems(model, path, library.terms, symbols)

    def _choose(
        self,
        model: UniversalPDE,
        known: list[Equation],
        systems: list[RegressionSystem],
        t: np.ndarray,
        record: np.ndarray,
        control: RunControl,
    ) -> list[Any]:
        """The candidates refitted through the solver, best first (those not refitted once ``control``'s stop is
        set have BIC ``inf``)."""
        flat = record.reshape(len(t), -1)
        target = Record(t, flat, _per_state(_field_spread(record), record), self.pieces(len(t)))
        per_field = candidate_supports(systems, self.max_terms)
        bar = progress_bar(self.progress, int(np.prod([len(c) for c in per_field])), "refitting candidate models")

        def attempt(supports: Any, initial: Any) -> Any:
            if control.stopped():
                return LinesCandidate([list(s) for s in supports], None, None, math.inf)
            return refit(known, supports, initial, model, target, self.solver, self.refit_iterations)

        candidates = choose(known, systems, per_field, attempt, on_refit=lambda: bar.update(1))
        bar.close()
        return candidates

    def _result(
        self,
        equations: list[Equation],
        model: UniversalPDE,
        systems: list[Any],
        candidates: list[Any],
        symbols: Symbols,
        data: Dataset,
        history: list[float],
        start: float,
        problem: Problem,
    ) -> Result:
        settings: dict[str, Any] = {
            "known": [e.text() for e in self.known if e.coefficients],
            "seed": problem.seed,
            "stencil": self.stencil,
            "reaction": self.reaction,
            "width": self.width,
            "depth": self.depth,
            "segments": self.pieces(len(data.coords[data.coord_names[0]])),
            "learned_stencils": read_stencils(model, symbols),
        }
        evidence = CandidateEvidence(
            [
                {"terms": {f: list(s) for f, s in zip(data.field_names, c.supports, strict=True)}, "bic": c.bic}
                for c in candidates
            ]
        )
        return assemble(
            self.name,
            symbols,
            data.coord_names,
            equations,
            sorted({n for s in systems for n in s.names}),
            seconds=time.perf_counter() - start,
            iterations=len(history),
            history=History(iterations=list(range(len(history))), loss=history),
            settings=settings,
            evidence=evidence,
        )


def _read_back(known: list[Equation], systems: list[RegressionSystem], max_terms: int) -> list[Equation]:
    """Known parts plus, per field, the least squares of the learned part on its best subset of ``max_terms``
    terms: the model when no refit through the solver finished."""
    supports = [candidate_supports([system], max_terms)[0][-1] for system in systems]
    initial = [support_coefficients(system, s).tolist() for system, s in zip(systems, supports, strict=True)]
    return with_supports(known, supports, initial)[0]


def read_stencils(model: UniversalPDE, symbols: Symbols) -> dict[str, dict[str, float]]:
    """Each learned 1-D stencil read back as derivatives (:func:`stencil_derivatives`): ``{u_t: {u_xx: D, ...}}``
    (2-D kernels are read by the regression on their derivatives only)."""
    out: dict[str, dict[str, float]] = {}
    for k, stencil in enumerate(model.stencils):
        if len(model.grid.shape) != 1 or not isinstance(stencil, LearnedStencil):
            continue
        a = stencil_derivatives(stencil.effective(), model.grid.spacings[0])
        name = symbols.fields[k]
        x = symbols.space[0]
        out[symbols.lhs(k)] = {(name if m == 0 else f"{name}_{x * m}"): float(v) for m, v in enumerate(a)}
    return out


SCALE_SMOOTHING = 2.0
"""Width (grid points) of the Gaussian that smooths the record before the size of its second derivative is
taken for :func:`_coefficient_scale`: noise dominates the raw second difference, and only the order of
magnitude is wanted."""


def _coefficient_scale(grid: LinesGrid, record: np.ndarray, k: int, rate_scale: float) -> float:
    """A typical size of the coefficient of field ``k``'s second derivative: the spread of its rates over the
    spread of the Fornberg Laplacian of the smoothed record."""
    from scipy.ndimage import gaussian_filter1d

    from deepmod.derivatives.stencils import Stencils

    u = record[:, k]
    for axis, periodic in enumerate(grid.periodic):
        u = gaussian_filter1d(u, SCALE_SMOOTHING, axis=axis + 1, mode="wrap" if periodic else "nearest")
    stencils = Stencils(grid.spacings, grid.periodic, width_for(2, 3), max_order=2)
    n_space = len(grid.shape)
    laplacian = sum(
        stencils(torch.as_tensor(u), tuple(2 if j == i else 0 for j in range(n_space))) for i in range(n_space)
    )
    spread = float(torch.as_tensor(laplacian).std())
    return rate_scale / spread if spread > 0 else 1.0


def _field_spread(record: np.ndarray) -> np.ndarray:
    """Per field, the spread of ``record`` ``(n_times, n_fields, *shape)`` over times and points."""
    return record.std(axis=(0, *range(2, record.ndim))).clip(1e-12)


def _per_state(per_field: np.ndarray, record: np.ndarray) -> np.ndarray:
    """A per-field value repeated for every point of the flattened state ``(n_fields * n_points,)``."""
    return np.repeat(per_field, int(np.prod(record.shape[2:])))


def _record(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Times and the record ``(n_times, n_fields, *shape)``."""
    t = np.asarray(data.coords[data.coord_names[0]], dtype=np.float64)
    record = np.stack([np.asarray(data.fields[f], dtype=np.float64) for f in data.field_names], axis=1)
    return t, record


__all__ = ["UniversalPDEMethod", "read_stencils"]
