"""DeepMoD as a method: four swappable components trained together, the result in physical units.

Both, G.-J., Choudhury, S., Sens, P., Kusters, R. (2021), "DeepMoD: Deep learning for model discovery in
noisy data", J. Comput. Phys. 428, 109985. A network u(t, x) fits the data; its input derivatives (Taylor
mode, :mod:`deepmod.derivatives.taylor`) build the library; the regression u_t = Theta xi is part of the
loss; a sparsity estimator chooses the active terms on a schedule.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch

from deepmod._random import torch_seeded
from deepmod.approximators import Approximator
from deepmod.checkpoint import CHECKPOINT_FORMAT, fingerprint, load_checkpoint, save_checkpoint
from deepmod.data.dataset import Dataset
from deepmod.derivatives.smoothing import noise_std
from deepmod.diagnostics import dense_warning, fit_warnings
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.library import CandidateLibrary
from deepmod.method import Bootstrap, Method, Problem, Refit, assemble, check_library_size, require_one_run
from deepmod.neural.components import Choices, DefaultNetwork, Selection, default_components
from deepmod.neural.constraint import Constraint, LeastSquares
from deepmod.neural.schedule import Normalisation, Schedule
from deepmod.neural.sparsity import RegressorEstimator, SparsityEstimator
from deepmod.neural.training import Components, Trainer, TrainingData, TrainingOutcome
from deepmod.neural.weak import GridWeakSelection
from deepmod.refinement.base import Refinement
from deepmod.regression.selection import BackwardElimination
from deepmod.result import Result
from deepmod.terms import simpler_relatives


def _samples(
    data: Dataset, max_samples: int | None, seed: int, bootstrap: Bootstrap | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_samples`` of the data's points in a random order drawn from ``seed``: ``(X, U)``; with
    ``bootstrap`` (an ensemble member), of its draw of the points with replacement."""
    x, u = data.points()
    if bootstrap is not None:
        rows = bootstrap.draw(len(x))
        x, u = x[rows], u[rows]
    n = len(x) if max_samples is None else min(len(x), max_samples)
    idx = np.random.default_rng(seed).permutation(len(x))[:n]
    return x[idx], u[idx]


def default_estimator(data: Dataset, library: CandidateLibrary | None = None) -> SparsityEstimator:
    """Backward elimination; for ODE data also the residual ratio and best subsets.

    An ODE library holds polynomials of the fitted states, accurate columns without derivative noise, so a
    small term that removes most of the remaining residual is real (-y in Lorenz's y' = 28x - xz - y), and
    best subsets resolve collinear polynomials (1, z, z^2 for z far from 0). With noisy spatial derivatives
    the path ratio would keep nearly collinear terms (u*u_xxx beside u_xxx), so PDE data get the plain
    selector. (``BackwardElimination(add_back=4)`` recovered the weak v_xx of the reaction-diffusion case in
    one single-threaded run but not with two threads: once a mask without v_xx is in the loss, the network
    adapts and v_xx no longer divides the residual, so it is not the default.) Given the library, a chosen
    derivative term is swapped for its simpler relative (``u_xx`` for ``v*u_xx``) where the data cannot tell
    them apart (:func:`~deepmod.terms.simpler_relatives`).
    """
    if data.n_space == 0:
        return RegressorEstimator(BackwardElimination(ratio=4.0, exhaustive=10))
    simpler = None if library is None else simpler_relatives(library.terms)
    return RegressorEstimator(BackwardElimination(simpler=simpler))


