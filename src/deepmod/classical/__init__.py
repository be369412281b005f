"""Classical discovery on grids: weak-form (integral) libraries and PDE-FIND style finite differences, both
with automatic model selection."""

from deepmod.classical.finite_differences import FiniteDifferences
from deepmod.classical.weak import WeakForm, WeakTerm, corner_wavenumber, expand_derivative, weak_terms

__all__ = ["FiniteDifferences", "WeakForm", "WeakTerm", "corner_wavenumber", "expand_derivative", "weak_terms"]
