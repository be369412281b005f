"""Training a physics-informed network: residual, initial, boundary and data losses, each dimensionless;
Adam, then L-BFGS; unknown coefficients calibrated jointly (Raissi, Perdikaris and Karniadakis, J. Comput.
Phys. 378, 2019), with bootstrap standard deviations.

The network works on the box mapped to [-1, 1] in every coordinate, and its output is scaled by the typical
size of the initial values; derivatives come from one Taylor-mode pass (:mod:`deepmod.derivatives.taylor`)
and are mapped back to physical units, ``d^a u = s_u prod_k h_k^-a_k d^a u'``, so the equation's terms are
evaluated in physical units by the one term evaluator. Periodic boundaries are exact (:class:`PeriodicMLP`).

Loss weights: every loss is a mean square relative to its own scale (the fields' size, their rate over the
time span), so each weighs 1 by default. On request (``balance_every``), the learning-rate annealing of Wang,
Teng and Perdikaris (SIAM J. Sci. Comput. 43, 2021): every ``balance_every`` Adam steps each non-residual
loss's weight moves towards ``max |grad L_res| / mean |grad L_i|`` (a moving average, factor 0.9); L-BFGS
keeps the last weights. Measured harmful on Raissi's Burgers (:class:`PINN`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from deepmod._random import torch_seeded
from deepmod.approximators import MLP, Approximator, PeriodicMLP
from deepmod.derivatives.taylor import JetSpec
from deepmod.library import TermEvaluator, coordinate_values
from deepmod.method import RunControl
from deepmod.pinn.checkpoint import Progress, fingerprint, resume, save
from deepmod.pinn.fit import PinnFit
from deepmod.pinn.points import Points, training_points
from deepmod.pinn.problem import PinnProblem
from deepmod.pinn.training import train
from deepmod.pinn.uncertainty import bootstrap_std


@dataclass(frozen=True)
class Sampling:
    """The points a PINN trains on.

    Attributes:
        collocation: residual points, uniform at random in the box.
        initial, boundary: points on the initial time and on the spatial faces.
        adaptive: residual-based adaptive collocation: after Adam, this many points where the residual is
            largest among ``candidates`` random ones join the collocation points (0: none).
    """

    collocation: int = 2500
    initial: int = 256
    boundary: int = 256
    adaptive: int = 2500
    candidates: int = 25_000


@dataclass(frozen=True)
class PINN:
    """A physics-informed network's settings (each has a default that needs no tuning per problem).

    Attributes:
        hidden: the tanh MLP's hidden widths.
        sampling: how many points of each kind (:class:`Sampling`).
        adam_iterations, lbfgs_iterations: the two stages.
        learning_rate: Adam's step.
        balance_every: Adam steps between updates of the loss weights (0, the default: every loss weighs 1;
            the losses are dimensionless already). Measured on Raissi's Burgers: the annealing drove the
            initial and boundary weights to 6,500 and the error to 0.2, against 3.6e-3 with weights of 1.
        dtype: the model's float type, per model (nothing global is set); by default (``None``) float32 for a
            forward solve and float64 for a calibration (:meth:`dtype_for`). A float32 run whose L-BFGS stage
            stalls before its budget goes on in float64 until its loss levels off (:func:`deepmod.pinn.training.train`).
        data_weight: the data loss's weight against the residual's (it counts in calibrations only). The
            network cannot represent a sharp front exactly, so the residual keeps a floor (1e-4 on Raissi's
            Burgers shock) as large as the data misfit at 1 % noise; with equal weights nu is traded for it
            (a wider shock is easier to represent: nu 6.2 % off at 1 % noise, 3.4 % at 10 %, seed 0), and
            raising the residual's weight drove nu further off. With 10 the data are fitted to their noise
            floor: nu 0.05 % off at 1 % noise (from scratch) and 0.8 % at 10 % (continued from weight 1);
            with 100 the data fall below it at 10 % noise (the noise is fitted).
        refine: when L-BFGS stops short of its budget in float64 (a stall, or no progress after float32's
            stall), add ``sampling.adaptive`` more points where the residual is largest and go on until the
            loss levels off. Off by default: measured on Raissi's Burgers (AMD EPYC, one thread), it brought
            seeds 1-4 from 3.0e-3, 7.2e-4, 7.5e-4, 2.0e-3 to 4.7e-4, 6.1e-4, 6.4e-4, 5.2e-4, at 1.5-2.5 times
            the CPU, and on the smooth cases (2-D advection-diffusion, the built-in Burgers) it cost 2.5 times
            the CPU for 10-20 % less error.
        causal: the causal weighting's tolerance (:meth:`Losses.causal_mean`; 0, the default: none).
        bootstrap, refit_iterations: the unknowns' standard deviations: this many refits on resampled data,
            each of this many L-BFGS steps (:func:`deepmod.pinn.uncertainty.bootstrap_std`; fewer than 2: none).
    """

    hidden: tuple[int, ...] = (32, 32, 32, 32)
    dtype: torch.dtype | None = None
    adam_iterations: int = 2000
    learning_rate: float = 1e-3
    lbfgs_iterations: int = 8000
    sampling: Sampling = field(default_factory=lambda: Sampling())
    balance_every: int = 0
    refine: bool = False
    causal: float = 0.0
    data_weight: float = 10.0
    bootstrap: int = 8
    refit_iterations: int = 500

    def solve(
        self, problem: PinnProblem, *, seed: int = 0, device: str = "cpu", control: RunControl | None = None
    ) -> PinnFit:
        """Train on ``problem``; the fit holds the network, the result (equations with the unknowns filled in,
        their standard deviations, the final residual, the error against the data) and the losses."""
        start = time.perf_counter()
        control = RunControl() if control is None else control
        rng = np.random.default_rng(seed)
        points = training_points(problem, self, rng)
        init_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=torch.Generator().manual_seed(seed)))
        dtype = self.dtype_for(problem)
        with torch_seeded(init_seed):
            model = self._network(problem, len(problem.symbols.fields)).to(device=device, dtype=dtype)
        losses = Losses(problem, points, model, dtype, device)
        losses.causal = self.causal
        losses.weights["data"] = self.data_weight
        candidates = torch.as_tensor(
            rng.uniform(-1.0, 1.0, (self.sampling.candidates, len(problem.box.names))), dtype=dtype, device=device
        )
        key = fingerprint(problem, self, seed)
        state = Progress() if control.resume is None else resume(losses, control.resume, key, device)
        status, history = train(self, losses, control, candidates, state)
        if status == "interrupted" and control.checkpoint is not None:
            save(losses, control.checkpoint, key, state)
        stds = bootstrap_std(
            losses, self.bootstrap if status == "converged" else 0, self.refit_iterations, rng, control
        )
        return PinnFit(problem, model, losses, status, history, time.perf_counter() - start, stds)

    def dtype_for(self, problem: PinnProblem) -> torch.dtype:
        """The float type for ``problem``: the one set, else float32 for a forward solve and float64 with unknowns.

        Measured on Raissi's Burgers: forward, float32 follows float64's error curve step for step (to 4e-4)
        at 2.4 times fewer CPU seconds per step. A calibration's loss is nearly flat along a weak coefficient
        (nu moves the solution by a part in a thousand), and in float32 L-BFGS's line search finds no
        decrease and stops: nu was left 25 % off after 1,000 steps, where float64 goes on.
        """
        if self.dtype is not None:
            return self.dtype
        return torch.float64 if problem.unknowns else torch.float32

    def _network(self, problem: PinnProblem, n_fields: int) -> Approximator:
        n_inputs = len(problem.box.names)
        if problem.boundary == "periodic":
            return PeriodicMLP(n_fields, (False,) + (True,) * (n_inputs - 1), self.hidden, fuse=False)
        return MLP(n_inputs, n_fields, self.hidden, fuse=False)


class Losses:
    """The loss terms of a problem on fixed points, and the unknowns as parameters."""

    def __init__(self, problem: PinnProblem, points: Points, model: Approximator, dtype: torch.dtype, device: str):
        self.problem, self.model = problem, model
        self.box_centre, self.half = problem.box.centre, problem.box.half_width
        self.scale = points.field_scale
        self.rate_scale = self.scale / self.half[0]

        def as_tensor(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=dtype, device=device)

        self.points = points.to(as_tensor)
        self.value_scale = as_tensor(points.field_scale)
        self.unknown_names = tuple(problem.unknowns)
        self.unknowns = torch.nn.Parameter(as_tensor(np.array([problem.unknowns[n] for n in self.unknown_names])))
        symbols = problem.symbols
        order = {symbols.lhs(i): i for i in range(len(symbols.targets))}
        self.equations = sorted(problem.equations, key=lambda e: order[e.lhs])
        self.evaluators = [TermEvaluator([symbols.parse(n) for n in eq.terms]) for eq in self.equations]
        needed = set().union(*(e.required() for e in self.evaluators)) | {(b.field, b.derivative) for b in points.kinds}
        self.needed = needed
        n_in = len(problem.box.names)
        wanted = [(1,) + (0,) * (n_in - 1)] + [(0, *d) for f, d in needed if f >= 0]
        self.spec = JetSpec(wanted, n_in)
        self.weights = {name: 1.0 for name in ("initial", "boundary", "data")}
        self.causal = 0.0

    def parameters(self) -> list[torch.Tensor]:
        return [*self.model.parameters(), *([self.unknowns] if self.unknown_names else [])]

    def coefficients(self) -> list[list[torch.Tensor]]:
        """Per equation, each term's coefficient: its constant plus the unknowns' share."""
        index = {n: i for i, n in enumerate(self.unknown_names)}
        out = []
        for eq in self.equations:
            row = []
            for parts in eq.terms.values():
                c = self.unknowns.new_tensor(parts.get("", 0.0))
                for name, k in parts.items():
                    if name:
                        c = c + k * self.unknowns[index[name]]
                row.append(c)
            out.append(row)
        return out

    def values(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, dict[tuple[int, tuple[int, ...]], torch.Tensor], torch.Tensor]:
        """At normalised points ``x``: fields ``(n, F)``, every needed derivative in physical units, and u_t."""
        jets = self.model.jets(x, self.spec)
        n_space = x.shape[1] - 1
        out = {}
        for f, d in self.needed:
            if f < 0:
                continue
            factor = float(self.scale[f] / np.prod(self.half[1:] ** np.array(d)))
            out[(f, d)] = factor * self.spec.derivative(jets, (0, *d))[:, f]
        physical = x * x.new_tensor(self.half) + x.new_tensor(self.box_centre)
        out.update(coordinate_values(self.needed, list(physical.unbind(dim=1))))
        u_t = self.spec.derivative(jets, (1,) + (0,) * n_space) * x.new_tensor(self.scale / self.half[0])
        fields = jets[0] * x.new_tensor(self.scale)
        return fields, out, u_t

    def residuals(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, F_targets)``: u_t minus the right-hand side, in units of each field's typical rate."""
        _, values, u_t = self.values(x)
        out = []
        for k, (evaluator, row) in enumerate(zip(self.evaluators, self.coefficients(), strict=True)):
            rhs = sum((c * col for c, col in zip(row, evaluator.columns(values, like=u_t[:, k]), strict=True)), 0.0)
            out.append((u_t[:, k] - rhs) / float(self.rate_scale[k]))
        return torch.stack(out, dim=1)

    def terms(self) -> dict[str, torch.Tensor]:
        """Each loss, dimensionless: mean squares relative to the fields' and rates' scales."""
        p = self.points
        squares = self.residuals(p.collocation) ** 2
        out = {"residual": torch.mean(squares) if not self.causal else self.causal_mean(squares, p.collocation[:, 0])}
        if p.initial is not None:
            fields = self.model(p.initial) * self.value_scale  # values only: no derivative streams
            scale = self.value_scale[p.initial_fields]
            out["initial"] = torch.mean(((fields[:, p.initial_fields] - p.initial_values) / scale) ** 2)
        if p.boundary is not None:
            if any(any(b.derivative) for b in p.kinds):  # a Neumann face: the derivatives too
                _, values, _ = self.values(p.boundary)
                parts = [values[(b.field, b.derivative)][rows] for b, rows in zip(p.kinds, p.kind_rows, strict=True)]
            else:
                fields = self.model(p.boundary) * self.value_scale
                parts = [fields[rows, b.field] for b, rows in zip(p.kinds, p.kind_rows, strict=True)]
            out["boundary"] = torch.mean(((torch.cat(parts) - p.boundary_values) / p.boundary_scale) ** 2)
        if p.data is not None:
            fields = self.model(p.data) * self.value_scale
            n = p.data_values.shape[1]
            out["data"] = torch.mean(((fields[:, :n] - p.data_values) / self.value_scale[:n]) ** 2)
        return out

    def causal_mean(self, squares: torch.Tensor, time: torch.Tensor, slices: int = 32) -> torch.Tensor:
        """The residual's mean square with causal weights (Wang, Sankaran and Perdikaris, CMAME 421, 2024): the
        span cut into ``slices`` in time, slice i weighted by ``exp(-causal * sum_{k<i} L_k)`` (no gradient), so
        later times count once earlier ones are resolved."""
        index = ((time + 1) / 2 * slices).long().clamp(0, slices - 1)
        per_point = squares.mean(dim=1)
        sums = per_point.new_zeros(slices).index_add(0, index, per_point)
        counts = per_point.new_zeros(slices).index_add(0, index, torch.ones_like(per_point)).clamp(min=1)
        means = sums / counts
        before = torch.cat([means.new_zeros(1), torch.cumsum(means, 0)[:-1]]).detach()
        return torch.mean(torch.exp(-self.causal * before) * means)

    def total(self) -> torch.Tensor:
        parts = self.terms()
        return sum((self.weights.get(k, 1.0) * v for k, v in parts.items()), parts["residual"].new_zeros(()))

    def add_collocation(self, candidates: torch.Tensor, n: int) -> None:
        """Add the ``n`` points of ``candidates`` where the residual is largest (over the fields), among those
        that are not collocation points already."""
        points, candidates = self.points.collocation, candidates.to(self.points.collocation)
        _, inverse, counts = torch.unique(
            torch.cat([points, candidates]), dim=0, return_inverse=True, return_counts=True
        )
        fresh = candidates[counts[inverse[len(points) :]] == 1]
        residual = torch.cat([self.residuals(chunk).detach().abs().amax(dim=1) for chunk in fresh.split(5000)])
        chosen = fresh[torch.topk(residual, min(n, len(fresh))).indices]
        self.points = replace(self.points, collocation=torch.cat([points, chosen]))

    def promote(self) -> None:
        """Go on in float64: the network, the points, the scales and the unknowns, converted in place."""
        self.model.double()
        self.points = self.points.to(lambda a: torch.as_tensor(a).double())
        self.value_scale = self.value_scale.double()
        with torch.no_grad():
            self.unknowns.data = self.unknowns.data.double()

    def rebalance(self) -> None:
        """One step of the learning-rate annealing (module docstring)."""
        params = [p for p in self.model.parameters() if p.requires_grad]
        parts = self.terms()
        grads = {k: torch.autograd.grad(v, params, retain_graph=True, allow_unused=True) for k, v in parts.items()}

        def flat(gs: tuple[torch.Tensor | None, ...]) -> torch.Tensor:
            return torch.cat([g.abs().ravel() for g in gs if g is not None])

        peak = float(flat(grads["residual"]).max())
        for k in parts:
            if k != "residual":
                mean = float(flat(grads[k]).mean())
                if mean > 0:
                    self.weights[k] = 0.9 * self.weights[k] + 0.1 * peak / mean


__all__ = ["PINN", "Losses"]
