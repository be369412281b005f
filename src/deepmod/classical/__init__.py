"""Classical discovery on grids and time series: sparse regression with automatic model selection on the weak
form's or the smoothed derivatives' systems (:mod:`deepmod.systems`)."""

from deepmod.classical.sparse import FiniteDifferences, SparseRegression, WeakForm

__all__ = ["FiniteDifferences", "SparseRegression", "WeakForm"]
