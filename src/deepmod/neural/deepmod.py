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

import numpy as np
import torch

from deepmod.data.dataset import Dataset
from deepmod.equation import Equation
from deepmod.errors import InputError
from deepmod.library import CandidateLibrary
from deepmod.method import Method, check_library_size
from deepmod.neural.approximators import MLP, Approximator, TimeWindows, oscillations
from deepmod.neural.constraint import Constraint, LeastSquares
from deepmod.neural.sparsity import RegressorEstimator, SparsityEstimator
from deepmod.neural.training import Callback, Normalisation, Schedule, TrainingOutcome, train
from deepmod.result import Result


def default_network(data: Dataset) -> Approximator:
    """A tanh MLP with four hidden layers of 50 units; for ODE data with several oscillations, one smaller MLP
    per oscillation (:class:`~deepmod.neural.approximators.TimeWindows`), so that each fits about one cycle."""
    n_inputs, n_outputs = len(data.coords), len(data.fields)
    if data.n_space == 0:
        x, u = data.points()
        windows = round(oscillations(x[:, 0], u))
        if windows > 1:
            return TimeWindows(n_inputs, n_outputs, windows)
    return MLP(n_inputs, n_outputs)


@dataclass
class DeepMoD(Method):
    """DeepMoD with its components as objects.

    Attributes:
        network: factory ``(n_inputs, n_outputs) -> Approximator``; ``None`` chooses from the data
            (:func:`default_network`).
        constraint: solves for xi inside the loss.
        estimator: chooses active terms.
        schedule: when to estimate sparsity and stop.
        max_samples: at most this many random samples are used (80 % train, 20 % validation); ``None``
            uses all. Scattered data are used as they are when smaller.
        learning_rate: Adam's step size.
        callbacks: progress bars, loggers.
    """

    network: Callable[[int, int], Approximator] | None = None
    constraint: Constraint = field(default_factory=LeastSquares)
    estimator: SparsityEstimator = field(default_factory=RegressorEstimator)
    schedule: Schedule = field(default_factory=Schedule)
    max_samples: int | None = 2000
    learning_rate: float = 2e-3
    validation_fraction: float = 0.2
    callbacks: Sequence[Callback] = ()
    name: str = "deepmod"

    def run(self, data: Dataset, library: CandidateLibrary, seed: int = 0, device: str = "cpu") -> Result:
        start = time.perf_counter()
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise InputError("--device cuda was asked for but no CUDA GPU is available: use --device cpu")
        x, u = data.points()
        rng = np.random.default_rng(seed)
        n = len(x) if self.max_samples is None else min(len(x), self.max_samples)
        idx = rng.permutation(len(x))[:n]
        x, u = x[idx], u[idx]
        check_library_size(n, len(library.terms))
        norm = Normalisation.fit(x, u)
        n_val = max(1, round(self.validation_fraction * n))
        tensors = [
            torch.as_tensor(a, dtype=torch.float32, device=device)
            for a in ((x - norm.centre) / norm.half_width, u / norm.field_scale)
        ]
        xt, ut = tensors
        split = (xt[n_val:], ut[n_val:], xt[:n_val], ut[:n_val])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = (default_network(data) if self.network is None else self.network(x.shape[1], u.shape[1])).to(device)
        outcome = train(
            model, library, self.constraint, self.estimator, split, self.schedule, self.learning_rate, self.callbacks
        )
        settings = {
            "seed": seed,
            "samples": n,
            "learning_rate": self.learning_rate,
            "network": type(model).__name__,
            "estimator": repr(getattr(self.estimator, "regressor", self.estimator)),
            "schedule": dataclasses.asdict(self.schedule),
        }
        return self._result(library, norm, outcome, settings, time.perf_counter() - start)

    def _result(
        self,
        library: CandidateLibrary,
        norm: Normalisation,
        outcome: TrainingOutcome,
        settings: dict[str, object],
        seconds: float,
    ) -> Result:
        to_phys = physical_factors(library, norm)
        names = library.names
        equations = []
        for f, (coef, mask) in enumerate(zip(outcome.coefficients, outcome.masks, strict=True)):
            phys = coef * to_phys[f]
            equations.append(Equation(library.symbols.lhs(f), {names[j]: float(phys[j]) for j in np.flatnonzero(mask)}))
        history = outcome.history
        lhs = [library.symbols.lhs(f) for f in range(len(outcome.masks))]
        history.coefficients = [
            {lhs[f]: (c * to_phys[f]).tolist() for f, c in enumerate(coefs)} for _, coefs in outcome.raw_history
        ]
        return Result(equations, self.name, names, outcome.status, outcome.iterations, seconds, history, settings)


def physical_factors(library: CandidateLibrary, norm: Normalisation) -> list[np.ndarray]:
    """Per field, the factors that turn normalised coefficients into physical ones.

    With ``u = s_u u'``, ``t = s_t t'``, ``x_i = s_i x_i'``: ``u_t = (s_u / s_t) u'_t'`` and each term scales by
    ``library.scales``, so ``xi_phys = xi' * (s_u / s_t) / scale_j``.
    """
    scales = library.scales(norm.field_scale.tolist(), norm.half_width[1:].tolist()).numpy()
    return [norm.field_scale[f] / norm.half_width[0] / scales for f in range(len(norm.field_scale))]
