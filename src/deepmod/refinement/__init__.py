"""Refinements: chosen terms' coefficients estimated again once the selection is done, shared by the methods
(the simulation refit: maximum likelihood by single shooting)."""

from deepmod.refinement.simulation import SimulationRefit

__all__ = ["SimulationRefit"]
