"""DeepMoD's training pieces: the weak selection system for ODE data, the fields' loss weights and the weak refit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepmod
from deepmod.approximators import Approximator
from deepmod.data import burgers_delta
from deepmod.derivatives.taylor import JetSpec
from deepmod.method import Problem
from deepmod.neural.deepmod import DeepMoD, default_estimator
from deepmod.neural.schedule import Normalisation, Schedule
from deepmod.neural.training import TrainingOutcome, field_weights
from deepmod.neural.weak import WeakSelection
from deepmod.refinement import WeakRefit
from deepmod.regression import RegressionSystem
from deepmod.result import History
from deepmod.systems.weak import refit
from deepmod.terms import Term


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
        chosen = default_estimator(data).select(RegressionSystem(g, b[:, f], tuple(library.names), f"f{f}"))
        assert {names[j] for j in np.flatnonzero(chosen)} == set(terms)


class _Wave(Approximator):
    """A 'network' that returns u = exp(-t) sin(pi x) + 0.5 exp(-4 t) sin(2 pi x) on normalised (t, x):
    u_t = u_xx / pi^2."""

    def __init__(self) -> None:
        super().__init__()
        self.n_inputs, self.n_outputs = 2, 1
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def jets(self, x: torch.Tensor, spec: JetSpec) -> torch.Tensor:
        t, s = x[:, 0].double(), x[:, 1].double()
        u = torch.exp(-t) * torch.sin(torch.pi * s) + 0.5 * torch.exp(-4 * t) * torch.sin(2 * torch.pi * s)
        return u[None, :, None]


def test_box_weak_selection_chooses_the_terms_of_the_networks_values() -> None:
    """Scattered samples: the network's values on an even grid over the box give the weak system; for a
    heat-equation solution the estimator chooses u_xx alone."""
    from deepmod.neural.weak import BoxWeakSelection

    rng = np.random.default_rng(0)
    scattered = deepmod.Dataset({"t": rng.random(50), "x": rng.random(50)}, {"u": rng.random(50)}, grid=False)
    library = deepmod.make_library(scattered, 2, 3)
    selection = BoxWeakSelection.for_samples(library, 2)
    estimator = default_estimator(scattered)
    (mask,) = selection.masks(_Wave(), library, estimator)
    assert {library.names[j] for j in np.flatnonzero(mask)} == {"u_xx"}


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


def _mask(library: deepmod.library.CandidateLibrary, names: set[str]) -> np.ndarray:
    return np.array([n in names for n in library.names])


def _terms(library: deepmod.library.CandidateLibrary, names: set[str]) -> list[Term]:
    return [t for t, n in zip(library.terms, library.names, strict=True) if n in names]


def test_weak_refit_recovers_the_coefficients_of_chosen_terms() -> None:
    """On exact Burgers grid data, the true terms' coefficients to 0.5 %; u*u_x is (u^2/2)_x, u_xx is (u)_xx."""
    system = burgers_delta()
    library = deepmod.make_library(system.data)
    (coefs,) = refit(system.data, library, [_terms(library, {"u*u_x", "u_xx"})])
    assert coefs is not None and set(coefs) == {"u*u_x", "u_xx"}
    for term, true in system.truth["u_t"].items():
        assert abs(coefs[term] - true) < 0.005 * abs(true), coefs


def test_weak_refit_declines_what_it_cannot_integrate() -> None:
    system = burgers_delta()
    library = deepmod.make_library(system.data)
    # u*u_xx is no derivative of a monomial ((u^2)_xx = 2 u_x^2 + 2 u*u_xx brings u_x^2 along)
    assert refit(system.data, library, [_terms(library, {"u*u_xx", "u_xx"})]) == [None]
    scattered = deepmod.subsample(system.data, 500, seed=0)
    assert refit(scattered, deepmod.make_library(scattered), [_terms(library, {"u*u_x", "u_xx"})]) == [None]


