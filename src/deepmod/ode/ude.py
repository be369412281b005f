"""Universal differential equations as a discovery method: known physics + a network, then symbolic recovery.

``du/dt = known(u) + N(u)``. The network is first trained by collocation (against the derivative of a
smoothing spline, no ODE solve), then through the ODE solver against the observations (Adam, then L-BFGS).
Its output along the fitted trajectory is regressed on the library's monomials, and the candidate models are
refitted against the data and chosen by BIC (:mod:`deepmod.universal.recovery`). With no known part this is a
neural ODE followed by symbolic recovery.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from deepmod._random import torch_seeded
from deepmod.data.dataset import Dataset
from deepmod.equation import Equation
from deepmod.errors import FitFailed, InputError
from deepmod.method import Method, Problem, assemble, known_parts, require_one_run, symbols_for
from deepmod.regression.system import RegressionSystem
from deepmod.result import CandidateEvidence, History, Result
from deepmod.terms import Symbols
from deepmod.universal.fields import NeuralField, NeuralODE, PolynomialField, UniversalODE
from deepmod.universal.recovery import candidate_supports, choose_by_data, network_systems, support_coefficients
from deepmod.universal.training import (
    SolverOptions,
    TrajectoryFit,
    fit_rates,
    fit_trajectories,
    progress_bar,
    smoothed_rates,
)

BLEW_UP = (
    "every recovered model blew up when refitted against the data: the record may be too short or too noisy "
    "for these terms; the equations kept are the network term's least-squares fit, not refitted"
)


@dataclass(frozen=True)
class UDE(Method):
    """A universal (or, with no ``known`` equations, neural) ODE with symbolic recovery.

    Attributes:
        known: the known part, one equation per state at most (``x_t = 1.3 x``); states without one are
            learned entirely by the network.
        width, depth: the network's hidden layers.
        collocation_iterations: Adam steps against the spline derivatives.
        adam_iterations, lbfgs_iterations: training through the ODE solver.
        learning_rate: Adam's step size through the solver.
        segments: multiple-shooting pieces (1: single shooting).
        max_terms: largest number of recovered terms per equation that is tried.
        solver: the ODE solver used in training and refits.
        progress: show progress bars (training, candidate refits) on a terminal.
    """

    known: Sequence[Equation] = ()
    width: int = 32
    depth: int = 2
    collocation_iterations: int = 2000
    adam_iterations: int = 200
    lbfgs_iterations: int = 100
    learning_rate: float = 1e-3
    segments: int = 1
    max_terms: int = 3
    solver: SolverOptions = field(default_factory=lambda: SolverOptions(rtol=1e-5, atol=1e-7))
    progress: bool = False

    name: ClassVar[str] = "ude"
    diff_order: ClassVar[int] = 0

    def run(self, problem: Problem) -> Result:
        start = time.perf_counter()
        data, library = problem.data, problem.library
        _check_time_series(data)
        symbols = symbols_for(data)
        t = np.asarray(data.coords[data.coord_names[0]], dtype=np.float64)
        obs = np.stack([np.asarray(data.fields[f], dtype=np.float64) for f in data.field_names], axis=1)
        if problem.bootstrap is not None:  # an ensemble member: the times of a draw, the span kept
            keep = np.unique(np.r_[0, problem.bootstrap.draw(len(t)), len(t) - 1])
            t, obs = t[keep], obs[keep]
        known = known_parts(self.known, symbols, len(data.fields), "state")
        network, fit, path = self._train(known, symbols, t, obs, problem.seed, problem.device)
        systems = network_systems(network, path, library.terms, symbols)
        per_state = candidate_supports(systems, self.max_terms)
        bar = self._bar(int(np.prod([len(c) for c in per_state])), "refitting candidate models")
        candidates = choose_by_data(
            known, per_state, systems, symbols, t, obs, self.solver, on_refit=lambda: bar.update(1)
        )
        bar.close()
        best = candidates[0]
        evidence = CandidateEvidence(
            [
                {"terms": {f: list(s) for f, s in zip(data.field_names, c.supports, strict=True)}, "bic": c.bic}
                for c in candidates
            ]
        )
        settings = {
            "known": [e.text() for e in known if e.coefficients],
            "seed": problem.seed,
            "width": self.width,
            "depth": self.depth,
            "adam_iterations": self.adam_iterations,
            "lbfgs_iterations": self.lbfgs_iterations,
            "segments": self.segments,
        }
        if best.field is None:  # every refit blew up: the network term's own least-squares model, said so
            equations = _network_model(known, best.supports, systems)
        else:
            equations = best.field.equations(symbols)
        result = assemble(
            self.name,
            symbols,
            data.coord_names,
            equations,
            systems[0].names,
            seconds=time.perf_counter() - start,
            iterations=fit.iterations,
            history=History(iterations=list(range(len(fit.loss))), loss=fit.loss),
            settings=settings,
            evidence=evidence,
        )
        if best.field is None:
            result.warnings.append(BLEW_UP)
            raise FitFailed(BLEW_UP, result)
        return result

    def _train(
        self, known: list[Equation], symbols: Symbols, t: np.ndarray, obs: np.ndarray, seed: int, device: str
    ) -> tuple[NeuralField, TrajectoryFit, np.ndarray]:
        """Collocation, then training through the solver, on ``device``; returns the network, the fit and the
        fitted trajectory at ten times the data's density ``(10 n_t, n_states)``."""
        smooth, rates = smoothed_rates(t, obs)
        with torch_seeded(seed):
            network = NeuralField(obs.shape[1], obs.mean(0), obs.std(0), rates.std(0), self.width, self.depth)
        model = self._model(known, symbols, network).to(device)
        fit_rates(model, smooth, rates, iterations=self.collocation_iterations)
        bar = self._bar(self.adam_iterations + self.lbfgs_iterations, "training through the solver")
        fit = fit_trajectories(
            model,
            t,
            obs,
            adam_iterations=self.adam_iterations,
            lbfgs_iterations=self.lbfgs_iterations,
            learning_rate=self.learning_rate,
            segments=self.segments,
            solver=self.solver,
            on_step=lambda step, _loss: bar.update(max(0, step - bar.n)),
        )
        bar.close()
        dense = np.linspace(t[0], t[-1], 10 * len(t))
        with torch.no_grad():
            start = torch.as_tensor(fit.initial_states[0, 0], device=device)
            path = self.solver.solve(model, start, torch.as_tensor(dense, device=device))
        return network, fit, path.cpu().numpy()

    def _bar(self, total: int, desc: str) -> Any:
        return progress_bar(self.progress, total, desc)

    @staticmethod
    def _model(known: Sequence[Equation], symbols: Symbols, network: NeuralField) -> torch.nn.Module:
        if not any(e.coefficients for e in known):
            return NeuralODE(network)
        return UniversalODE(PolynomialField.from_equations(known, symbols), network)


def _check_time_series(data: Dataset) -> None:
    """Refuse what the universal ODE cannot fit: PDE data, scattered samples, several trajectories, inputs."""
    if data.n_space != 0:
        raise InputError("the universal ODE method needs data with time as the only coordinate")
    if not data.grid:
        raise InputError("the universal ODE method needs a time series: samples on a grid in t")
    if data.inputs:
        raise InputError(
            "the universal ODE method takes no input fields: use the weak or fd method", options=("method",)
        )
    require_one_run(data, UDE.name)


def _network_model(
    known: Sequence[Equation], supports: Sequence[Sequence[str]], systems: Sequence[RegressionSystem]
) -> list[Equation]:
    """Known parts plus the least-squares coefficients of ``supports`` on the network term's systems."""
    out = []
    for eq, support, system in zip(known, supports, systems, strict=True):
        terms = dict(eq.coefficients)
        for name, c in zip(support, support_coefficients(system, support).tolist(), strict=True):
            terms[name] = terms.get(name, 0.0) + c
        out.append(Equation(eq.lhs, terms))
    return out
