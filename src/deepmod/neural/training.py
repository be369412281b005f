"""The DeepMoD training loop: fit the data and the equation together, re-estimating sparsity on a schedule.

Loss (normalised units): ``mean_f MSE(u_f, data_f) + mean_f MSE(u_f,t - Theta[:, mask_f] xi_f)`` with xi from
the constraint at every step. Once the fit has converged (the validation error stops improving) the
sparsity estimator chooses the active terms; it is asked again every ``period`` iterations, and training
stops as soon as the chosen terms and their coefficients are stable.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from deepmod.derivatives.taylor import JetSpec
from deepmod.library import CandidateLibrary
from deepmod.neural.approximators import Approximator
from deepmod.neural.constraint import Constraint
from deepmod.neural.sparsity import SparsityEstimator
from deepmod.result import History


@dataclass(frozen=True)
class Schedule:
    """When to estimate sparsity and when to stop.

    Attributes:
        max_iterations: hard cap on training iterations.
        eval_every: iterations between validation checks and history records.
        patience: the fit counts as converged when the validation loss has not improved by more than
            ``delta`` (relative) for this many iterations; then sparsity is first estimated.
        delta: relative improvement that counts as progress.
        period: iterations between later sparsity estimates.
        stable_checks: consecutive estimates with the same terms and coefficients that end training.
        coef_tol: largest relative coefficient change between estimates that counts as stable.
        min_iterations: no sparsity estimate before this many iterations.
    """

    max_iterations: int = 6000
    eval_every: int = 25
    patience: int = 200
    delta: float = 1e-3
    period: int = 200
    stable_checks: int = 3
    coef_tol: float = 0.02
    min_iterations: int = 400


@dataclass
class Normalisation:
    """Affine maps between physical and network units.

    Coordinates map to [-1, 1] (``(x - centre) / half_width``); fields are divided by their RMS (never
    shifted: a shift would change the equation).
    """

    centre: np.ndarray
    half_width: np.ndarray
    field_scale: np.ndarray

    @staticmethod
    def fit(x: np.ndarray, u: np.ndarray) -> Normalisation:
        lo, hi = x.min(0), x.max(0)
        rms = np.sqrt(np.mean(u**2, axis=0))
        return Normalisation((lo + hi) / 2, np.where(hi > lo, (hi - lo) / 2, 1.0), np.where(rms > 0, rms, 1.0))


@dataclass
class TrainingOutcome:
    """What :func:`train` returns, in normalised units (the method maps them to physical units)."""

    masks: list[np.ndarray]
    coefficients: list[np.ndarray]
    iterations: int
    status: str
    seconds: float
    history: History
    raw_history: list[tuple[int, list[np.ndarray]]] = field(default_factory=list)


class Callback:
    """Hooks into training; override what you need. Progress bars and loggers are callbacks."""

    def on_start(self, max_iterations: int) -> None:
        """Training begins."""

    def on_record(self, iteration: int, loss: float, active: int) -> None:
        """A history record was taken."""

    def on_end(self, status: str) -> None:
        """Training ended."""


def jet_spec_for(library: CandidateLibrary, n_inputs: int) -> JetSpec:
    """The multi-indices needed: the value, d/dt and every spatial derivative in the library."""
    wanted = [(1,) + (0,) * (n_inputs - 1)] + [(0, *d) for _, d in library.required()]
    return JetSpec(wanted, n_inputs)


def evaluate(
    model: Approximator, library: CandidateLibrary, spec: JetSpec, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Network values ``(n, F)``, time derivatives ``(n, F)`` and Theta ``(n, K)`` at ``x``."""
    jets = model.jets(x, spec)
    n_in = x.shape[1]
    u_t = spec.derivative(jets, (1,) + (0,) * (n_in - 1))
    derivs = {(f, d): spec.derivative(jets, (0, *d))[:, f] for f, d in library.required()}
    return jets[0], u_t, library.evaluate(derivs)


