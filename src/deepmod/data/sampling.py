"""Seeded noise and random subsampling, with the benchmark convention std = level x std(field)."""

from __future__ import annotations

import dataclasses

import numpy as np

from deepmod.data.dataset import Dataset
from deepmod.errors import InputError


def add_noise(ds: Dataset, level: float, seed: int = 0) -> Dataset:
    """Add Gaussian noise of standard deviation ``level * std(field)`` to every field (of every run).

    Args:
        level: relative noise level, e.g. 0.1 for 10 %.
        seed: seed of the generator; the same seed gives the same noise.
    """
    if level < 0:
        raise InputError(f"noise level must be >= 0, got {level}")
    rng = np.random.default_rng(seed)
    source = f"{ds.source} + {level:.0%} noise"
    noisy = [
        run.with_fields(
            {n: f + level * np.std(f) * rng.standard_normal(f.shape) for n, f in run.fields.items()}, source
        )
        for run in ds.trajectories
    ]
    return dataclasses.replace(noisy[0], runs=tuple(noisy[1:]))


def subsample(ds: Dataset, n: int, seed: int = 0) -> Dataset:
    """``n`` samples drawn at random without replacement, as scattered data."""
    scattered = ds.to_scattered()
    if n > scattered.n_points:
        raise InputError(f"asked for {n} samples but the data have only {scattered.n_points} points")
    idx = np.sort(np.random.default_rng(seed).choice(scattered.n_points, size=n, replace=False))
    return Dataset(
        {k: v[idx] for k, v in scattered.coords.items()},
        {k: v[idx] for k, v in scattered.fields.items()},
        grid=False,
        source=f"{ds.source}, {n} random samples",
        inputs=ds.inputs,
    )
