"""Symbolic recovery: turn a trained network term back into a few monomials of the states.

Two steps (Rackauckas et al. 2020, section 2, with the model choice made by the data rather than a threshold):

1. *Candidates.* The network's output is evaluated along the fitted trajectory and regressed on a library of
   monomials of the states with the shared selector (:class:`~deepmod.regression.BackwardElimination`, best
   subset of each size). Each equation contributes the best subset of every size up to ``max_terms``.
2. *Choice by the data.* Every combination of candidates is refitted against the *observations* through the ODE
   solver (free coefficients and initial states, L-BFGS) and scored by the Bayesian information criterion.
   Along a single trajectory the monomials are nearly collinear, so the network's output alone cannot tell
   x*y from x*y + 0.1 x^2; the data misfit with a penalty per term can. Differences of BIC below
   ``BIC_MARGIN`` = 2 are "not worth more than a bare mention" (Kass and Raftery 1995, "Bayes factors",
   section 3.2), so the model with the fewest terms within that margin of the lowest BIC is chosen (Occam's
   window, Madigan and Raftery 1994).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from deepmod.equation import Equation
from deepmod.regression.selection import BackwardElimination
from deepmod.regression.system import RegressionSystem
from deepmod.terms import Symbols, Term
from deepmod.universal.fields import PolynomialField, state_monomials
from deepmod.universal.training import SolverOptions, TrajectoryFit, device_of, fit_trajectories

BIC_MARGIN = 2.0


@dataclass
class Candidate:
    """One symbolic model tried against the data.

    Attributes:
        supports: per state, the names of the recovered terms.
        field: the refitted model (known plus recovered terms).
        fit: the refit's outcome (initial states, loss).
        bic: ``n log(RSS / n) + k log n`` on the scaled residuals; ``inf`` when the refit failed.
    """

    supports: list[list[str]]
    field: PolynomialField | None
    fit: TrajectoryFit | None
    bic: float

    @property
    def n_terms(self) -> int:
        return sum(len(s) for s in self.supports)


def candidate_supports(systems: Sequence[RegressionSystem], max_terms: int = 3) -> list[list[list[str]]]:
    """Per state, the best subsets of 1..``max_terms`` library terms for the network's output (one system per
    state, :func:`network_systems`)."""
    out: list[list[list[str]]] = []
    for system in systems:
        names = system.names
        if np.sqrt(np.mean(system.target**2)) == 0.0:
            out.append([[]])
            continue
        selector = BackwardElimination(threshold=0.0, exhaustive=min(len(names), 12)).fit(system.theta, system.target)
        subsets = {tuple(idx) for idx, _ in selector.path_ if 0 < len(idx) <= max_terms}
        out.append([[names[i] for i in idx] for idx in sorted(subsets, key=lambda s: (len(s), s))])
    return out


def network_systems(
    network: nn.Module, states: np.ndarray, terms: Sequence[Term], symbols: Symbols
) -> list[RegressionSystem]:
    """The universal ODE's regression systems: per state, the library of monomials at ``states``
    ``(n_points, n_states)`` and the network's output there as the target."""
    device = device_of(network)
    u = torch.as_tensor(states, dtype=torch.float64, device=device)
    with torch.no_grad():
        targets = network(torch.zeros((), device=device), u).cpu().numpy()
        theta = state_monomials(terms, u).cpu().numpy()
    names = tuple(symbols.name(t) for t in terms)
    return [RegressionSystem(theta, targets[:, k], names, symbols.lhs(k)) for k in range(targets.shape[1])]


def refit_candidate(
    known: Sequence[Equation],
    supports: Sequence[Sequence[str]],
    initial: Sequence[Sequence[float]],
    symbols: Symbols,
    t: np.ndarray,
    observations: np.ndarray,
    solver: SolverOptions,
    iterations: int = 100,
) -> Candidate:
    """Refit the free coefficients of ``known + supports`` (started at ``initial``) against the data."""
    equations, free = with_supports(known, supports, initial)
    field = PolynomialField.from_equations(equations, symbols, free)
    try:
        fit = fit_trajectories(field, t, observations, adam_iterations=0, lbfgs_iterations=iterations, solver=solver)
    except (AssertionError, RuntimeError):  # the solver's step size underflowed: the model blows up
        return Candidate([list(s) for s in supports], None, None, math.inf)
    n = observations.size
    k = int(sum(len(s) for s in supports))
    loss = fit.loss[-1] if fit.loss else math.inf
    bic = n * math.log(max(loss, 1e-300)) + k * math.log(n) if math.isfinite(loss) else math.inf
    return Candidate([list(s) for s in supports], field, fit, bic)


def with_supports(
    known: Sequence[Equation], supports: Sequence[Sequence[str]], initial: Sequence[Sequence[float]]
) -> tuple[list[Equation], dict[str, list[str]]]:
    """The known equations plus the terms ``supports`` at the values ``initial`` (one list per equation), and per
    left-hand side the names that are free in a refit."""
    equations = []
    free: dict[str, list[str]] = {}
    for k, eq in enumerate(known):
        coefficients = dict(eq.coefficients)
        for name, c in zip(supports[k], initial[k], strict=True):
            coefficients[name] = coefficients.get(name, 0.0) + c
        equations.append(Equation(eq.lhs, coefficients))
        free[eq.lhs] = list(supports[k])
    return equations, free


def choose_by_data(
    known: Sequence[Equation],
    per_state: Sequence[Sequence[Sequence[str]]],
    systems: Sequence[RegressionSystem],
    symbols: Symbols,
    t: np.ndarray,
    observations: np.ndarray,
    solver: SolverOptions,
    on_refit: Callable[[], None] | None = None,
) -> list[Candidate]:
    """Refit every combination of per-state candidates; returns them best first (see :func:`preference`).
    ``on_refit`` is called after each refit (a progress bar)."""
    out = []
    for combo in itertools.product(*per_state):
        initial = [support_coefficients(systems[k], support).tolist() for k, support in enumerate(combo)]
        out.append(refit_candidate(known, combo, initial, symbols, t, observations, solver))
        if on_refit is not None:
            on_refit()
    return preference(out)


def support_coefficients(system: RegressionSystem, support: Sequence[str]) -> np.ndarray:
    """Least squares of the network term's system on the terms named ``support``."""
    idx = [system.names.index(n) for n in support]
    return np.linalg.lstsq(system.theta[:, idx], system.target, rcond=None)[0] if idx else np.zeros(0)


def preference(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Candidates in order of preference: first those within ``BIC_MARGIN`` of the lowest BIC, fewest terms
    first (then by BIC); then the rest by BIC."""
    best = min((c.bic for c in candidates), default=math.inf)

    def key(c: Candidate) -> tuple[bool, int, float]:
        inside = c.bic <= best + BIC_MARGIN
        return (not inside, c.n_terms if inside else 0, c.bic)

    return sorted(candidates, key=key)
