"""Neural and universal ODEs on torchdiffeq, symbolic recovery of their network part, and hypersolvers."""

from deepmod.ode.fields import NeuralField, NeuralODE, PolynomialField, UniversalODE
from deepmod.ode.hypersolvers import Correction, HyperEuler, HyperHeun, HyperSolver
from deepmod.ode.training import SolverOptions, TrajectoryFit, fit_rates, fit_trajectories
from deepmod.ode.ude import UDE

__all__ = [
    "UDE",
    "Correction",
    "HyperEuler",
    "HyperHeun",
    "HyperSolver",
    "NeuralField",
    "NeuralODE",
    "PolynomialField",
    "SolverOptions",
    "TrajectoryFit",
    "UniversalODE",
    "fit_rates",
    "fit_trajectories",
]
