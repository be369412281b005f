"""Sparse regression shared by all methods, with the scikit-learn contract."""

from deepmod.regression.base import SparseRegressor, lstsq_on, normalise_columns, normalise_problem
from deepmod.regression.held_out import SmallTerms, Stepwise
from deepmod.regression.selection import BackwardElimination, CrossValidatedPath
from deepmod.regression.stlsq import STLSQ, STRidge
from deepmod.regression.system import FittedEquation, LeastSquaresFit, RegressionSystem, fit_equations

__all__ = [
    "STLSQ",
    "BackwardElimination",
    "CrossValidatedPath",
    "FittedEquation",
    "LeastSquaresFit",
    "RegressionSystem",
    "STRidge",
    "SmallTerms",
    "SparseRegressor",
    "Stepwise",
    "fit_equations",
    "lstsq_on",
    "normalise_columns",
    "normalise_problem",
]
