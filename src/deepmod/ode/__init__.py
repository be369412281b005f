"""Neural and universal ODEs on torchdiffeq, symbolic recovery of their network part, and hypersolvers."""

from deepmod.ode.hypersolvers import Correction, HyperEuler, HyperHeun, HyperSolver
from deepmod.ode.ude import UDE
from deepmod.universal.fields import NeuralField, NeuralODE, PolynomialField, UniversalODE
from deepmod.universal.training import SolverOptions, TrajectoryFit, fit_rates, fit_trajectories

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
