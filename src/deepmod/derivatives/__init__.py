"""Derivatives of data and of networks: finite differences (Fornberg) and Taylor-mode network jets."""

from deepmod.derivatives.finite_difference import differentiate, fornberg_weights

__all__ = ["differentiate", "fornberg_weights"]
