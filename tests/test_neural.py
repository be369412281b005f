"""DeepMoD's training pieces: the weak selection system for ODE data and the fields' loss weights."""

from __future__ import annotations

import numpy as np
import torch

import deepmod
from deepmod.derivatives.taylor import JetSpec
from deepmod.neural.approximators import Approximator
from deepmod.neural.deepmod import default_estimator
from deepmod.neural.training import field_weights
from deepmod.neural.weak import WeakSelection


class _Exact(Approximator):
    """An 'approximator' that returns a known trajectory: (cos 3t + 2, -3 sin 3t) on normalised time t."""

    def __init__(self) -> None:
        super().__init__()
        self.n_inputs, self.n_outputs = 1, 2
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def jets(self, x: torch.Tensor, spec: JetSpec) -> torch.Tensor:
        t = x[:, 0].double()
        return torch.stack([torch.cos(3 * t) + 2, -3 * torch.sin(3 * t)], dim=1).unsqueeze(0)


def test_weak_system_holds_for_the_exact_trajectory_and_selects_its_terms() -> None:
    # x' = y, y' = -9 (x - 2) = 18 - 9 x: the constant and x in y', y alone in x'.
    t = np.linspace(-1.0, 1.0, 400)
    model = _Exact()
    u = model(torch.as_tensor(t).unsqueeze(1)).numpy()
    data = deepmod.Dataset({"t": t}, {"x": u[:, 0], "y": u[:, 1]}, grid=True)
    library = deepmod.make_library(data)
    perm = np.random.default_rng(0).permutation(len(t))  # samples come in any order
    weak = WeakSelection.for_samples(t[perm], u[perm], len(library.terms))
    g, b = weak.system(model, library)
    assert g.shape == (b.shape[0], len(library.terms)) and b.shape[1] == 2
    assert g.shape[0] >= 20 * len(library.terms)
    names = library.names
    truth = [{"y": 1.0}, {"1": 18.0, "x": -9.0}]
    for f, terms in enumerate(truth):
        xi = np.zeros(len(names))
        for name, c in terms.items():
            xi[names.index(name)] = c
        assert np.linalg.norm(g @ xi - b[:, f]) <= 1e-6 * np.linalg.norm(b[:, f])
        chosen = default_estimator(data).select(g, b[:, f])
        assert {names[j] for j in np.flatnonzero(chosen)} == set(terms)


def test_weak_supports_follow_the_signal_not_the_sample_order() -> None:
    t = np.linspace(-1.0, 1.0, 500)
    u = np.stack([np.sin(20 * t), np.cos(20 * t)], axis=1)
    order = np.random.default_rng(1).permutation(len(t))
    a = WeakSelection.for_samples(t, u, 10)
    b = WeakSelection.for_samples(t[order], u[order], 10)
    np.testing.assert_array_equal(a.tests.values, b.tests.values)
    faster = np.stack([np.sin(40 * t), np.cos(40 * t)], axis=1)
    assert WeakSelection.for_samples(t, faster, 10).tests.half_width < a.tests.half_width


def test_field_weights_put_each_misfit_relative_to_its_variance() -> None:
    single = torch.tensor([[1.0], [-1.0], [0.5]])
    assert torch.equal(field_weights(single), torch.ones(1))
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1000)
    z = 3.0 + 0.5 * rng.standard_normal(1000)
    w = field_weights(torch.as_tensor(np.stack([x, z], axis=1)))
    expected = np.mean(z**2) / np.var(z, ddof=1) / (np.mean(x**2) / np.var(x, ddof=1))
    assert w[0] == 1.0 and abs(float(w[1]) - expected) < 1e-9 * expected
