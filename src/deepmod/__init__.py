"""deepmod: find the differential equation behind measured data.

Load or generate a :class:`Dataset`, call :func:`discover` with a method object (:class:`DeepMoD` by
default), and read the :class:`Result`::

    import deepmod
    system = deepmod.data.burgers_delta()
    result = deepmod.discover(deepmod.add_noise(system.data, 0.05))
    print(result)          # u_t = 0.1 u_xx - 1 u*u_x
"""

from deepmod import data
from deepmod._version import __version__
from deepmod.api import discover, make_library
from deepmod.data import Dataset, add_noise, load, subsample
from deepmod.equation import Equation
from deepmod.library import CandidateLibrary, PolynomialLibrary
from deepmod.method import Method
from deepmod.neural import MLP, DeepMoD, LeastSquares, RegressorEstimator, Schedule, Siren
from deepmod.regression import STLSQ, STRidge
from deepmod.result import History, Result

__all__ = [
    "MLP",
    "STLSQ",
    "CandidateLibrary",
    "Dataset",
    "DeepMoD",
    "Equation",
    "History",
    "LeastSquares",
    "Method",
    "PolynomialLibrary",
    "RegressorEstimator",
    "Result",
    "STRidge",
    "Schedule",
    "Siren",
    "__version__",
    "add_noise",
    "data",
    "discover",
    "load",
    "make_library",
    "subsample",
]
