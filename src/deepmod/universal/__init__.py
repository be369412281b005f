"""What the universal ODE and the universal PDE share: vector fields with known and learned parts, their
fitting through an ODE solver (Adam, then L-BFGS; multiple shooting), and the read-back of a network's
output as candidate equations refitted through the solver."""

from deepmod.universal.fields import NeuralField, NeuralODE, PolynomialField, UniversalODE
from deepmod.universal.training import SolverOptions, TrajectoryFit, fit_rates, fit_trajectories

__all__ = [
    "NeuralField",
    "NeuralODE",
    "PolynomialField",
    "SolverOptions",
    "TrajectoryFit",
    "UniversalODE",
    "fit_rates",
    "fit_trajectories",
]
