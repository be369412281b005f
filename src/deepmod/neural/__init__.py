"""DeepMoD and its components: approximators, constraint, sparsity estimators, schedule, selections and the
training loop."""

from deepmod.approximators import MLP, Approximator, Siren, TimeWindows
from deepmod.method import Callback
from deepmod.neural.components import BoxWeak, DataCheck, DefaultNetwork, GridWeak, Pointwise, Selection, TimeWeak
from deepmod.neural.constraint import Constraint, LeastSquares
from deepmod.neural.deepmod import DeepMoD
from deepmod.neural.schedule import Schedule
from deepmod.neural.sparsity import RegressorEstimator, SparsityEstimator

__all__ = [
    "MLP",
    "Approximator",
    "BoxWeak",
    "Callback",
    "Constraint",
    "DataCheck",
    "DeepMoD",
    "DefaultNetwork",
    "GridWeak",
    "LeastSquares",
    "Pointwise",
    "RegressorEstimator",
    "Schedule",
    "Selection",
    "Siren",
    "SparsityEstimator",
    "TimeWeak",
    "TimeWindows",
]
