"""Training checkpoints, one format for every trainer (DeepMoD, the PINN): a ``torch.save`` of tensors and
plain values written atomically, a digest of what it belongs to (:func:`fingerprint`), and loaded with
``weights_only`` so a file never unpickles code."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepmod._io import atomic_write
from deepmod.errors import InputError

CHECKPOINT_FORMAT = "deepmod-checkpoint-1"


def fingerprint(*parts: object) -> str:
    """A digest of what a checkpoint belongs to, from its parts in order: an array by its float64 bytes,
    anything else by its ``repr`` (DeepMoD: the training samples, then the library's names, the seed and the
    network; the PINN: the problem and settings, the conditions, then the data's points)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(np.ascontiguousarray(part, dtype=np.float64).tobytes())
        else:
            digest.update(repr(part).encode())
    return digest.hexdigest()


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Write a training checkpoint atomically."""
    atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike[str], key: str, device: str = "cpu") -> dict[str, Any]:
    """The trainer state in a checkpoint written for the same problem (``key``); never unpickles code."""
    target = Path(path)
    if not target.is_file():
        raise InputError(f"the checkpoint '{path}' does not exist or is not a file")
    try:
        state = torch.load(target, map_location=device, weights_only=True)
    except Exception as exc:  # torch raises many kinds for foreign or damaged files
        raise InputError(f"'{path}' is not a readable deepmod checkpoint ({type(exc).__name__})") from exc
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"'{path}' is not a deepmod checkpoint")
    if state.get("key") != key:
        raise InputError(
            f"the checkpoint '{path}' was written for other data, samples, seed or library: resume with the "
            "same data file and options"
        )
    trainer = state["trainer"]
    if not isinstance(trainer, dict):
        raise InputError(f"'{path}' is not a deepmod checkpoint")
    return trainer


__all__ = ["CHECKPOINT_FORMAT", "fingerprint", "load_checkpoint", "save_checkpoint"]
