"""An interrupted PINN's state, written so that training can go on from it (``deepmod pinn --resume``).

The checkpoint holds the network's weights, the unknowns, the collocation points (the adaptive ones
included), how far training got and Adam's moments; it is tied to the problem, the settings and the seed by a
digest, and read back without unpickling code (:mod:`deepmod.checkpoint`, the one format of every trainer). An L-BFGS
stage goes on with a fresh curvature history.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import torch

from deepmod.checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from deepmod.checkpoint import fingerprint as digest
from deepmod.data.dataset import Dataset
from deepmod.errors import InputError

if TYPE_CHECKING:
    from deepmod.pinn.problem import PinnProblem
    from deepmod.pinn.solver import PINN, Losses


@dataclass
class Progress:
    """How far training got: the last iteration (Adam's first, then L-BFGS's), whether the adaptive points
    have joined, whether a float32 run went on in float64 (:func:`deepmod.pinn.training.train`), and Adam's
    state while in its stage."""

    iteration: int = 0
    refined: bool = False
    precise: bool = False
    adam: dict[str, Any] | None = None


def fingerprint(problem: PinnProblem, settings: PINN, seed: int) -> str:
    """A digest of what a checkpoint belongs to: the problem (equations, domain, conditions, data), the
    settings and the seed."""
    conditions = [
        c if isinstance(c, str | list | tuple | None) else "data" for c in (problem.initial, problem.boundary)
    ]
    given = [d for d in (problem.data, problem.initial, problem.boundary) if isinstance(d, Dataset)]
    points = [part for d in given for part in d.points()]
    return digest((problem.equations, problem.box, settings, seed), *conditions, *points)


def save(losses: Losses, path: str | os.PathLike[str], key: str, progress: Progress) -> None:
    """Write the training state atomically."""
    state = {
        "model": losses.model.state_dict(),
        "unknowns": losses.unknowns.detach(),
        "collocation": losses.points.collocation.detach(),
        "iteration": progress.iteration,
        "refined": progress.refined,
        "precise": progress.precise,
        "adam": progress.adam,
    }
    save_checkpoint(path, {"format": CHECKPOINT_FORMAT, "key": key, "trainer": state})


def resume(losses: Losses, path: str | os.PathLike[str], key: str, device: str) -> Progress:
    """Load the state of ``path`` into ``losses`` (network, unknowns, points) and say how far training got.

    Raises:
        InputError: for a file that is no checkpoint of this problem, settings and seed.
    """
    state = load_checkpoint(path, key, device)
    try:
        if state["precise"]:
            losses.promote()
        losses.model.load_state_dict(state["model"])
        with torch.no_grad():
            losses.unknowns.copy_(state["unknowns"])
        losses.points = replace(losses.points, collocation=state["collocation"].to(losses.unknowns.dtype))
        return Progress(int(state["iteration"]), bool(state["refined"]), bool(state["precise"]), state["adam"])
    except (KeyError, RuntimeError, TypeError) as exc:
        raise InputError(f"'{path}' is not a checkpoint of this PINN ({type(exc).__name__})") from exc


__all__ = ["Progress", "fingerprint", "resume", "save"]
