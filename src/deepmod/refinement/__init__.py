"""Refinements: chosen terms' coefficients estimated again once the selection is done, one abstract base
(:class:`Refinement`) shared by DeepMoD and the sparse-regression methods: the weak refit (least squares on the
data's weak form) and the simulation refit (maximum likelihood by single shooting)."""

from deepmod.refinement.base import Refined, Refinement
from deepmod.refinement.simulation import SimulationRefit
from deepmod.refinement.weak import WeakRefit

__all__ = ["Refined", "Refinement", "SimulationRefit", "WeakRefit"]
