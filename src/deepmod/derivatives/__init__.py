"""Derivatives of data and of networks: finite differences (Fornberg), spectral and Savitzky-Golay
derivatives of samples, Taylor-mode network jets."""

from deepmod.derivatives.finite_difference import differentiate, fornberg_weights
from deepmod.derivatives.smoothing import (
    noise_cutoff,
    savgol_derivative,
    savgol_half_width,
    spectral_derivative,
)

__all__ = [
    "differentiate",
    "fornberg_weights",
    "noise_cutoff",
    "savgol_derivative",
    "savgol_half_width",
    "spectral_derivative",
]
