"""Training stages shared by every network trained through a loss (the universal ODE and PDE, hypersolvers,
the PINN): full-batch Adam steps, then an L-BFGS search, a stop request honoured between evaluations
(:class:`~deepmod.control.RunControl`), each evaluation handed to the caller. The callers keep what is theirs:
the optimiser's settings, the history they record, a checkpoint's state.

DeepMoD's loop (:mod:`deepmod.neural.training`) is of another kind: mini-batch-free Adam with sparsity checks,
rollbacks and masks, and no L-BFGS stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

import torch

from deepmod.control import RunControl


class Searching(Protocol):
    """An optimiser whose step runs a search of its own on a closure (L-BFGS: torch's, or the PINN's compact
    one)."""

    def zero_grad(self) -> None: ...

    def step(self, closure: Callable[[], torch.Tensor]) -> Any: ...


class Stopped(Exception):
    """Raised inside an L-BFGS closure to end the search when a stop was asked for."""


def adam_stage(
    optimiser: torch.optim.Optimizer,
    loss_fn: Callable[[], torch.Tensor],
    steps: Iterable[int],
    control: RunControl | None = None,
    *,
    before: Callable[[int], None] | None = None,
    after: Callable[[int, torch.Tensor], None] | None = None,
) -> bool:
    """One optimiser step of ``loss_fn`` per entry of ``steps`` (the step's number, passed to the hooks):
    ``before(step)``, then the gradient and the step, then ``after(step, loss)`` with the loss before the step.
    Returns whether a stop request ended the stage (looked at before each step)."""
    for step in steps:
        if control is not None and control.stopped():
            return True
        if before is not None:
            before(step)
        optimiser.zero_grad()
        loss = loss_fn()
        loss.backward()
        optimiser.step()
        if after is not None:
            after(step, loss)
    return False


def lbfgs_stage(
    optimiser: Searching,
    loss_fn: Callable[[], torch.Tensor],
    control: RunControl | None = None,
    *,
    after: Callable[[torch.Tensor], None] | None = None,
) -> bool:
    """One ``optimiser.step`` of an L-BFGS optimiser on ``loss_fn`` (its search makes as many evaluations as
    its settings allow); ``after(loss)`` sees every evaluation, line-search trials included, and may raise to
    end the search where the caller wants (the exception goes on to the caller). Returns whether a stop request
    ended the search (looked at before each evaluation; the parameters are left at the last point tried)."""

    def closure() -> torch.Tensor:
        if control is not None and control.stopped():
            raise Stopped
        optimiser.zero_grad()
        loss = loss_fn()
        loss.backward()
        if after is not None:
            after(loss)
        return loss

    try:
        optimiser.step(closure)
    except Stopped:
        return True
    return False


__all__ = ["Searching", "Stopped", "adam_stage", "lbfgs_stage"]
