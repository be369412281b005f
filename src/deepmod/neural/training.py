"""The DeepMoD training loop: fit the data and the equation together, re-estimating sparsity on a schedule.

Loss: ``sum_f MSE(u_f, data_f) + sum_f MSE(u_f,t - Theta[:, mask_f] xi_f) / mean(u_f,t^2)`` with fields scaled
to unit RMS and xi from the constraint at every step. The regression term is relative (the fraction of u_t
the equation leaves unexplained; the denominator is not differentiated), so the balance of the two terms
does not depend on how fast the fields change in normalised time: a record spanning many oscillations
would otherwise have its data term swamped and its network flattened.

Selection follows :class:`Schedule`: once the validation error stops falling fast, the sparsity estimator
selects terms every ``check_every`` iterations; a selection repeated ``apply_after`` times becomes the mask,
and training stops as soon as the masked terms and their coefficients are stable.

A fit can blow up: right after a mask is applied, the regression residual, and with it the gradient, jumps
while Adam's second-moment estimate still reflects the small gradients before, so the first steps are many
times the step size; a network can land in a flat, saturated state it never leaves (for the predator-prey
case, the equilibrium u = v = 1, which satisfies the masked equation exactly and leaves the data a hundred
times worse fitted). At every check the validation misfit is compared with the best so far: above
``BLOW_UP`` times it, network and optimiser go back to the state at the best check and the step is halved.
A fit at its noise floor does not double its validation misfit within a hundred steps otherwise.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from deepmod.derivatives.taylor import JetSpec
from deepmod.library import CandidateLibrary
from deepmod.neural.approximators import Approximator
from deepmod.neural.constraint import Constraint
from deepmod.neural.sparsity import SparsityEstimator
from deepmod.neural.weak import WeakSelection
from deepmod.result import History


@dataclass(frozen=True)
class Schedule:
    """When to estimate sparsity, when to apply it and when to stop.

    Every ``check_every`` iterations (from ``min_iterations`` on) the sparsity estimator selects terms from
    the current library. A selection seen ``apply_after`` times in a row becomes the mask of the loss;
    training stops when the applied mask has been selected ``stable_checks`` times in a row and no active
    coefficient moved by more than ``coef_tol`` (relative) between consecutive checks.

    Attributes:
        max_iterations: hard cap on training iterations.
        check_every: iterations between selections (and history records).
        min_iterations: no selection before this many iterations (the fit is still rough).
        apply_after: repeated identical selections before the mask is applied.
        stable_checks: repeated selections of the applied mask, with stable coefficients, that end training.
        coef_tol: largest relative coefficient change between checks that counts as stable.
        plateau: no selection while the validation loss still falls by more than this fraction within three
            checks: an underfitted network explains a soliton as pure advection, say. 0 disables the gate.
    """

    max_iterations: int = 10000
    check_every: int = 100
    min_iterations: int = 300
    plateau: float = 0.5
    apply_after: int = 4
    stable_checks: int = 3
    coef_tol: float = 0.01

    def __post_init__(self) -> None:
        if min(self.max_iterations, self.check_every, self.apply_after, self.stable_checks) < 1:
            raise ValueError("schedule counts must be positive")
        if self.coef_tol <= 0:
            raise ValueError("coef_tol must be positive")


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

    def on_history(self, iteration: int, values: dict[str, float]) -> None:
        """The record's values by name: losses and normalised coefficients (``coef/u_t/u_xx``)."""

    def on_end(self, status: str) -> None:
        """Training ended."""


def jet_spec_for(library: CandidateLibrary, n_inputs: int, fused: bool = False) -> JetSpec:
    """The multi-indices needed: the value, d/dt and every spatial derivative in the library.

    ``fused`` asks for compiled element-wise kernels; it is only taken up where there are derivatives of
    order 2 or more (with first derivatives only, the element-wise work is too small to repay compiling).
    """
    wanted = [(1,) + (0,) * (n_inputs - 1)] + [(0, *d) for _, d in library.required()]
    spec = JetSpec(wanted, n_inputs)
    spec.fused = fused and spec.max_order >= 2
    return spec


