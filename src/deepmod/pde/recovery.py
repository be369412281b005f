"""Symbolic recovery of a universal PDE's learned part, then a refit of the symbolic model through the solver.

1. *Candidates.* The learned part (stencil plus network) is evaluated along the fitted solution and regressed
   on the terms it can express: the stencil's derivatives of its own field (a width-``w`` stencil is exactly a
   combination of the Fornberg derivatives of orders ``0..w-1`` on its nodes,
   :func:`~deepmod.derivatives.stencils.stencil_derivatives`, so the derivative columns use those same
   stencils) and the network's monomials of the fields. The shared selector gives the best subset of every
   size up to ``max_terms`` per field.
2. *Choice by the data.* Every combination is refitted against the observations through the solver (free
   coefficients and initial state, L-BFGS) on the same stencils, and the model with the fewest terms within
   ``BIC_MARGIN`` of the lowest BIC is chosen, as for the universal ODE (:mod:`deepmod.universal.recovery`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from deepmod.derivatives.stencils import Stencils
from deepmod.equation import Equation
from deepmod.library import TermEvaluator
from deepmod.pde.lines import EquationLines, derivative_values
from deepmod.pde.universal import UniversalPDE
from deepmod.regression.system import RegressionSystem
from deepmod.terms import Symbols, Term
from deepmod.universal.recovery import BIC_MARGIN, support_coefficients, with_supports
from deepmod.universal.training import SolverOptions, TrajectoryFit, fit_trajectories

WARM_UP = 50
"""Adam steps before L-BFGS in a candidate's second try, when the first's line search stepped into a model that
blows up (Adam's steps are bounded by its learning rate, in units of each coefficient's starting size)."""


@dataclass(frozen=True)
class Record:
    """What a candidate is refitted against: the times, the record ``(n_times, n_states)``, each state's
    misfit scale ``(n_states,)`` and the multiple-shooting pieces."""

    t: np.ndarray
    values: np.ndarray
    scale: np.ndarray
    segments: int = 1


@dataclass
class LinesCandidate:
    """One symbolic model refitted against the data: per field its recovered terms, the refitted equations
    (known plus recovered; ``None`` when the refit blew up), the fit, and ``n log(RSS/n) + k log n``."""

    supports: list[list[str]]
    equations: list[Equation] | None
    fit: TrajectoryFit | None
    bic: float

    @property
    def n_terms(self) -> int:
        return sum(len(s) for s in self.supports)


def expressible(terms: Sequence[Term], field: int, stencil: bool, network: bool) -> list[Term]:
    """The library terms that field ``field``'s learned part can express: one derivative factor of the field
    itself (the stencil), monomials of the fields without derivatives (the network)."""
    out = []
    for term in terms:
        derivatives = [f for f in term.factors if f.order > 0]
        if derivatives:
            if stencil and len(term.factors) == 1 and derivatives[0].field == field and derivatives[0].power == 1:
                out.append(term)
        elif network and all(f.plain for f in term.factors):
            out.append(term)
    return out


def learned_systems(
    model: UniversalPDE, path: torch.Tensor, library: Sequence[Term], symbols: Symbols
) -> list[RegressionSystem]:
    """Per field, the learned part along ``path`` ``(n_times, n_fields, *shape)`` as the target and the terms it
    can express as the columns, at the interior points, evaluated on the model's stencils."""
    stencils = _stencils_of(model)
    with torch.no_grad():
        target = model.learned(torch.zeros((), dtype=path.dtype), path)
        out = []
        for k in range(model.grid.n_fields):
            terms = expressible(library, k, bool(model.stencils), model.network is not None)
            evaluator = TermEvaluator(terms)
            values = derivative_values(path, evaluator.required(), stencils)
            theta = torch.stack([c.reshape(-1) for c in evaluator.columns(values, like=target[:, k])], dim=1)
            names = tuple(symbols.name(t) for t in terms)
            out.append(
                RegressionSystem(theta.cpu().numpy(), target[:, k].reshape(-1).cpu().numpy(), names, symbols.lhs(k))
            )
    return out


def _stencils_of(model: UniversalPDE) -> Stencils:
    width = model.width
    return Stencils(model.grid.spacings, model.grid.periodic, width, max_order=max(width - 1, 1), margin=model.margin)


