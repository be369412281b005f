"""Shared fixtures: seeded generators and the path of the reference data beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from deepmod.data.dataset import Dataset

# Compiled (fused) Taylor-mode kernels cost seconds of compiling in every process; the unit tests train for a
# few hundred steps at most, so they run unfused: through the CLI by this variable (only the CLI reads it), from
# Python with DeepMoD(network=DefaultNetwork(fuse=False)). The acceptance cases run the product's defaults, fused.
os.environ.setdefault("DEEPMOD_FUSE", "0")

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _seed_torch() -> None:
    torch.manual_seed(0)


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"reference data {path} not present")
    return path


def heat_data(d: float = 0.05, n: int = 24, noise: float = 0.0) -> Dataset:
    """The discrete heat equation on a periodic grid with the three-point Laplacian: its exact solution is what a
    width-3 stencil can learn exactly."""
    x = np.linspace(0.0, 1.0, n, endpoint=False)
    dx = x[1] - x[0]
    t = np.linspace(0.0, 0.5, 11)
    u0 = np.exp(-(((x - 0.5) / 0.1) ** 2))

    def rhs(_t: float, u: np.ndarray) -> np.ndarray:
        return d * (np.roll(u, 1) - 2 * u + np.roll(u, -1)) / dx**2

    u = solve_ivp(rhs, (0.0, 0.5), u0, t_eval=t, rtol=1e-12, atol=1e-14).y.T
    return Dataset({"t": t, "x": x}, {"u": u}, grid=True, source="discrete heat")


@pytest.fixture
def discrete_heat() -> Dataset:
    """The exact discrete heat equation u_t = 0.05 u_xx (three-point Laplacian, 24 periodic points)."""
    return heat_data()


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``deepmod ARGS`` in this process: the exit status, stdout and stderr."""
    from deepmod.cli import main

    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err
