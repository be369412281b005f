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
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from deepmod.approximators import Approximator
from deepmod.control import RunControl, Status, Step
from deepmod.derivatives.taylor import JetSpec
from deepmod.library import CandidateLibrary, coordinate_values
from deepmod.neural.constraint import Constraint
from deepmod.neural.schedule import Normalisation, Schedule, SelectionTracker, plateaued
from deepmod.neural.sparsity import SparsityEstimator
from deepmod.neural.weak import BoxWeakSelection, DataWeakCheck, GridWeakSelection, WeakSelection
from deepmod.regression.system import RegressionSystem
from deepmod.result import History


@dataclass
class TrainingOutcome:
    """What :func:`train` returns, in normalised units (the method maps them to physical units)."""

    masks: list[np.ndarray]
    coefficients: list[np.ndarray]
    iterations: int
    status: Status
    seconds: float
    history: History
    raw_history: list[tuple[int, list[np.ndarray]]] = field(default_factory=list)


def jet_spec_for(library: CandidateLibrary, n_inputs: int, fused: bool = False) -> JetSpec:
    """The multi-indices needed: the value, d/dt and every spatial derivative in the library.

    ``fused`` asks for compiled element-wise kernels; it is only taken up where there are derivatives of
    order 2 or more (with first derivatives only, the element-wise work is too small to repay compiling).
    """
    wanted = [(1,) + (0,) * (n_inputs - 1)] + [(0, *d) for f, d in library.required() if f >= 0]
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


def evaluate(
    model: Approximator, library: CandidateLibrary, spec: JetSpec, x: torch.Tensor, norm: Normalisation | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Network values ``(n, F)``, time derivatives ``(n, F_targets)`` of the fields with an equation and Theta
    ``(n, K)`` at ``x``. Theta's coordinate factors and functions take physical values (``norm``, the map from
    physical units; needed only by a library with such terms)."""
    jets = model.jets(x, spec)
    n_in = x.shape[1]
    u_t = spec.derivative(jets, (1,) + (0,) * (n_in - 1))[:, : len(library.symbols.targets)]
    needed = library.required()
    derivs = {(f, d): spec.derivative(jets, (0, *d))[:, f] for f, d in needed if f >= 0}
    if norm is None:
        return jets[0], u_t, library.evaluate(derivs)
    if len(derivs) < len(needed):
        physical = [torch.as_tensor(a, dtype=x.dtype, device=x.device) for a in (norm.half_width, norm.centre)]
        derivs.update(coordinate_values(needed, list((x * physical[0] + physical[1]).unbind(dim=1))))
    return jets[0], u_t, library.evaluate(derivs, norm.field_scale.tolist())


@dataclass(frozen=True)
class TrainingData:
    """Normalised samples: coordinates ``(n, n_inputs)`` and fields ``(n, n_fields)``, for training and for
    validation, and the normalisation that made them (``None``: a library without coordinates or functions
    needs none)."""

    x: torch.Tensor
    u: torch.Tensor
    x_val: torch.Tensor
    u_val: torch.Tensor
    norm: Normalisation | None = None


@dataclass(frozen=True)
class Components:
    """DeepMoD's four swappable parts: the network, the library, the constraint and the sparsity estimator."""

    model: Approximator
    library: CandidateLibrary
    constraint: Constraint
    estimator: SparsityEstimator


@dataclass
class _Step:
    """One training step's values: network values, time derivatives, Theta, coefficients and losses."""

    values: torch.Tensor
    u_t: torch.Tensor
    theta: torch.Tensor
    coefs: list[torch.Tensor]
    loss: torch.Tensor
    data_loss: torch.Tensor
    reg_loss: torch.Tensor


