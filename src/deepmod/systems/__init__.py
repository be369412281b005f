"""Producers of regression systems: the pointwise (smoothed derivatives on the grid) and the weak (integrals
against test functions, with the noise correction and the weak refit) systems that the sparse-regression
methods and DeepMoD's weak selection share."""

from deepmod.systems.base import Bootstrap, Produced, SystemProducer
from deepmod.systems.pointwise import PointwiseSystems, SmoothingPlan
from deepmod.systems.weak import WeakSystems, WeakTerm, expand_derivative, weak_terms

__all__ = [
    "Bootstrap",
    "PointwiseSystems",
    "Produced",
    "SmoothingPlan",
    "SystemProducer",
    "WeakSystems",
    "WeakTerm",
    "expand_derivative",
    "weak_terms",
]
