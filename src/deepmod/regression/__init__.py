"""Sparse regression shared by all methods, with the scikit-learn contract."""

from deepmod.regression.base import SparseRegressor, lstsq_on, normalise_columns, normalise_problem
from deepmod.regression.selection import BackwardElimination, CrossValidatedPath
from deepmod.regression.stlsq import STLSQ, STRidge

__all__ = [
    "STLSQ",
    "BackwardElimination",
    "CrossValidatedPath",
    "STRidge",
    "SparseRegressor",
    "lstsq_on",
    "normalise_columns",
    "normalise_problem",
]
