"""Sweeps: a grid of noise levels x seeds x methods on one data set, each cell scored against a true equation,
through the same backends as ensembles (:func:`sweep`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from deepmod.control import RunControl, Status
from deepmod.data.dataset import Dataset
from deepmod.data.sampling import add_noise
from deepmod.ensemble.backends import Backend, Interrupted, Job, Serial, Task
from deepmod.ensemble.members import one_thread
from deepmod.ensemble.run import THRESHOLD, ensemble
from deepmod.errors import FitFailed
from deepmod.method import Method, Problem

TOLERANCE = 0.10
"""A cell is correct when its terms are exactly the true ones and every coefficient is within this relative
error of the truth."""


def score(found: Mapping[str, Mapping[str, float]], truth: Mapping[str, Mapping[str, float]]) -> float | None:
    """The largest relative coefficient error of ``found`` against ``truth`` (``{lhs: {term: value}}``), or
    ``None`` when the terms of some equation are not exactly the true ones."""
    errors = []
    for lhs, terms in truth.items():
        got = found.get(lhs, {})
        if set(got) != set(terms):
            return None
        errors += [abs(got[t] - v) / abs(v) for t, v in terms.items()]
    return max(errors, default=0.0)


@dataclass(frozen=True)
class SweepRow:
    """One cell: the method's name, the noise level and seed, the equations found, their largest relative
    error (``None``: wrong terms), whether that is correct, the run's seconds and status."""

    method: str
    level: float
    seed: int
    equations: dict[str, dict[str, float]]
    error: float | None
    correct: bool
    seconds: float
    status: Status | Literal["failed"]


@dataclass(frozen=True)
class SweepTask(Task):
    """The cells of a sweep, numbered method-major, then level, then seed. A cell adds Gaussian noise of std
    ``level x std(field)`` drawn from its seed, runs the method with that seed (an ensemble of ``members``
    with that seed when ``members`` > 0, its members one after another) and scores it against ``truth``."""

    data: Dataset
    methods: tuple[Method, ...]
    levels: tuple[float, ...]
    seeds: tuple[int, ...]
    truth: dict[str, dict[str, float]]
    members: int = 0
    threshold: float = THRESHOLD
    tolerance: float = TOLERANCE
    orders: tuple[int | None, int | None] = (None, None)

    @property
    def size(self) -> int:
        return len(self.methods) * len(self.levels) * len(self.seeds)

    def cell(self, index: int) -> tuple[Method, float, int]:
        m, rest = divmod(index, len(self.levels) * len(self.seeds))
        level, seed = divmod(rest, len(self.seeds))
        return self.methods[m], self.levels[level], self.seeds[seed]

    def __call__(self, index: int, control: RunControl | None = None) -> SweepRow:
        method, level, seed = self.cell(index)
        data = add_noise(self.data, level, seed=seed) if level > 0 else self.data
        library = method.default_library(data, *self.orders)
        own = RunControl() if control is None else control.stopping_only()
        status: Status | Literal["failed"]
        start = time.perf_counter()
        try:
            if self.members:
                result = ensemble(
                    data, method, library, members=self.members, threshold=self.threshold, seed=seed, control=own
                )
            else:
                with one_thread():
                    result = method.run(Problem(data, library, seed, control=own))
            found, status = result.coefficients, result.status
        except FitFailed:
            if self.members and own.stopped():  # stopped before any member finished
                raise Interrupted(f"cell {index} was stopped") from None
            found, status = {}, "failed"
        if status == "interrupted":
            raise Interrupted(f"cell {index} was stopped")
        seconds = time.perf_counter() - start
        error = score(found, self.truth)
        correct = error is not None and error <= self.tolerance
        return SweepRow(method.name, level, seed, found, error, correct, seconds, status)


@dataclass
class SweepTable:
    """A sweep's rows (cell order) and whether it was stopped before every cell finished."""

    rows: list[SweepRow] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    interrupted: bool = False

    def text(self) -> str:
        """One line per method and noise level: correct cells of the seeds run, the median and largest of the
        cells' largest coefficient errors (correct terms only), the median seconds."""
        lines = [f"{'method':<10} {'noise':>6} {'correct':>8} {'median err':>11} {'max err':>9} {'seconds':>8}"]
        keys = dict.fromkeys((r.method, r.level) for r in self.rows)
        for method, level in keys:
            rows = [r for r in self.rows if (r.method, r.level) == (method, level)]
            errors = [r.error for r in rows if r.error is not None]
            right = sum(r.correct for r in rows)
            med = f"{100 * float(np.median(errors)):.2f} %" if errors else "-"
            top = f"{100 * max(errors):.2f} %" if errors else "-"
            secs = float(np.median([r.seconds for r in rows]))
            lines.append(f"{method:<10} {level:>6.0%} {right:>4}/{len(rows):<3} {med:>11} {top:>9} {secs:>8.2f}")
        for index, why in sorted(self.failed.items()):
            lines.append(f"cell {index} failed: {why}")
        if self.interrupted:
            lines.append("(interrupted: the cells above are those that finished)")
        return "\n".join(lines)


def sweep(
    data: Dataset,
    truth: Mapping[str, Mapping[str, float]],
    methods: Sequence[Method],
    levels: Sequence[float] = (0.0, 0.01, 0.05, 0.1),
    seeds: Sequence[int] = (0, 1, 2),
    *,
    members: int = 0,
    threshold: float = THRESHOLD,
    tolerance: float = TOLERANCE,
    poly_order: int | None = None,
    diff_order: int | None = None,
    backend: Backend | None = None,
    on_row: Callable[[SweepRow], None] | None = None,
    control: RunControl | None = None,
) -> SweepTable:
    """Run every method at every noise level with every seed on ``data`` and score each against ``truth``.

    Args:
        data: clean data (noise is added per cell: Gaussian, std = level x std(field), from the cell's seed).
        truth: the true equations, ``{lhs: {term: coefficient}}``.
        methods: the methods to compare, each with its own defaults.
        members: 0 for single runs; N for an ensemble of N per cell (:func:`~deepmod.ensemble.ensemble`).
        tolerance: the relative coefficient error a correct cell stays within.
        poly_order, diff_order: the libraries' orders (each method's own where ``None``).
        backend: where the cells run (in this process by default); each cell computes on one thread.
        on_row: called with each cell's row as it finishes.
        control: its stop request, once set, ends every cell and the table holds the finished ones.
    """
    task = SweepTask(
        data,
        tuple(methods),
        tuple(float(v) for v in levels),
        tuple(int(s) for s in seeds),
        {lhs: dict(terms) for lhs, terms in truth.items()},
        members,
        threshold,
        tolerance,
        (poly_order, diff_order),
    )
    done = None if on_row is None else (lambda _index, row: on_row(row))
    job = Job(task, range(task.size), done, RunControl() if control is None else control)
    outcomes = (Serial() if backend is None else backend).map(job)
    rows = [outcomes.finished[i] for i in sorted(outcomes.finished)]
    return SweepTable(rows, dict(outcomes.failed), outcomes.interrupted)
