"""Physics-informed networks: solve a known or discovered PDE on a box, or calibrate its unknown coefficients
from data, with DeepMoD's networks, Taylor-mode derivatives and term evaluator."""

from deepmod.pinn.fit import PinnFit
from deepmod.pinn.method import PinnIdentification
from deepmod.pinn.problem import Box, Condition, PinnProblem, Values
from deepmod.pinn.solver import PINN, Sampling

__all__ = ["PINN", "Box", "Condition", "PinnFit", "PinnIdentification", "PinnProblem", "Sampling", "Values"]