@dataclass(frozen=True)
class DeepMoD(Method):
    """DeepMoD with its components as objects; its settings only (what steers a run from outside, callbacks,
    a stop event, checkpoints, goes to :meth:`run` as a :class:`~deepmod.method.RunControl`).

    Attributes:
        network: factory ``(n_inputs, n_outputs) -> Approximator``, or :class:`~deepmod.neural.components.\
            DefaultNetwork` (the default: chosen from the data, its derivative work compiled).
        constraint: solves for xi inside the loss.
        estimator: chooses active terms; ``None`` chooses from the data (:func:`default_estimator`).
        schedule: when to estimate sparsity and stop.
        selection: how terms are chosen at each sparsity check (:mod:`deepmod.neural.components`:
            :class:`~deepmod.neural.components.Pointwise` on the network's derivatives, optionally refined on
            the data's weak form; :class:`~deepmod.neural.components.TimeWeak`,
            :class:`~deepmod.neural.components.GridWeak`, :class:`~deepmod.neural.components.BoxWeak` on
            weak forms of the network's fit); ``None`` chooses from the data
            (:func:`~deepmod.neural.components.default_components`).
        refinement: how the chosen terms' coefficients are estimated again once training ends
            (:class:`~deepmod.refinement.WeakRefit`: least squares on the weak form of all the data; the
            network's own coefficients stay in the result's settings; fields it cannot refit keep them);
            ``None`` chooses from the data (the weak refit on PDE grids, none elsewhere).
        max_samples: at most this many random samples are used (80 % train, 20 % validation); ``None``
            uses all. Scattered data are used as they are when smaller.
        learning_rate: Adam's step size; ``None`` takes the network's own (``Approximator.learning_rate``).
    """

    network: Callable[[int, int], Approximator] | DefaultNetwork = field(default_factory=DefaultNetwork)
    constraint: Constraint = field(default_factory=LeastSquares)
    estimator: SparsityEstimator | None = None
    schedule: Schedule = field(default_factory=Schedule)
    selection: Selection | None = None
    refinement: Refinement | None = None
    max_samples: int | None = 2000
    learning_rate: float | None = None
    validation_fraction: float = 0.2

    name: ClassVar[str] = "deepmod"

    def choices(self, data: Dataset, library: CandidateLibrary) -> Choices:
        """The selection and refinement of a run on ``data``: the ones given, the data's defaults for the rest."""
        defaults = default_components(data, library)
        return Choices(
            defaults.selection if self.selection is None else self.selection,
            defaults.refinement if self.refinement is None else self.refinement,
        )

    def run(self, problem: Problem) -> Result:
        start = time.perf_counter()
        data, library = problem.data, problem.library
        seed, device, control = problem.seed, problem.device, problem.control
        require_one_run(data, self.name)
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise InputError("device cuda was asked for but no CUDA GPU is available: use cpu", options=("device",))
        x, u = _samples(data, self.max_samples, seed, problem.bootstrap)
        check_library_size(len(x), len(library.terms))
        norm = Normalisation.fit(x, u)
        split = self._split(x, u, norm, device)
        with torch_seeded(seed):
            make = self.network.factory(data) if isinstance(self.network, DefaultNetwork) else self.network
            model = make(x.shape[1], u.shape[1]).to(device)
        choices = self.choices(data, library)
        prepared = choices.selection.prepare(data, split, library, norm)
        if self.estimator is not None:
            estimator = self.estimator
        else:  # simpler relatives are library columns; a grid or box weak selection's columns are weak terms
            estimator = default_estimator(data, library if prepared.on_library_columns else None)
        parts = Components(model, library, self.constraint, estimator)
        trainer = Trainer(
            parts,
            split,
            self.schedule,
            learning_rate=self.learning_rate,
            control=control,
            selection=prepared.selection,
            check=prepared.check,
        )
        key = fingerprint(x, u, (library.names, seed, type(model).__name__))
        if control.resume is not None:
            trainer.load_state_dict(load_checkpoint(control.resume, key, device))
        outcome = trainer.run()
        if outcome.status == "interrupted" and control.checkpoint is not None:
            state = {"format": CHECKPOINT_FORMAT, "key": key, "trainer": trainer.state_dict()}
            save_checkpoint(control.checkpoint, state)
        settings = {
            "seed": seed,
            "samples": len(x),
            "learning_rate": trainer.optimiser.defaults["lr"],
            "betas": list(model.betas),
            "network": type(model).__name__,
            "estimator": repr(getattr(estimator, "regressor", estimator)),
            "schedule": dataclasses.asdict(self.schedule),
            "selection": _describe_selection(trainer),
            "step_halvings": [{"iteration": it, "learning_rate": step} for it, step in trainer.rollbacks],
        }
        fit = fit_against_noise(data, model, split, norm)
        if fit:
            settings["fit"] = fit
        refinement = choices.refinement if outcome.status != "interrupted" else None
        result = self._result(problem, norm, outcome, settings, time.perf_counter() - start, refinement)
        checked = prepared.check is not None or isinstance(prepared.selection, GridWeakSelection)
        result.warnings.extend(fit_warnings(fit, outcome.status, self.schedule.max_iterations, checked=checked))
        for eq in result.equations:
            result.warnings.extend(dense_warning(eq.lhs, len(eq.coefficients), len(library.terms)))
        return result

    def _split(self, x: np.ndarray, u: np.ndarray, norm: Normalisation, device: str) -> TrainingData:
        """Normalised tensors, the first ``validation_fraction`` of the (shuffled) samples for validation."""
        n_val = max(1, round(self.validation_fraction * len(x)))
        xt, ut = (
            torch.as_tensor(a, dtype=torch.float32, device=device)
            for a in ((x - norm.centre) / norm.half_width, u / norm.field_scale)
        )
        return TrainingData(xt[n_val:], ut[n_val:], xt[:n_val], ut[:n_val], norm)

    def refit(self, problem: Problem, supports: Sequence[Sequence[str]]) -> Refit | None:
        """The run's refinement of the chosen terms on all the data (the weak refit on PDE grids by default);
        ``None`` where there is none or it cannot refit every field's terms."""
        refinement = self.choices(problem.data, problem.library).refinement
        if refinement is None:
            return None
        symbols = problem.library.symbols
        chosen = [Equation(symbols.lhs(f), dict.fromkeys(names, 0.0)) for f, names in enumerate(supports)]
        refined = refinement.refine(problem.data, problem.library, chosen)
        return None if refined.complete is None else Refit(refined.complete, {"by": refined.how.get("by", "")})

    def _result(
        self,
        problem: Problem,
        norm: Normalisation,
        outcome: TrainingOutcome,
        settings: dict[str, object],
        seconds: float,
        refinement: Refinement | None,
    ) -> Result:
        data, library, bootstrap = problem.data, problem.library, problem.bootstrap
        to_phys = physical_factors(library, norm)
        names = library.names
        lhs = [library.symbols.lhs(f) for f in range(len(outcome.masks))]
        own = []
        for f, (coef, mask) in enumerate(zip(outcome.coefficients, outcome.masks, strict=True)):
            phys = coef * to_phys[f]
            own.append(Equation(lhs[f], {names[j]: float(phys[j]) for j in np.flatnonzero(mask)}))
        refined: list[Equation | None] = [None] * len(own)
        if refinement is not None:
            refined = refinement.refine(data, library, own, bootstrap).equations
        equations, network_coefficients = [], {}
        for eq, better in zip(own, refined, strict=True):
            if better is not None:
                network_coefficients[eq.lhs] = dict(eq.coefficients)
            equations.append(eq if better is None else better)
        settings["coefficients"] = "weak refit" if network_coefficients else "network"
        if network_coefficients:
            settings["network_coefficients"] = network_coefficients
        history = outcome.history
        history.coefficients = [
            {lhs[f]: (c * to_phys[f]).tolist() for f, c in enumerate(coefs)} for _, coefs in outcome.raw_history
        ]
        return assemble(
            self.name,
            library.symbols,
            data.coord_names,
            equations,
            names,
            seconds=seconds,
            status=outcome.status,
            iterations=outcome.iterations,
            history=history,
            settings=settings,
        )


