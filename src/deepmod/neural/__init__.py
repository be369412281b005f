"""DeepMoD components: approximators, constraint, sparsity estimators, schedule and training loop."""

from deepmod.neural.approximators import MLP, Approximator, Siren, TimeWindows
from deepmod.neural.constraint import Constraint, LeastSquares
from deepmod.neural.deepmod import DeepMoD
from deepmod.neural.sparsity import RegressorEstimator, SparsityEstimator
from deepmod.neural.training import Callback, Schedule

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
