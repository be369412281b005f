"""Ensembles of one method's runs: members on bootstrap draws of the data, inclusion probabilities, median
coefficients and intervals per term, and one reported model refitted on all the data.

Member ``k`` of an ensemble with seed ``s`` is the method's ordinary run on a :class:`~deepmod.method.Problem`
whose seed and :class:`~deepmod.method.Bootstrap` come from ``(s, k)`` alone, with one torch thread: so its
outcome is the same in this process, another process or a Ray worker, and the ensemble's JSON is
byte-identical on every backend (:mod:`deepmod.ensemble.backends`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from scipy import stats
from threadpoolctl import threadpool_limits

from deepmod.control import RunControl, Status
from deepmod.data.dataset import Dataset
from deepmod.ensemble.backends import Interrupted, Task
from deepmod.equation import Equation
from deepmod.errors import FitFailed
from deepmod.library import CandidateLibrary
from deepmod.method import Bootstrap, Method, Problem
from deepmod.result import Evidence, TermUncertainty

COVERAGE = 0.95
"""The coverage of the reported intervals."""


def member_seeds(seed: int, index: int) -> tuple[int, int]:
    """Member ``index``'s run seed and bootstrap seed, drawn from ``(seed, index)`` alone."""
    run, draw = np.random.SeedSequence([seed, index]).generate_state(2)
    return int(run), int(draw)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Inside, torch and numpy's BLAS compute on one thread each (a member's arithmetic does not depend on
    where it runs, and members side by side do not compete for cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):  # numpy's BLAS too
            yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class MemberOutcome:
    """What one member sends back: its index, its coefficients ``{lhs: {term: value}}`` (active terms), its
    status, the result's candidate names; ``error`` says why a member found no model (its coefficients are
    then empty); ``evidence``, how it chose its terms."""

    index: int
    coefficients: dict[str, dict[str, float]]
    status: Status | Literal["failed"]
    library: tuple[str, ...] = ()
    error: str | None = None
    evidence: Evidence | None = None


@dataclass(frozen=True)
class MemberTask(Task):
    """One method on one data set and library, run as member ``index`` (:meth:`__call__`): everything a worker
    needs, sent to it once."""

    method: Method
    data: Dataset
    library: CandidateLibrary
    seed: int = 0
    device: str = "cpu"

    def problem(self, index: int | None = None, control: RunControl | None = None) -> Problem:
        """Member ``index``'s problem, with ``control``'s stop request; ``None``: the whole data, the ensemble's
        seed (its reported model's)."""
        if index is None:
            return Problem(self.data, self.library, self.seed, self.device)
        run, draw = member_seeds(self.seed, index)
        own = RunControl() if control is None else control.stopping_only()
        return Problem(self.data, self.library, run, self.device, own, bootstrap=Bootstrap(draw))

    def __call__(self, index: int, control: RunControl | None = None) -> MemberOutcome:
        with one_thread():
            try:
                result = self.method.run(self.problem(index, control))
            except FitFailed as exc:
                return MemberOutcome(index, {}, "failed", error=str(exc))
        if result.status == "interrupted":
            raise Interrupted(f"member {index} was stopped")
        return MemberOutcome(index, result.coefficients, result.status, tuple(result.library), evidence=result.evidence)


@dataclass(frozen=True)
class Summary:
    """The members aggregated: per left-hand side and term, its :class:`~deepmod.result.TermUncertainty`
    (terms in the order they first appear, member by member); ``members``: how many found a model."""

    terms: dict[str, dict[str, TermUncertainty]]
    members: int

    def supports(self, threshold: float) -> list[list[str]]:
        """Per left-hand side, the terms kept by at least ``threshold`` of the members."""
        return [[t for t, u in terms.items() if u.inclusion >= threshold] for terms in self.terms.values()]

    def medians(self, threshold: float) -> list[Equation]:
        """The model of :meth:`supports` with the members' median coefficients."""
        return [
            Equation(lhs, {t: u.median for t, u in terms.items() if u.inclusion >= threshold})
            for lhs, terms in self.terms.items()
        ]


def summarise(outcomes: Sequence[MemberOutcome], lhs: Sequence[str]) -> Summary:
    """Inclusion (the fraction of members with a model that kept a term), median coefficient over the members
    that kept it, and a 95 % interval: the median plus or minus Student's t quantile (members - 1 degrees of
    freedom) times the standard deviation of those coefficients. Each member is a fit to a full-size draw of
    the data, so that spread estimates the fit's own; the t quantile widens the interval of a few members
    (3.2 standard deviations for 4, 2.0 for 50) where percentiles of 4 values would be their range."""
    found = sorted((o for o in outcomes if o.error is None), key=lambda o: o.index)
    out: dict[str, dict[str, TermUncertainty]] = {}
    for name in lhs:
        values: dict[str, list[float]] = {}
        for o in found:
            for term, value in o.coefficients.get(name, {}).items():
                values.setdefault(term, []).append(value)
        out[name] = {term: _uncertainty(v, len(found)) for term, v in values.items()}
    return Summary(out, len(found))


def _uncertainty(values: Sequence[float], members: int) -> TermUncertainty:
    v = np.asarray(values, dtype=np.float64)
    median = float(np.median(v))
    half = 0.0
    if len(v) > 1:
        half = float(stats.t.ppf(0.5 + COVERAGE / 2, len(v) - 1) * np.std(v, ddof=1))
    return TermUncertainty(len(v) / members, median, (median - half, median + half))