def fit_against_noise(
    data: Dataset, model: Approximator, split: TrainingData, norm: Normalisation
) -> dict[str, dict[str, float]]:
    """Per field, the network's RMS misfit on the validation samples beside the data's noise level
    (:func:`~deepmod.derivatives.smoothing.noise_std`) and standard deviation, physical units; grid data
    only (scattered samples have no spectrum to read the noise from)."""
    if not data.grid:
        return {}
    with torch.no_grad():
        misfit = torch.mean((model(split.x_val) - split.u_val) ** 2, dim=0).double().cpu().numpy()
    out = {}
    for f, name in enumerate(data.field_names):
        u = np.asarray(data.fields[name], dtype=np.float64)
        rms = float(np.sqrt(misfit[f]) * norm.field_scale[f])
        out[name] = {"rms_misfit": rms, "noise": noise_std(u), "std": float(np.std(u))}
    return out


def _describe_selection(trainer: Trainer) -> object:
    """How terms were chosen, for the settings."""
    if trainer.selection is not None:
        return trainer.selection.describe()
    return "pointwise" if trainer.check is None else {"pointwise": True, **trainer.check.describe()}


def physical_factors(library: CandidateLibrary, norm: Normalisation) -> list[np.ndarray]:
    """Per field, the factors that turn normalised coefficients into physical ones.

    With ``u = s_u u'``, ``t = s_t t'``, ``x_i = s_i x_i'``: ``u_t = (s_u / s_t) u'_t'`` and each term scales by
    ``library.scales``, so ``xi_phys = xi' * (s_u / s_t) / scale_j``.
    """
    scales = library.scales(norm.field_scale.tolist(), norm.half_width[1:].tolist()).numpy()
    return [norm.field_scale[f] / norm.half_width[0] / scales for f in range(len(library.symbols.targets))]
