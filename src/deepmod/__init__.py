"""deepmod: find the differential equation behind measured data.

Load or generate a :class:`Dataset`, call :func:`discover` with a method object (:class:`DeepMoD` by
default, :class:`WeakForm`, :class:`FiniteDifferences`, :class:`UDE`), and read the :class:`Result`; or use
the scikit-learn style :class:`Model`::

    import deepmod
    system = deepmod.data.burgers_delta()
    result = deepmod.discover(deepmod.add_noise(system.data, 0.05))
    print(result)          # u_t = 0.1 u_xx - 1 u*u_x
    result.save("result.json")
    simulation = deepmod.Result.load("result.json").simulate(system.data)

    model = deepmod.Model(method=deepmod.WeakForm()).fit(u, t=t, x=x)
"""

from typing import TYPE_CHECKING

from deepmod import data, report
from deepmod._version import __version__
from deepmod.api import discover
from deepmod.classical import FiniteDifferences, WeakForm
from deepmod.data import Dataset, add_noise, load, subsample
from deepmod.derivatives.bumps import BumpRule
from deepmod.equation import Equation, parse_equation
from deepmod.library import CandidateLibrary, PolynomialLibrary, TermEvaluator, symbols_for
from deepmod.method import Callback, Method, RunControl, make_library
from deepmod.neural import MLP, DeepMoD, DefaultNetwork, LeastSquares, RegressorEstimator, Schedule, Siren, TimeWindows
from deepmod.ode import UDE, HyperEuler, HyperHeun
from deepmod.pde import UniversalPDEMethod
from deepmod.pde.coarse import Coarsening
from deepmod.pinn import PINN, PinnIdentification
from deepmod.regression import (
    STLSQ,
    BackwardElimination,
    CrossValidatedPath,
    RegressionSystem,
    STRidge,
    fit_equations,
)
from deepmod.report import build_report
from deepmod.result import (
    CandidateEvidence,
    History,
    Result,
    SelectionEvidence,
    SolutionEvidence,
    WeakSelectionEvidence,
)
from deepmod.simulate import Simulation, simulate
from deepmod.terms import Symbols

if TYPE_CHECKING:
    from deepmod.estimator import Model

__all__ = [
    "MLP",
    "PINN",
    "STLSQ",
    "UDE",
    "BackwardElimination",
    "BumpRule",
    "Callback",
    "CandidateEvidence",
    "CandidateLibrary",
    "Coarsening",
    "CrossValidatedPath",
    "Dataset",
    "DeepMoD",
    "DefaultNetwork",
    "Equation",
    "FiniteDifferences",
    "History",
    "HyperEuler",
    "HyperHeun",
    "LeastSquares",
    "Method",
    "Model",
    "PinnIdentification",
    "PolynomialLibrary",
    "RegressionSystem",
    "RegressorEstimator",
    "Result",
    "RunControl",
    "STRidge",
    "Schedule",
    "SelectionEvidence",
    "Simulation",
    "Siren",
    "SolutionEvidence",
    "Symbols",
    "TermEvaluator",
    "TimeWindows",
    "UniversalPDEMethod",
    "WeakForm",
    "WeakSelectionEvidence",
    "__version__",
    "add_noise",
    "build_report",
    "data",
    "discover",
    "fit_equations",
    "load",
    "make_library",
    "parse_equation",
    "report",
    "simulate",
    "subsample",
    "symbols_for",
]


def __getattr__(name: str) -> object:
    """``Model`` is imported on first use: scikit-learn's base module costs over a second at start-up, which
    every command-line call would otherwise pay."""
    if name == "Model":
        from deepmod.estimator import Model

        return Model
    raise AttributeError(f"module 'deepmod' has no attribute {name!r}")