def test_deepmod_reports_refitted_coefficients_and_keeps_the_network_ones() -> None:
    system = burgers_delta()
    library = deepmod.make_library(system.data)
    mask = _mask(library, {"u*u_x", "u_xx"})
    x, u = system.data.points()
    norm = Normalisation.fit(x, u)
    outcome = TrainingOutcome([mask], [np.where(mask, 0.5, 0.0)], 10, "converged", 0.0, History(), [])
    result = DeepMoD()._result(Problem(system.data, library), norm, outcome, {}, 0.0, WeakRefit())
    assert result.coefficients["u_t"] == refit(system.data, library, [_terms(library, {"u*u_x", "u_xx"})])[0]
    assert result.settings["coefficients"] == "weak refit"
    assert set(result.settings["network_coefficients"]["u_t"]) == {"u*u_x", "u_xx"}
    plain = DeepMoD()._result(Problem(system.data, library), norm, outcome, {}, 0.0, None)
    assert plain.settings["coefficients"] == "network"
    assert plain.coefficients["u_t"] == result.settings["network_coefficients"]["u_t"]


def test_trainer_rolls_back_a_blown_up_fit_and_halves_its_step() -> None:
    """A validation misfit more than BLOW_UP times the best so far restores the best check's network and
    optimiser state (Adam's moments included, unaliased, so a second blow-up restores them again) and
    halves the step; a smaller rise is a fluctuation and changes nothing."""
    from deepmod.approximators import MLP
    from deepmod.neural.constraint import LeastSquares
    from deepmod.neural.training import BLOW_UP, Components, Trainer, TrainingData

    data = burgers_delta().data
    library = deepmod.make_library(data)
    torch.manual_seed(0)
    x = torch.rand(64, 2) * 2 - 1
    split = TrainingData(x[:48], torch.sin(3 * x[:48, :1]), x[48:], torch.sin(3 * x[48:, :1]))
    model = MLP(2, 1, fuse=False)
    trainer = Trainer(Components(model, library, LeastSquares(), default_estimator(data)), split, Schedule())
    assert trainer.optimiser.param_groups[0]["betas"] == model.betas == (0.9, 0.999)

    def step() -> None:
        trainer.optimiser.zero_grad()
        sum((p**2).sum() for p in model.parameters()).backward()
        trainer.optimiser.step()

    step()
    assert not trainer._blown_up(1.0)  # the first check: the best state so far
    trainer.history.validation_loss.append(1.0)
    saved = [p.detach().clone() for p in model.parameters()]
    moments = [trainer.optimiser.state[p]["exp_avg"].clone() for p in model.parameters()]
    for blow_up in range(2):
        step()
        assert not trainer._blown_up(0.99 * BLOW_UP)  # a rise below BLOW_UP times the best is kept
        assert trainer._blown_up(1.01 * BLOW_UP)
        for p, before, m in zip(model.parameters(), saved, moments, strict=True):
            torch.testing.assert_close(p.detach(), before, rtol=0, atol=0)
            torch.testing.assert_close(trainer.optimiser.state[p]["exp_avg"], m, rtol=0, atol=0)
        assert trainer.optimiser.param_groups[0]["lr"] == model.learning_rate / 2 ** (blow_up + 1)
    assert [lr for _, lr in trainer.rollbacks] == [model.learning_rate / 2, model.learning_rate / 4]


class _Values(torch.nn.Module):
    """A stand-in network that returns given values at the grid's points (float64)."""

    def __init__(self, values: np.ndarray) -> None:
        super().__init__()
        self.values = torch.nn.Parameter(torch.as_tensor(values))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.values.detach()


def test_grid_weak_selection_chooses_library_terms_from_weak_terms() -> None:
    """On the exact Burgers field the weak system (derivatives on the test functions, no derivative of the
    network) chooses (u^2)_x and u_xx, i.e. the library terms u*u_x and u_xx; every column is a weak term whose
    expansion uses library terms only."""
    from deepmod.neural.weak import DataWeakCheck, GridWeakSelection

    data = burgers_delta(x=np.linspace(-3, 4, 128), t=np.linspace(0.5, 5, 60)).data
    library = deepmod.make_library(data)
    x, _ = data.points()
    lo, hi = x.min(0), x.max(0)
    selection = GridWeakSelection(DataWeakCheck.for_grid(data, (lo + hi) / 2, (hi - lo) / 2, library))
    assert all(set(t.expansion()) <= set(library.terms) for t in selection.check.terms)
    (mask,) = selection.masks(_Values(data.fields["u"].reshape(-1, 1)), library, default_estimator(data))
    assert {library.names[j] for j in np.flatnonzero(mask)} == {"u_xx", "u*u_x"}