class Trainer:
    """The training loop, with its whole state, so that it can stop on request and continue later.

    Args:
        parts: the four components.
        data: the normalised training and validation samples.
        schedule: when to select and stop.
        learning_rate: Adam's step size; ``None`` takes the network's own.
        control: callbacks, and the stop event: training ends with status ``"interrupted"`` at the next
            iteration once it is set (a signal handler sets it); the state then stays consistent, so
            :meth:`state_dict` can be saved.
        selection: where given, terms are selected on this weak-form system of the network's values instead
            of the pointwise one (:mod:`deepmod.neural.weak`); the loss keeps the pointwise system.
        check: where given (and ``selection`` is not), the pointwise choice is refined on the data's weak form
            (:class:`~deepmod.neural.weak.DataWeakCheck`).

    Whether the Taylor-mode element-wise work is compiled is the network's setting (``model.fuse``).
    """

    def __init__(
        self,
        parts: Components,
        data: TrainingData,
        schedule: Schedule,
        *,
        learning_rate: float | None = None,
        control: RunControl | None = None,
        selection: WeakSelection | GridWeakSelection | BoxWeakSelection | None = None,
        check: DataWeakCheck | None = None,
    ) -> None:
        control = RunControl() if control is None else control
        self.model, self.library = parts.model, parts.library
        self.constraint, self.estimator = parts.constraint, parts.estimator
        self.data, self.schedule, self.selection, self.check = data, schedule, selection, check
        self.callbacks = control.callbacks
        self.control = control
        self.spec = jet_spec_for(self.library, data.x.shape[1], self.model.fuse)
        self.masks = [np.ones(len(self.library.terms), dtype=bool) for _ in self.library.symbols.targets]
        self.field_weights = field_weights(data.u)
        step = self.model.learning_rate if learning_rate is None else learning_rate
        self.optimiser = torch.optim.Adam(self.model.parameters(), lr=step, betas=self.model.betas)
        self.history, self.raw = History(), list[tuple[int, list[np.ndarray]]]()
        self.tracker = SelectionTracker(schedule)
        self.iteration, self.seconds_before = 0, 0.0
        self.best_state: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None
        self.rollbacks: list[tuple[int, float]] = []

    def run(self) -> TrainingOutcome:
        """Train from the current state until convergence, the iteration cap or a stop request."""
        status: Status = "max_iterations"
        start = time.perf_counter()
        for cb in self.callbacks:
            cb.on_start(self.schedule.max_iterations)
        coefs: list[torch.Tensor] = []
        while self.iteration < self.schedule.max_iterations:
            if self.control.stopped():
                status = "interrupted"
                break
            self.iteration += 1
            step = self._step()
            coefs = step.coefs
            if self.iteration % self.schedule.check_every == 0 and self._check(step):
                status = "converged"
                break
        final = self._final_coefficients(coefs)
        for cb in self.callbacks:
            cb.on_end(status)
        seconds = self.seconds_before + time.perf_counter() - start
        self.seconds_before = seconds
        return TrainingOutcome(self.masks, final, self.iteration, status, seconds, self.history, self.raw)

    def _step(self) -> _Step:
        """One Adam step on the data misfit plus the relative regression residual of every field."""
        values, u_t, theta = evaluate(self.model, self.library, self.spec, self.data.x, self.data.norm)
        data_loss = self._misfit(values, self.data.u)
        coefs, reg_loss = [], values.new_zeros(())
        for f in range(u_t.shape[1]):
            coef, fitted = self._solve(theta, u_t[:, f], self.masks[f])
            residual = torch.mean((u_t[:, f] - fitted) ** 2)
            reg_loss = reg_loss + residual / torch.mean(u_t[:, f] ** 2).detach().clamp_min(1e-12)
            coefs.append(coef)
        loss = data_loss + reg_loss
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()
        return _Step(values, u_t, theta, coefs, loss, data_loss, reg_loss)

    def _check(self, step: _Step) -> bool:
        """The check every ``check_every`` steps: validation, rollback, history, selection; True when done."""
        with torch.no_grad():
            val = float(self._misfit(self.model(self.data.x_val), self.data.u_val))
        if self._blown_up(val):
            return False
        current = [c.detach().cpu().numpy().astype(np.float64) for c in step.coefs]
        self._record(step, val, current)
        it, schedule = self.iteration, self.schedule
        if it < schedule.min_iterations or not plateaued(self.history.validation_loss, schedule):
            return False
        if self.selection is not None:
            selection = self.selection.masks(self.model, self.library, self.estimator)
        else:
            theta_np, ut_np = step.theta.detach().cpu().double().numpy(), step.u_t.detach().cpu().double().numpy()
            names, symbols = tuple(self.library.names), self.library.symbols
            systems = [RegressionSystem(theta_np, ut_np[:, f], names, symbols.lhs(f)) for f in range(ut_np.shape[1])]
            selection = [self.estimator.select(system) for system in systems]
            if self.check is not None:
                selection = self.check.refine(selection)
        applied, done = self.tracker.update(selection, self.masks, current)
        if applied is not None:
            self.masks = applied
            self.history.masks.append((it, _mask_names(self.library, self.masks)))
        return done

    def _record(self, step: _Step, val: float, current: list[np.ndarray]) -> None:
        """Append the check's losses and coefficients to the history and tell the callbacks."""
        it, history = self.iteration, self.history
        history.iterations.append(it)
        history.loss.append(float(step.loss.detach()))
        history.data_loss.append(float(step.data_loss.detach()))
        history.regression_loss.append(float(step.reg_loss.detach()))
        history.validation_loss.append(val)
        self.raw.append((it, current))
        if not self.callbacks:
            return
        record = {"loss/data": history.data_loss[-1], "loss/regression": history.regression_loss[-1]}
        record["loss/validation"] = val
        names = self.library.names
        for f, c in enumerate(current):
            lhs = self.library.symbols.lhs(f)
            record.update({f"coef/{lhs}/{names[j]}": float(c[j]) for j in np.flatnonzero(self.masks[f])})
        reported = Step(it, float(step.loss.detach()), int(sum(m.sum() for m in self.masks)), record)
        for cb in self.callbacks:
            cb.on_step(reported)

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
            with torch.no_grad():
                _, u_t, theta = evaluate(self.model, self.library, self.spec, self.data.x, self.data.norm)
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


BLOW_UP = 2.0


def _mask_names(library: CandidateLibrary, masks: list[np.ndarray]) -> dict[str, list[str]]:
    """``{"u_t": ["u*u_x", "u_xx"], ...}`` for the active terms of each field."""
    names = library.names
    return {library.symbols.lhs(f): [names[j] for j in np.flatnonzero(m)] for f, m in enumerate(masks)}