def train(
    model: Approximator,
    library: CandidateLibrary,
    constraint: Constraint,
    estimator: SparsityEstimator,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    schedule: Schedule,
    learning_rate: float = 2e-3,
    callbacks: Sequence[Callback] = (),
) -> TrainingOutcome:
    """Train ``model`` on normalised data ``(x_train, u_train, x_val, u_val)``; see the module docstring."""
    x, u, x_val, u_val = data
    n_fields, n_terms = u.shape[1], len(library.terms)
    spec = jet_spec_for(library, x.shape[1])
    masks = [np.ones(n_terms, dtype=bool) for _ in range(n_fields)]
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate, betas=(0.99, 0.999))
    history, raw = History(), []
    best_val, best_at, estimates_started = float("inf"), 0, False
    last_estimate, stable, previous = 0, 0, None
    status, start = "max_iterations", time.perf_counter()
    for cb in callbacks:
        cb.on_start(schedule.max_iterations)
    coefs: list[torch.Tensor] = []
    it = 0
    for it in range(1, schedule.max_iterations + 1):
        values, u_t, theta = evaluate(model, library, spec, x)
        data_loss = torch.mean((values - u) ** 2, dim=0).sum()
        coefs, reg_loss = [], values.new_zeros(())
        for f in range(n_fields):
            active = torch.as_tensor(masks[f], device=x.device)
            xi = constraint.solve(theta[:, active], u_t[:, f])
            reg_loss = reg_loss + torch.mean((u_t[:, f] - theta[:, active] @ xi) ** 2)
            full = theta.new_zeros(n_terms)
            full[active] = xi
            coefs.append(full)
        loss = data_loss + reg_loss
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

        if it % schedule.eval_every:
            continue
        with torch.no_grad():
            val = float(torch.mean((model(x_val) - u_val) ** 2, dim=0).sum())
        current = [c.detach().cpu().numpy().astype(np.float64) for c in coefs]
        history.iterations.append(it)
        history.loss.append(float(loss.detach()))
        history.data_loss.append(float(data_loss.detach()))
        history.regression_loss.append(float(reg_loss.detach()))
        history.validation_loss.append(val)
        raw.append((it, current))
        for cb in callbacks:
            cb.on_record(it, float(loss.detach()), int(sum(m.sum() for m in masks)))
        if val < best_val * (1 - schedule.delta):
            best_val, best_at = val, it
        due = (
            it - last_estimate >= schedule.period
            if estimates_started
            else it >= schedule.min_iterations and it - best_at >= schedule.patience
        )
        if not due:
            continue
        estimates_started, last_estimate = True, it
        theta_np = theta.detach().cpu().double().numpy()
        ut_np = u_t.detach().cpu().double().numpy()
        new_masks = [estimator.select(theta_np, ut_np[:, f]) for f in range(n_fields)]
        if previous is not None and _stable(previous, masks, new_masks, current, schedule.coef_tol):
            stable += 1
        else:
            stable = 0
        previous = current
        masks = new_masks
        history.masks.append((it, {str(f): [str(i) for i in np.flatnonzero(m)] for f, m in enumerate(masks)}))
        if stable >= schedule.stable_checks - 1:
            status = "converged"
            break
    final = [c.detach().cpu().numpy().astype(np.float64) * m for c, m in zip(coefs, masks, strict=True)]
    for cb in callbacks:
        cb.on_end(status)
    return TrainingOutcome(masks, final, it, status, time.perf_counter() - start, history, raw)


def _stable(
    previous: list[np.ndarray],
    old_masks: list[np.ndarray],
    new_masks: list[np.ndarray],
    current: list[np.ndarray],
    tol: float,
) -> bool:
    if any(not np.array_equal(a, b) for a, b in zip(old_masks, new_masks, strict=True)):
        return False
    for p, c, m in zip(previous, current, new_masks, strict=True):
        if m.any() and np.max(np.abs(c[m] - p[m]) / np.maximum(np.abs(p[m]), 1e-12)) > tol:
            return False
    return True
