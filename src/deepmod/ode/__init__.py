"""Neural and universal ODEs on torchdiffeq, symbolic recovery of their network part, and hypersolvers. The
vector fields and their training through the solver are :mod:`deepmod.universal`'s (shared with the
universal PDE)."""

from deepmod.ode.hypersolvers import Correction, HyperEuler, HyperHeun, HyperSolver
from deepmod.ode.ude import UDE

__all__ = ["UDE", "Correction", "HyperEuler", "HyperHeun", "HyperSolver"]