def refit(
    known: Sequence[Equation],
    supports: Sequence[Sequence[str]],
    initial: Sequence[Sequence[float]],
    model: UniversalPDE,
    record: Record,
    solver: SolverOptions,
    iterations: int = 100,
) -> LinesCandidate:
    """Refit the free coefficients of ``known + supports`` (started at ``initial``) against ``record`` on the
    model's grid and stencils."""
    equations, free = with_supports(known, supports, initial)
    width = model.width
    fit = None
    for warm_up in (0, WARM_UP):
        lines = EquationLines(equations, model.known.symbols, model.grid, width, free, margin=model.margin)
        if lines.margin != model.margin:  # the symbolic model needs wider stencils than were learned
            break
        try:
            fit = fit_trajectories(
                lines,
                record.t,
                record.values,
                adam_iterations=warm_up,
                lbfgs_iterations=iterations,
                solver=solver,
                scale=record.scale,
                segments=record.segments,
            )
            break
        except (AssertionError, RuntimeError):  # the step size underflowed: a trial blew up
            continue
    if fit is None:
        return LinesCandidate([list(s) for s in supports], None, None, math.inf)
    n = record.values.size
    k = int(sum(len(s) for s in supports))
    loss = fit.loss[-1] if fit.loss else math.inf
    bic = n * math.log(max(loss, 1e-300)) + k * math.log(n) if math.isfinite(loss) else math.inf
    return LinesCandidate([list(s) for s in supports], lines.equations(), fit, bic)


def choose(
    known: Sequence[Equation],
    systems: Sequence[RegressionSystem],
    per_field: Sequence[Sequence[Sequence[str]]],
    attempt: Callable[[Sequence[Sequence[str]], Sequence[Sequence[float]]], LinesCandidate],
    on_refit: Callable[[], None] | None = None,
) -> list[LinesCandidate]:
    """Every combination of the per-field candidate supports (``candidate_supports(systems, max_terms)``) refitted
    by ``attempt``, then backward steps on the data:
    while the preferred candidate has a term whose removal has not been tried, each such smaller model is refitted
    from the preferred one's coefficients. Best first: those within ``BIC_MARGIN`` of the lowest BIC with the
    fewest terms, then the rest by BIC.

    The backward steps are needed because the learned part alone often cannot rank nearly collinear monomials:
    on the UDE paper's Fisher-KPP at 1 % noise the network's best three terms were u, u^3, u_xx in 4 of 5 noise
    draws, so the true u, u^2, u_xx was never refitted and a four-term model won; one step back from it reaches
    the true model."""
    out: list[LinesCandidate] = []
    tried: set[tuple[tuple[str, ...], ...]] = set()

    def run(supports: Sequence[Sequence[str]], initial: Sequence[Sequence[float]]) -> None:
        tried.add(tuple(tuple(sorted(s)) for s in supports))
        out.append(attempt(supports, initial))
        if on_refit is not None:
            on_refit()

    for combo in itertools.product(*per_field):
        run(combo, [support_coefficients(systems[k], support).tolist() for k, support in enumerate(combo)])
    while out:
        best = ranked(out)[0]
        smaller = [s for s in _one_fewer(best.supports) if tuple(tuple(sorted(f)) for f in s) not in tried]
        if best.equations is None or not smaller:
            break
        for supports in smaller:
            run(supports, _starting_values(best, known, supports))
    return ranked(out)


def ranked(candidates: Sequence[LinesCandidate]) -> list[LinesCandidate]:
    """Best first: those within ``BIC_MARGIN`` of the lowest BIC with the fewest terms, then the rest by BIC."""
    best = min((c.bic for c in candidates), default=math.inf)

    def key(c: LinesCandidate) -> tuple[bool, int, float]:
        inside = c.bic <= best + BIC_MARGIN
        return (not inside, c.n_terms if inside else 0, c.bic)

    return sorted(candidates, key=key)


def _one_fewer(supports: Sequence[Sequence[str]]) -> list[list[list[str]]]:
    """Every support with one term fewer (in any one field)."""
    out = []
    for k, support in enumerate(supports):
        for name in support:
            out.append([[n for n in s if n != name] if j == k else list(s) for j, s in enumerate(supports)])
    return out


def _starting_values(
    best: LinesCandidate, known: Sequence[Equation], supports: Sequence[Sequence[str]]
) -> list[list[float]]:
    """The refitted coefficients of ``best`` on ``supports`` (less the known part's share of a term)."""
    assert best.equations is not None
    return [
        [best.equations[k].coefficients[n] - known[k].coefficients.get(n, 0.0) for n in support]
        for k, support in enumerate(supports)
    ]


__all__ = [
    "LinesCandidate",
    "Record",
    "choose",
    "expressible",
    "learned_systems",
    "ranked",
    "refit",
]
