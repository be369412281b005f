"""The training loop of a physics-informed network: Adam, the adaptive collocation points, then L-BFGS; a
float32 run whose line search stalls goes on in float64, and on request (``PINN.refine``) with more points.

Why float64 after a stall: on Raissi's Burgers (seed 0, float32) L-BFGS's strong-Wolfe line search returned a
zero step at a loss of 2.9e-5 and 3,050 iterations, the error 1.7e-3. There, along the gradient, the loss
rises beyond a step of 5e-7 (curvature about 2,400): the decrease left is below what float32 parameters and
losses resolve. The same state in float64 went on to 6.0e-4 in 1,650 more iterations, where the loss levelled
off. Runs that do not stall are untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from deepmod.control import RunControl, Status, Step
from deepmod.pinn.checkpoint import Progress
from deepmod.pinn.optim import CompactLBFGS
from deepmod.result import History
from deepmod.training import adam_stage, lbfgs_stage

if TYPE_CHECKING:
    from deepmod.pinn.solver import PINN, Losses


def train(
    settings: PINN, losses: Losses, control: RunControl, candidates: torch.Tensor, state: Progress
) -> tuple[Status, History]:
    """Adam, the adaptive collocation points from ``candidates``, then L-BFGS, from where ``state`` says
    (updated as training goes); ``(status, history)``; a stop request ends either stage ("interrupted")."""
    history = History()
    params = losses.parameters()
    total = settings.adam_iterations + settings.lbfgs_iterations
    for cb in control.callbacks:
        cb.on_start(total)
    adam = torch.optim.Adam(params, lr=settings.learning_rate)
    if state.adam is not None:
        adam.load_state_dict(state.adam)

    def rebalance(it: int) -> None:
        if settings.balance_every and it % settings.balance_every == 1:
            losses.rebalance()

    def done(it: int, loss: torch.Tensor) -> None:
        state.iteration = it
        _record(history, it, float(loss.detach()), control)

    steps = range(state.iteration + 1, settings.adam_iterations + 1)
    if adam_stage(adam, losses.total, steps, control, before=rebalance, after=done):
        state.adam = adam.state_dict()
        return _ended("interrupted", control, history)
    if settings.sampling.adaptive and not state.refined:
        losses.add_collocation(candidates, settings.sampling.adaptive)
        state.refined = True
    status = "stalled"
    if not state.precise:
        status = _lbfgs_stage(losses, control, state, total, history)
        if status == "stalled" and next(losses.model.parameters()).dtype == torch.float32:
            losses.promote()  # float32 stalls where the steps fall below its resolution: go on in float64
            state.precise = True
    if state.precise and status == "stalled":
        status = _lbfgs_stage(losses, control, state, total, history, level_off=True)
    if settings.refine and settings.sampling.adaptive and status in ("stalled", "no progress"):
        losses.add_collocation(candidates, settings.sampling.adaptive)
        status = _lbfgs_stage(losses, control, state, total, history, level_off=True)
    return _ended("interrupted" if status == "interrupted" else "converged", control, history)


def _lbfgs_stage(
    losses: Losses, control: RunControl, state: Progress, total: int, history: History, level_off: bool = False
) -> str:
    """L-BFGS from the current state up to ``total`` evaluations in all: "stalled" (ended early: no step
    decreases the loss), "converged" (the budget spent, or with ``level_off`` the loss levelled off: the
    last 250 evaluations lowered it by less than 1 %; "no progress" if the whole stage did), or "interrupted"."""
    if state.iteration >= total:
        return "converged"
    optimiser = lbfgs(losses.parameters(), total - state.iteration)
    lowest: list[float] = []  # the lowest loss after each evaluation

    def evaluated(value: torch.Tensor) -> None:
        state.iteration += 1
        loss = float(value.detach())
        _record(history, state.iteration, loss, control)
        lowest.append(min(loss, lowest[-1]) if lowest else loss)
        if level_off and len(lowest) > 250 and loss == lowest[-1] and loss > 0.99 * lowest[-251]:
            raise _LevelledOff  # at the lowest point so far: the parameters are left there

    try:
        if lbfgs_stage(optimiser, losses.total, control, after=evaluated):
            return "interrupted"
    except _LevelledOff:
        return "no progress" if lowest[-1] > 0.99 * lowest[0] else "converged"
    return "stalled" if state.iteration < total else "converged"


def lbfgs(params: list[torch.Tensor], iterations: int) -> CompactLBFGS:
    """L-BFGS with a strong-Wolfe line search and 500 pairs of history in the compact representation
    (:class:`~deepmod.pinn.optim.CompactLBFGS`). Measured on Raissi's Burgers (float32, one thread): the
    error of 1e-3 reached in about 80 CPU seconds, against 110-130 with PyTorch's L-BFGS at 100 pairs (50
    pairs took 20 % more steps still; 300 in PyTorch's two-loop recursion cost 40 % more per step)."""
    return CompactLBFGS(params, iterations, history=500)


class _LevelledOff(Exception):
    pass


def _record(history: History, iteration: int, loss: float, control: RunControl) -> None:
    if iteration % 50 == 0 or iteration == 1:
        history.iterations.append(iteration)
        history.loss.append(loss)
        for cb in control.callbacks:
            cb.on_step(Step(iteration, loss))


def _ended(status: Status, control: RunControl, history: History) -> tuple[Status, History]:
    for cb in control.callbacks:
        cb.on_end(status)
    return status, history


__all__ = ["lbfgs", "train"]
