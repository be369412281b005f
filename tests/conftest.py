"""Shared fixtures: seeded generators and the path of the reference data beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

# Compiled (fused) Taylor-mode kernels cost seconds of compiling in every process; the unit tests train for a
# few hundred steps at most, so they run unfused: through the CLI by this variable (only the CLI reads it), from
# Python with DeepMoD(fuse=False). The acceptance cases run the product's defaults, fused.
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
