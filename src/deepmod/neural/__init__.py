"""DeepMoD components: approximators, constraint, sparsity estimators, schedule and training loop."""

from deepmod.approximators import MLP, Approximator, Siren, TimeWindows
from deepmod.method import Callback
from deepmod.neural.constraint import Constraint, LeastSquares
from deepmod.neural.deepmod import DeepMoD
from deepmod.neural.schedule import Schedule
from deepmod.neural.sparsity import RegressorEstimator, SparsityEstimator

__all__ = [
    "MLP",
    "Approximator",
    "Callback",
    "Constraint",
    "DeepMoD",
    "LeastSquares",
    "RegressorEstimator",
    "Schedule",
    "Siren",
    "SparsityEstimator",
    "TimeWindows",
]