def test_fit_warnings_flag_a_fit_far_above_the_noise_only() -> None:
    from deepmod.diagnostics import fit_warnings

    cap = Schedule().max_iterations
    at_noise = {"u": {"rms_misfit": 0.0181, "noise": 0.018, "std": 0.18}}
    clean = {"u": {"rms_misfit": 8e-4, "noise": 1e-6, "std": 0.18}}  # far above a tiny noise, yet a fine fit
    unresolved = {"u": {"rms_misfit": 1.5, "noise": 0.15, "std": 1.5}}
    assert fit_warnings(at_noise, "converged", cap) == fit_warnings(clean, "converged", cap) == []
    (warning,) = fit_warnings(unresolved, "converged", cap)
    assert "10.0 times the data's noise level" in warning and "weak method" in warning
    assert "iteration cap (10000)" in fit_warnings(at_noise, "max_iterations", cap)[0]
    noise_free = {"u": {"rms_misfit": 1.08, "noise": 2.3e-16, "std": 1.3}}
    (warning,) = fit_warnings(noise_free, "converged", cap, checked=True)
    assert "look noise-free" in warning and "confirmed on the data's weak form" in warning


def test_noise_std_reads_white_noise_off_the_spectrum() -> None:
    from deepmod.derivatives.smoothing import noise_std

    rng = np.random.default_rng(3)
    t, x = np.linspace(0, 1, 81)[:, None], np.linspace(0, 2 * np.pi, 200, endpoint=False)[None]
    u = np.sin(x - 2 * t) + 0.3 * np.cos(3 * x + t)
    for level in (0.01, 0.05, 0.2):
        assert noise_std(u + level * rng.standard_normal(u.shape)) == pytest.approx(level, rel=0.1)


def test_data_weak_check_restores_a_small_true_term_the_network_missed() -> None:
    """The anisotropic 2-D advection-diffusion at 10 % noise: a proposal without the weak u_xx (diffusivity
    0.05 beside 0.32) gets it back from the data, and the true proposal stays as it is."""
    from deepmod.neural.weak import DataWeakCheck
    from unseen_systems import unseen_systems

    system = unseen_systems(0)["anisotropic advection-diffusion 2-D"]
    data = deepmod.add_noise(system.data, 0.10, seed=0)
    library = DeepMoD().default_library(data)
    x, _ = data.points()
    lo, hi = x.min(axis=0), x.max(axis=0)
    check = DataWeakCheck.for_grid(data, (lo + hi) / 2, (hi - lo) / 2, library)
    truth = np.isin(library.names, ["u_x", "u_y", "u_xx", "u_yy"])
    missing = truth & ~np.isin(library.names, ["u_xx"])
    np.testing.assert_array_equal(check.refine([missing])[0], truth)
    np.testing.assert_array_equal(check.refine([truth])[0], truth)


def test_deepmod_has_no_boolean_switch_and_chooses_its_components_from_the_data() -> None:
    """DESIGN.md: an algorithm choice is a component object, never a boolean field. The defaults: weak selection
    in time for a time series, on the grid (refined on the data, then the weak refit) for PDE grids, over the
    samples' box for scattered samples; a selection given for data it does not suit is refused by name."""
    import dataclasses
    import re

    from deepmod.data import lotka_volterra, subsample
    from deepmod.errors import InputError
    from deepmod.neural.components import BoxWeak, GridWeak, Pointwise, TimeWeak, default_components

    for f in dataclasses.fields(DeepMoD):
        assert not re.search(r"\bbool\b", str(f.type)) and not isinstance(f.default, bool), f.name
    grid = burgers_delta().data
    ode = lotka_volterra().data
    scattered = subsample(grid, 500, seed=0)
    choices = {name: default_components(d, deepmod.make_library(d)) for name, d in (("grid", grid), ("ode", ode))}
    choices["scattered"] = default_components(scattered, deepmod.make_library(scattered))
    assert isinstance(choices["grid"].selection, GridWeak) and isinstance(choices["grid"].refinement, WeakRefit)
    assert isinstance(choices["ode"].selection, TimeWeak) and choices["ode"].refinement is None
    assert isinstance(choices["scattered"].selection, BoxWeak) and choices["scattered"].refinement is None
    given = DeepMoD(selection=Pointwise(check=None)).choices(grid, deepmod.make_library(grid))
    assert given.selection == Pointwise(check=None) and isinstance(given.refinement, WeakRefit)
    with pytest.raises(InputError, match="TimeWeak selection is for time series"):
        deepmod.discover(grid, DeepMoD(selection=TimeWeak(), schedule=Schedule(max_iterations=10)))
