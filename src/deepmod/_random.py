"""Seeded randomness without touching the caller's generators."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def torch_seeded(seed: int) -> Iterator[None]:
    """Inside, torch's CPU generator draws from ``seed`` (layer initialisation has no generator argument);
    on leaving, the caller's generator state is restored, so a run neither depends on nor changes it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
