"""Sparse regression on produced systems: the classical methods on grids and time series.

A :class:`SparseRegression` chooses a producer (:mod:`deepmod.systems`) and a regressor, and does the rest the
same way whatever the producer: the systems are made (an ensemble member's draw of their rows where it is one),
the regressor selects and fits each equation, and the result records how. Its two final forms:

- :class:`WeakForm` (``--method weak``): the weak systems, integrals against test functions with the
  derivatives moved onto them (Messenger and Bortz, "Weak SINDy for partial differential equations",
  J. Comput. Phys. 443, 2021); an ensemble's reported model is then fitted by simulation where the record
  allows.
- :class:`FiniteDifferences` (``--method fd``): the pointwise systems of smoothed derivatives (PDE-FIND).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from deepmod.control import Step
from deepmod.derivatives.bumps import BumpRule
from deepmod.diagnostics import selection_warnings
from deepmod.method import Method, Problem, Refit, assemble
from deepmod.refinement.simulation import SimulationRefit
from deepmod.regression.selection import CrossValidatedPath
from deepmod.regression.system import fit_equations
from deepmod.result import Result
from deepmod.systems.base import SystemProducer
from deepmod.systems.pointwise import PointwiseSystems
from deepmod.systems.weak import WeakSystems


class SparseRegression(Method, abc.ABC):
    """A producer of regression systems and a sparse regressor; the subclasses only choose them.

    Contract of a subclass: :meth:`producer` returns the configured :class:`~deepmod.systems.SystemProducer`,
    and the dataclass field ``regressor`` holds a scikit-learn-style regressor (:mod:`deepmod.regression`).
    """

    regressor: Any
    simulation_refit: SimulationRefit | None = None

    @abc.abstractmethod
    def producer(self) -> SystemProducer:
        """The producer of this method's systems."""

    def run(self, problem: Problem) -> Result:
        start = time.perf_counter()
        data, library = problem.data, problem.library
        callbacks = problem.control.callbacks

        def progress(done: int, total: int) -> None:
            for cb in callbacks:
                if done == 0:
                    cb.on_start(total)
                else:
                    cb.on_step(Step(done))

        producer = self.producer()
        produced = producer.produce(data, library, problem.bootstrap, progress)
        systems = produced.systems
        fits = fit_equations(systems, self.regressor)
        for cb in callbacks:
            cb.on_end("converged")
        settings = {
            **produced.settings,
            "regressor": repr(self.regressor),
            **producer.fitted_settings(systems, fits),
        }
        return assemble(
            self.name,
            library.symbols,
            data.coord_names,
            [f.equation for f in fits],
            produced.terms,
            seconds=time.perf_counter() - start,
            settings=settings,
            evidence=producer.evidence.of(systems, fits),
            warnings=selection_warnings(systems, fits),
        )

    def refit(self, problem: Problem, supports: Sequence[Sequence[str]]) -> Refit | None:
        """Least squares of the chosen terms on the producer's systems of all the data, then fitted by
        simulation where ``simulation_refit`` is set and the record allows (``how`` says whether it did, its
        misfit in units of the noise variance, or why not); ``None`` where the producer cannot refit some
        field's terms."""
        producer = self.producer()
        equations = producer.refit(problem.data, problem.library, supports)
        label = producer.refit_label
        if equations is None or self.simulation_refit is None or not any(eq.coefficients for eq in equations):
            return None if equations is None else Refit(equations, {"by": label})
        refined = self.simulation_refit.refine(problem.data, problem.library, equations)
        simulated, info = refined.complete, refined.how
        if simulated is None:
            return Refit(equations, {"by": label, "simulation": info["skipped"]})
        how = {"by": "simulation", "steps": info["steps"], "misfit_in_noise_units": info["misfit_in_noise_units"]}
        return Refit(simulated, how)


@dataclass(frozen=True)
class WeakForm(SparseRegression):
    """Weak-form discovery (WSINDy-style) with automatic test functions and model selection: the weak systems
    (:class:`~deepmod.systems.weak.WeakSystems`) and a held-out selection along a sparsity path.

    Attributes:
        bumps: how the test functions are chosen (:class:`~deepmod.derivatives.bumps.BumpRule`).
        regressor: sparse regression on the weak system; by default :class:`CrossValidatedPath`.
        noise_correction: on space-time grids, replace each monomial of the noisy fields by its unbiased
            estimate, the noise variance of each field read off its spectrum (:mod:`deepmod.systems.noise`).
            Measured with the weak method's defaults at 25 and 50 % noise on Allen-Cahn, Fisher-KPP and
            FitzHugh-Nagumo-type systems (2 of each, 2 noise seeds): 8 of 32 runs correct against 3 without;
            the PDE-FIND Burgers, KdV and Kuramoto-Sivashinsky tables unchanged. Time series are left as they
            are: their spectral floor overestimates the noise (up to 40 times on short records). With it, the
            chosen model's coefficients are corrected for the noise in the columns and weighted by the rows'
            noise covariance (:func:`~deepmod.regression.noise.corrected_lstsq`); off, they are plain least
            squares.
        simulation_refit: how an ensemble's reported model (:meth:`refit`) is fitted by simulation after the
            weak refit (:class:`~deepmod.refinement.SimulationRefit`; ``None``: the weak refit stands). A
            single run's coefficients stay the weak form's.
    """

    name: ClassVar[str] = "weak"
    diff_order: ClassVar[int] = 4

    bumps: BumpRule = field(default_factory=BumpRule)
    regressor: Any = field(default_factory=CrossValidatedPath)
    noise_correction: bool = True
    simulation_refit: SimulationRefit | None = field(default_factory=SimulationRefit)

    def producer(self) -> WeakSystems:
        return WeakSystems(self.bumps, self.noise_correction)


@dataclass(frozen=True)
class FiniteDifferences(SparseRegression):
    """Finite-difference (Savitzky-Golay) derivatives of the data plus :class:`CrossValidatedPath` selection:
    the pointwise systems (:class:`~deepmod.systems.pointwise.PointwiseSystems`).

    Attributes:
        regressor: sparse regression on (Theta, u_t); by default :class:`CrossValidatedPath`.
        max_rows: at most this many grid points enter the regression (a regular subsample in time).
    """

    name: ClassVar[str] = "fd"
    diff_order: ClassVar[int] = 4

    regressor: Any = field(default_factory=CrossValidatedPath)
    max_rows: int = 100_000

    def producer(self) -> PointwiseSystems:
        return PointwiseSystems(self.max_rows)


__all__ = ["FiniteDifferences", "SparseRegression", "WeakForm"]