def field_weights(u: torch.Tensor) -> torch.Tensor:
    """Weights of the fields' squared misfits: relative to each field's variance, the smallest weight 1.

    Fields are scaled by their RMS, never shifted, so a field far from zero (Lorenz's z, about 25 +- 8)
    varies over a small fraction of its unit; unweighted, its misfit would count for little beside the
    others', and its derivative would come out several times less accurate. Weighting by ``RMS^2 / var``
    puts every field's misfit relative to how much it varies (the scale of measurement noise, too); the
    smallest weight is 1, so a single field is unchanged. (Rescaled to mean 1 instead, the weights shrank the
    other fields' misfits and Lorenz's x and y were still far from fitted after 10,000 steps.)
    """
    var = u.var(dim=0)
    ratio = torch.where(var > 0, torch.mean(u**2, dim=0) / var.clamp_min(1e-30), torch.ones_like(var))
    return (ratio / ratio.min()).detach()


def fusion_default() -> bool:
    """Whether training fuses its element-wise work by default: yes, unless ``DEEPMOD_FUSE=0`` is set."""
    return os.environ.get("DEEPMOD_FUSE", "1").strip() not in ("0", "false", "no", "off")


def evaluate(
    model: Approximator, library: CandidateLibrary, spec: JetSpec, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Network values ``(n, F)``, time derivatives ``(n, F)`` and Theta ``(n, K)`` at ``x``."""
    jets = model.jets(x, spec)
    n_in = x.shape[1]
    u_t = spec.derivative(jets, (1,) + (0,) * (n_in - 1))
    derivs = {(f, d): spec.derivative(jets, (0, *d))[:, f] for f, d in library.required()}
    return jets[0], u_t, library.evaluate(derivs)


class Trainer:
    """The training loop, with its whole state, so that it can stop on request and continue later.

    Args:
        model, library, constraint, estimator: the four components.
        data: normalised ``(x_train, u_train, x_val, u_val)``.
        schedule: when to select and stop.
        learning_rate: Adam's step size.
        callbacks: progress bars, loggers.
        stop: training ends with status ``"interrupted"`` at the next iteration once this event is set (a
            signal handler sets it); the state then stays consistent, so :meth:`state_dict` can be saved.
        fused: compile the Taylor-mode element-wise work (:class:`~deepmod.derivatives.taylor.JetSpec`).
        selection: where given, terms are selected on this weak-form system of the network's values instead
            of the pointwise one (:mod:`deepmod.neural.weak`); the loss keeps the pointwise system.
    """

    def __init__(
        self,
        model: Approximator,
        library: CandidateLibrary,
        constraint: Constraint,
        estimator: SparsityEstimator,
        data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
        schedule: Schedule,
        learning_rate: float = 2e-3,
        callbacks: Sequence[Callback] = (),
        stop: threading.Event | None = None,
        fused: bool = False,
        selection: WeakSelection | None = None,
    ) -> None:
        self.fused, self.selection = fused, selection
        self.model, self.library, self.constraint, self.estimator = model, library, constraint, estimator
        self.data, self.schedule, self.callbacks = data, schedule, callbacks
        self.stop = stop if stop is not None else threading.Event()
        n_terms = len(library.terms)
        self.masks = [np.ones(n_terms, dtype=bool) for _ in range(data[1].shape[1])]
        self.field_weights = field_weights(data[1])
        self.optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate, betas=model.betas)
        self.history, self.raw = History(), list[tuple[int, list[np.ndarray]]]()
        self.tracker = _SelectionTracker(schedule)
        self.iteration, self.seconds_before = 0, 0.0
        self.best_state: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None
        self.rollbacks: list[tuple[int, float]] = []

    def run(self) -> TrainingOutcome:
        """Train from the current state until convergence, the iteration cap or a stop request."""
        x, u, x_val, u_val = self.data
        library, schedule, masks = self.library, self.schedule, self.masks
        n_fields = u.shape[1]
        spec = jet_spec_for(library, x.shape[1], self.fused)
        status, start = "max_iterations", time.perf_counter()
        for cb in self.callbacks:
            cb.on_start(schedule.max_iterations)
        coefs: list[torch.Tensor] = []
        while self.iteration < schedule.max_iterations:
            if self.stop.is_set():
                status = "interrupted"
                break
            self.iteration += 1
            it = self.iteration
            values, u_t, theta = evaluate(self.model, library, spec, x)
            data_loss = self._misfit(values, u)
            coefs, reg_loss = [], values.new_zeros(())
            for f in range(n_fields):
                coef, fitted = self._solve(theta, u_t[:, f], masks[f])
                residual = torch.mean((u_t[:, f] - fitted) ** 2)
                reg_loss = reg_loss + residual / torch.mean(u_t[:, f] ** 2).detach().clamp_min(1e-12)
                coefs.append(coef)
            loss = data_loss + reg_loss
            self.optimiser.zero_grad(set_to_none=True)
            loss.backward()
            self.optimiser.step()

            if it % schedule.check_every:
                continue
            with torch.no_grad():
                val = float(self._misfit(self.model(x_val), u_val))
            if self._blown_up(val):
                continue
            current = [c.detach().cpu().numpy().astype(np.float64) for c in coefs]
            history = self.history
            history.iterations.append(it)
            history.loss.append(float(loss.detach()))
            history.data_loss.append(float(data_loss.detach()))
            history.regression_loss.append(float(reg_loss.detach()))
            history.validation_loss.append(val)
            self.raw.append((it, current))
            for cb in self.callbacks:
                cb.on_record(it, float(loss.detach()), int(sum(m.sum() for m in masks)))
            if self.callbacks:
                record = {
                    "loss/data": history.data_loss[-1],
                    "loss/regression": history.regression_loss[-1],
                    "loss/validation": val,
                }
                names = library.names
                for f, c in enumerate(current):
                    lhs = library.symbols.lhs(f)
                    record.update({f"coef/{lhs}/{names[j]}": float(c[j]) for j in np.flatnonzero(masks[f])})
                for cb in self.callbacks:
                    cb.on_history(it, record)
            if it < schedule.min_iterations or not _plateaued(history.validation_loss, schedule):
                continue
            if self.selection is not None:
                theta_np, ut_np = self.selection.system(self.model, library)
            else:
                theta_np, ut_np = theta.detach().cpu().double().numpy(), u_t.detach().cpu().double().numpy()
            selection = [self.estimator.select(theta_np, ut_np[:, f]) for f in range(n_fields)]
            applied, done = self.tracker.update(selection, masks, current)
            if applied is not None:
                masks = self.masks = applied
                history.masks.append((it, _mask_names(library, masks)))
            if done:
                status = "converged"
                break
        final = self._final_coefficients(coefs)
        for cb in self.callbacks:
            cb.on_end(status)
        seconds = self.seconds_before + time.perf_counter() - start
        self.seconds_before = seconds
        return TrainingOutcome(masks, final, self.iteration, status, seconds, self.history, self.raw)

    def _blown_up(self, val: float) -> bool:
        """At a check: roll back and halve the step if the validation misfit blew up, else keep the best state."""
        best = min(self.history.validation_loss, default=math.inf)
        if self.best_state is not None and val > BLOW_UP * best:
            model_state, optimiser_state = self.best_state
            steps = [group["lr"] * 0.5 for group in self.optimiser.param_groups]
            self.model.load_state_dict(model_state)
            self.optimiser.load_state_dict(copy.deepcopy(optimiser_state))  # loading aliases the tensors
            for group, step in zip(self.optimiser.param_groups, steps, strict=True):
                group["lr"] = step
            self.rollbacks.append((self.iteration, steps[0]))
            return True
        if self.best_state is None or val <= best:
            model_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.best_state = (model_state, copy.deepcopy(self.optimiser.state_dict()))
        return False

    def _misfit(self, values: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The data loss: mean squared misfit of each field, weighted (:func:`field_weights`) and summed."""
        return (torch.mean((values - target) ** 2, dim=0) * self.field_weights).sum()

    def _solve(self, theta: torch.Tensor, target: torch.Tensor, mask: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """The constraint's coefficients on the active columns (a full vector, zeros elsewhere) and the fit."""
        active = torch.as_tensor(mask, device=theta.device)
        xi = self.constraint.solve(theta[:, active], target)
        return theta.new_zeros(len(mask)).masked_scatter(active, xi), theta[:, active] @ xi

    def _final_coefficients(self, coefs: list[torch.Tensor]) -> list[np.ndarray]:
        """Masked coefficients of the last step; solved afresh when no step ran (a stop before the first)."""
        if not coefs:
            x = self.data[0]
            spec = jet_spec_for(self.library, x.shape[1], self.fused)
            with torch.no_grad():
                _, u_t, theta = evaluate(self.model, self.library, spec, x)
            coefs = [self._solve(theta, u_t[:, f], mask)[0] for f, mask in enumerate(self.masks)]
        return [c.detach().cpu().numpy().astype(np.float64) * m for c, m in zip(coefs, self.masks, strict=True)]

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue: tensors, numbers, strings and lists only (``weights_only`` loads it)."""
        return {
            "model": self.model.state_dict(),
            "optimiser": self.optimiser.state_dict(),
            "iteration": self.iteration,
            "seconds": self.seconds_before,
            "masks": [m.tolist() for m in self.masks],
            "tracker": self.tracker.state_dict(),
            "history": dataclasses.asdict(self.history),
            "raw": [[it, [c.tolist() for c in cs]] for it, cs in self.raw],
            "rollbacks": [list(r) for r in self.rollbacks],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (from the same model, library and data)."""
        self.model.load_state_dict(state["model"])
        self.optimiser.load_state_dict(state["optimiser"])
        self.iteration, self.seconds_before = int(state["iteration"]), float(state["seconds"])
        self.masks = [np.array(m, dtype=bool) for m in state["masks"]]
        self.tracker.load_state_dict(state["tracker"])
        h = state["history"]
        self.history = History(**{**h, "masks": [(int(it), dict(m)) for it, m in h["masks"]]})
        self.raw = [(int(it), [np.array(c, dtype=np.float64) for c in cs]) for it, cs in state["raw"]]
        self.rollbacks = [(int(it), float(lr)) for it, lr in state.get("rollbacks", [])]


class _SelectionTracker:
    """Counts repeated selections and coefficient stability for :class:`Schedule`."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.last: list[np.ndarray] | None = None
        self.repeats = 0
        self.stable = 0
        self.previous_coefs: list[np.ndarray] | None = None
        self.mask_applied = False

    def update(
        self, selection: list[np.ndarray], masks: list[np.ndarray], coefs: list[np.ndarray]
    ) -> tuple[list[np.ndarray] | None, bool]:
        """Record a selection; return (the mask to apply now or None, whether training is done)."""
        same = self.last is not None and _same(self.last, selection)
        self.repeats = self.repeats + 1 if same else 1
        self.last = selection
        if self.repeats >= self.schedule.apply_after and not _same(selection, masks):
            self.mask_applied, self.stable, self.previous_coefs = True, 0, None
            return [m.copy() for m in selection], False
        if not (self.mask_applied and _same(selection, masks)):
            self.stable, self.previous_coefs = 0, None
            return None, False
        if self.previous_coefs is not None and _close(self.previous_coefs, coefs, masks, self.schedule.coef_tol):
            self.stable += 1
        elif self.previous_coefs is not None:
            self.stable = 0
        self.previous_coefs = coefs
        return None, self.stable >= self.schedule.stable_checks - 1

    def state_dict(self) -> dict[str, Any]:
        def lists(masks: list[np.ndarray] | None) -> list[list[Any]] | None:
            return None if masks is None else [m.tolist() for m in masks]

        return {
            "last": lists(self.last),
            "repeats": self.repeats,
            "stable": self.stable,
            "previous_coefs": lists(self.previous_coefs),
            "mask_applied": self.mask_applied,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        last, previous = state["last"], state["previous_coefs"]
        self.last = None if last is None else [np.array(m, dtype=bool) for m in last]
        self.previous_coefs = None if previous is None else [np.array(c, dtype=np.float64) for c in previous]
        self.repeats, self.stable = int(state["repeats"]), int(state["stable"])
        self.mask_applied = bool(state["mask_applied"])


BLOW_UP = 2.0


def _mask_names(library: CandidateLibrary, masks: list[np.ndarray]) -> dict[str, list[str]]:
    """``{"u_t": ["u*u_x", "u_xx"], ...}`` for the active terms of each field."""
    names = library.names
    return {library.symbols.lhs(f): [names[j] for j in np.flatnonzero(m)] for f, m in enumerate(masks)}


def _plateaued(validation: list[float], schedule: Schedule) -> bool:
    """Whether the validation loss improved by less than ``plateau`` (relative) over the last 3 checks."""
    if schedule.plateau <= 0:
        return True
    if len(validation) < 4:
        return False
    return validation[-1] > (1 - schedule.plateau) * min(validation[:-3])


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _close(previous: list[np.ndarray], current: list[np.ndarray], masks: list[np.ndarray], tol: float) -> bool:
    for p, c, m in zip(previous, current, masks, strict=True):
        if m.any() and np.max(np.abs(c[m] - p[m]) / np.maximum(np.abs(p[m]), 1e-12)) > tol:
            return False
    return True
