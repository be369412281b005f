""":func:`ensemble`: many runs of one method, aggregated into one :class:`~deepmod.result.Result` with the
uncertainty of every term."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from deepmod.control import RunControl
from deepmod.data.dataset import Dataset
from deepmod.diagnostics import dense_warning
from deepmod.ensemble.backends import Backend, Job, Outcomes, Serial
from deepmod.ensemble.members import MemberOutcome, MemberTask, Summary, summarise
from deepmod.equation import Equation
from deepmod.errors import FitFailed
from deepmod.library import CandidateLibrary
from deepmod.method import Method, Refit, assemble
from deepmod.neural.deepmod import DeepMoD
from deepmod.result import Result

THRESHOLD = 0.5
"""The default inclusion at or above which a term is in an ensemble's reported model."""


def ensemble(
    data: Dataset,
    method: Method | None = None,
    library: CandidateLibrary | None = None,
    *,
    members: int = 20,
    threshold: float = THRESHOLD,
    backend: Backend | None = None,
    seed: int = 0,
    device: str = "cpu",
    on_member: Callable[[MemberOutcome], None] | None = None,
    control: RunControl | None = None,
) -> Result:
    """Run ``method`` ``members`` times on bootstrap draws of ``data`` and report one model with the
    uncertainty of each term.

    Each member is the method's ordinary run on its draw (:class:`~deepmod.method.Bootstrap`: test functions
    for the weak method, grid points for fd, samples and the network's seed for DeepMoD, times for the
    universal ODE). Per term, ``Result.uncertainty`` gives the fraction of the members that kept it, the
    median of their coefficients and a 95 % interval (:func:`~deepmod.ensemble.members.summarise`). The
    equations are the terms kept by at least ``threshold`` of the members, refitted on all the data
    (:meth:`~deepmod.method.Method.refit`, or the members' medians for a method without one): the one model
    that is printed, saved, simulated and reported.

    Args:
        data, method, library, seed, device: as for :func:`deepmod.discover` (DeepMoD by default).
        members: how many runs.
        threshold: the inclusion a term needs to be in the reported model, in (0, 1].
        backend: where the members run (:mod:`deepmod.ensemble.backends`); in this process by default. The
            same seed gives the same result on every backend.
        on_member: called with each member's outcome as it finishes (a progress bar).
        control: its stop request, once set, ends every member and the result aggregates the finished ones,
            status ``"interrupted"`` (members are given the stop request alone).

    Raises:
        FitFailed: when no member found a model.
    """
    if members < 1 or not 0.0 < threshold <= 1.0:
        raise ValueError(f"an ensemble needs members >= 1 and 0 < threshold <= 1, not {members} and {threshold}")
    start = time.perf_counter()
    method = DeepMoD() if method is None else method
    library = method.default_library(data) if library is None else library
    task = MemberTask(method, data, library, seed, device)
    done = None if on_member is None else (lambda _index, outcome: on_member(outcome))
    job = Job(task, range(members), done, RunControl() if control is None else control)
    outcomes = (Serial() if backend is None else backend).map(job)
    result = aggregate(task, outcomes, members, threshold)
    result.seconds = time.perf_counter() - start
    return result


def aggregate(task: MemberTask, outcomes: Outcomes, members: int, threshold: float) -> Result:
    """The ensemble's result from its members' outcomes (:func:`ensemble`)."""
    if not outcomes.finished:
        why = next(iter(outcomes.failed.values()), "it was stopped before any member finished")
        raise FitFailed(f"no member of the ensemble found a model: {why}", None)
    library = task.library
    lhs = [library.symbols.lhs(f) for f in range(len(library.symbols.targets))]
    summary = summarise(list(outcomes.finished.values()), lhs)
    refit = _reported(task, summary, threshold)
    equations = refit.equations
    first = outcomes.finished[min(outcomes.finished)]
    return assemble(
        task.method.name,
        library.symbols,
        task.data.coord_names,
        equations,
        first.library,
        status="interrupted" if outcomes.interrupted else "converged",
        settings=_settings(members, threshold, task.seed, outcomes, summary, refit),
        evidence=first.evidence,  # its type says how the members chose (the report's sections follow it)
        warnings=_warnings(outcomes, summary, equations, len(first.library)),
        uncertainty=summary.terms,
    )


def _reported(task: MemberTask, summary: Summary, threshold: float) -> Refit:
    """The terms at or above ``threshold``, refitted on all the data where the method can (else the members'
    medians), and how."""
    supports = summary.supports(threshold)
    refitted = task.method.refit(task.problem(), supports) if any(supports) else None
    return Refit(summary.medians(threshold), {"by": "members' medians"}) if refitted is None else refitted


def _settings(
    members: int, threshold: float, seed: int, outcomes: Outcomes, summary: Summary, refit: Refit
) -> dict[str, object]:
    found = [o for o in outcomes.finished.values() if o.error is None]
    return {
        "ensemble": {
            "members": members,
            "finished": len(outcomes.finished),
            "with_model": summary.members,
            "failed": {str(i): why for i, why in sorted(outcomes.failed.items())},
            "threshold": threshold,
            "seed": seed,
            "statuses": sorted({o.status for o in found}),
            "refit": refit.how,
        }
    }


def _warnings(outcomes: Outcomes, summary: Summary, equations: Sequence[Equation], n_terms: int) -> list[str]:
    out = []
    lost = len(outcomes.failed) + sum(1 for o in outcomes.finished.values() if o.error is not None)
    if lost:
        out.append(f"{lost} member(s) of the ensemble found no model or failed; the others are aggregated")
    for lhs, terms in summary.terms.items():
        unsure = [t for t, u in terms.items() if 0.25 < u.inclusion < 0.75]
        if unsure:
            out.append(f"{lhs}: the members disagree on {', '.join(unsure)} (kept by 25-75 % of them)")
    for eq in equations:
        out.extend(dense_warning(eq.lhs, len(eq.coefficients), n_terms))
    return out
