"""The weak refit as a refinement: chosen terms' coefficients by least squares on the weak form of all the data
(:meth:`deepmod.systems.weak.WeakSystems.refit_fields`: the data integrated against test functions, no
derivative of the data or of a network)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import final

from deepmod.data.dataset import Dataset
from deepmod.derivatives.bumps import BumpRule
from deepmod.equation import Equation
from deepmod.library import CandidateLibrary
from deepmod.refinement.base import Refined, Refinement
from deepmod.systems.base import Bootstrap
from deepmod.systems.weak import WeakSystems


@final
@dataclass(frozen=True)
class WeakRefit(Refinement):
    """Least squares of the chosen terms on the weak form of the data: a network's pointwise derivatives,
    fitted to a couple of thousand noisy samples, bias diffusion coefficients by several per cent
    (reaction-diffusion at 5 % noise: 0.0875 for 0.1), the integrals of all the data by about one. A field
    whose terms no derivatives of monomials span, and every field of scattered or ODE data, is left as it is.

    Attributes:
        bumps: how the test functions are chosen (the weak method's rule by default).
        noise_correction: each monomial of the noisy fields by its unbiased estimate (:mod:`deepmod.systems.noise`).
    """

    bumps: BumpRule = field(default_factory=BumpRule)
    noise_correction: bool = True

    def refine(
        self, data: Dataset, library: CandidateLibrary, equations: Sequence[Equation], rows: Bootstrap | None = None
    ) -> Refined:
        systems = WeakSystems(self.bumps, self.noise_correction)
        supports = [list(eq.coefficients) for eq in equations]
        return Refined(systems.refit_fields(data, library, supports, rows), {"by": "weak form"})


__all__ = ["WeakRefit"]
