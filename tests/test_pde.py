"""Universal PDEs: torch stencils against numpy Fornberg, gradients through the solver, stencil read-back."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp
from torchdiffeq import odeint, odeint_adjoint

from conftest import heat_data
from deepmod.api import discover
from deepmod.data.dataset import Dataset
from deepmod.data.sampling import add_noise
from deepmod.data.spectral import burgers_periodic
from deepmod.data.synthetic import fisher_kpp_discrete
from deepmod.derivatives.finite_difference import differentiate, fornberg_weights
from deepmod.derivatives.stencils import (
    Stencils,
    apply_kernel,
    centred_weights,
    kernel_derivatives,
    stencil_derivatives,
    width_for,
)
from deepmod.equation import Equation, parse_equation
from deepmod.method import RunControl, symbols_for
from deepmod.pde import EquationLines, LearnedStencil, LinesGrid, UniversalPDE, UniversalPDEMethod
from deepmod.pde.coarse import Coarsening, constrained_basis, relative_error
from deepmod.universal.fields import NeuralField

EXACT = 1e-12
"""Float64 agreement of two evaluations of the same weighted sums in a different order (values of order 10-100)."""


def _periodic_reference(u: np.ndarray, order: int, width: int, dx: float, axis: int = 0) -> np.ndarray:
    w = fornberg_weights(0.0, np.arange(-(width // 2), width // 2 + 1, dtype=float), order) / dx**order
    return sum(w[k] * np.roll(u, width // 2 - k, axis=axis) for k in range(width))


@pytest.mark.parametrize("width", [3, 5, 7])
def test_periodic_torch_stencils_equal_numpy_fornberg(width: int) -> None:
    x = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
    dx = x[1] - x[0]
    u = np.sin(x) + 0.3 * np.cos(3 * x)
    stencils = Stencils([dx], [True], width=width)
    for order in range(1, 5):
        got = stencils(torch.as_tensor(u), (order,)).numpy()
        want = _periodic_reference(u, order, width_for(order, width), dx)
        assert np.abs(got - want).max() <= EXACT * max(1.0, np.abs(want).max())


def test_bounded_torch_stencils_equal_numpy_differentiate() -> None:
    """Away from the ends (where numpy slides to one-sided stencils) the torch stencil of width 5 is numpy's
    ``differentiate`` at accuracy 4 for the first and second derivatives (both width 5)."""
    x = np.linspace(0.0, 1.0, 40)
    u = np.exp(x) * np.sin(3 * x)
    stencils = Stencils([x[1] - x[0]], [False], width=5, max_order=2)
    for order in (1, 2):
        got = stencils(torch.as_tensor(u), (order,)).numpy()
        want = differentiate(u, x, order, accuracy=4)[2:-2]
        assert np.abs(got - want).max() <= EXACT * np.abs(want).max()


def test_two_dimensional_stencils_and_kernel() -> None:
    x = np.linspace(0.0, 2 * np.pi, 24, endpoint=False)
    y = np.linspace(0.0, 2 * np.pi, 20, endpoint=False)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    u = np.sin(xx) * np.cos(2 * yy)
    dx, dy = x[1] - x[0], y[1] - y[0]
    stencils = Stencils([dx, dy], [True, True], width=3)
    mixed = stencils(torch.as_tensor(u), (1, 1)).numpy()
    want = _periodic_reference(_periodic_reference(u, 1, 3, dx, axis=0), 1, 3, dy, axis=1)
    assert np.abs(mixed - want).max() <= EXACT
    kernel = np.outer(centred_weights(3, 1), centred_weights(3, 1)) / (dx * dy)
    got = apply_kernel(torch.as_tensor(u), torch.as_tensor(kernel), (0, 1), (True, True)).numpy()
    assert np.abs(got - mixed).max() <= EXACT
    a = kernel_derivatives(kernel, (dx, dy))
    assert a[1, 1] == pytest.approx(1.0, abs=EXACT) and np.abs(np.delete(a.ravel(), 4)).max() <= EXACT


@pytest.mark.parametrize(("width", "order", "accuracy"), [(3, 1, 2), (3, 2, 2), (5, 1, 4), (5, 2, 4)])
def test_stencil_convergence_order(width: int, order: int, accuracy: int) -> None:
    """The error of a centred stencil of width w falls as h^(w - 1) for first and h^(w - 1) for second
    derivatives of a smooth periodic function (both even accuracy); measured slope within 0.1."""
    errors, steps = [], []
    for n in (16, 32, 64):
        x = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
        exact = np.sin(x + 0.5 * np.pi * order)
        got = Stencils([x[1] - x[0]], [True], width=width)(torch.as_tensor(np.sin(x)), (order,)).numpy()
        errors.append(np.abs(got - exact).max())
        steps.append(x[1] - x[0])
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert slope == pytest.approx(accuracy, abs=0.1)


def test_stencil_read_back_is_a_change_of_basis() -> None:
    """Any stencil is exactly the combination of derivatives it approximates: [1, -2, 1] D / dx^2 is D u_xx,
    and on five nodes also D dx^2 / 12 u_xxxx (its truncation error, read back as a term)."""
    dx, d = 0.04, 0.01
    assert stencil_derivatives(np.array([1.0, -2.0, 1.0]) * d / dx**2, dx) == pytest.approx([0, 0, d], abs=EXACT)
    five = stencil_derivatives(np.array([0.0, 1.0, -2.0, 1.0, 0.0]) * d / dx**2, dx)
    assert five == pytest.approx([0, 0, d, 0, d * dx**2 / 12], abs=EXACT)


def test_equation_lines_match_numpy_method_of_lines(discrete_heat: Dataset) -> None:
    data = discrete_heat
    symbols = symbols_for(data)
    lines = EquationLines([Equation("u_t", {"u_xx": 0.05})], symbols, LinesGrid.of(data, (True,)), width=3)
    t = torch.as_tensor(data.coords["t"])
    path = odeint(lines, torch.as_tensor(data.fields["u"][0]), t, rtol=1e-11, atol=1e-13)
    assert np.abs(path.detach().numpy() - data.fields["u"]).max() < 1e-8


def _small_model(data: Dataset) -> UniversalPDE:
    grid = LinesGrid.of(data, (True,))
    known = EquationLines([Equation("u_t", {"u": -0.1})], symbols_for(data), grid, width=3, margin=1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        stencil = LearnedStencil(grid, 3, coefficient_scale=0.01)
        network = NeuralField(1, [0.5], [0.3], [1.0], width=4, depth=1)
        torch.nn.init.normal_(network.net[-1].weight, std=0.3)
    model = UniversalPDE(known, [stencil], network)
    with torch.no_grad():
        stencil.raw.fill_(3.0)
    return model.double()


@pytest.mark.parametrize("solve", [odeint, odeint_adjoint], ids=["direct", "adjoint"])
def test_gradients_through_the_solver_agree_with_finite_differences(solve: object) -> None:
    """d(loss)/d(parameters) through a fixed-step RK4 solve (direct backpropagation, which is the exact gradient
    of the discrete solve, and the adjoint, exact to its own RK4 error: steps of 0.002 make that 1e-4 of
    gradcheck's rtol of 1e-3) against central differences (``torch.autograd.gradcheck``, float64)."""
    data = heat_data(n=12)
    model = _small_model(data)
    u0 = torch.as_tensor(data.fields["u"][0])
    t = torch.linspace(0.0, 0.2, 5, dtype=torch.float64)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    names = [n for n, _ in named]
    inputs = tuple(p.detach().clone().requires_grad_(True) for _, p in named)
    assert torch.autograd.gradcheck(lambda *v: _functional_loss(model, names, v, u0, t, solve), inputs)


def _functional_loss(
    model: UniversalPDE,
    names: list[str],
    values: tuple[torch.Tensor, ...],
    u0: torch.Tensor,
    t: torch.Tensor,
    solve: object,
) -> torch.Tensor:
    """The solution's sum of squares as a function of the parameter values (``torch.func.functional_call``)."""
    state = dict(zip(names, values, strict=True))

    class Field(torch.nn.Module):
        def forward(self, time: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return torch.func.functional_call(model, state, (time, y))

    options = {"step_size": 0.02}
    if solve is odeint_adjoint:  # the adjoint solves its own ODE backwards: exact only as its steps shrink
        options = {"step_size": 0.002}
        path = odeint_adjoint(Field(), u0, t, method="rk4", options=options, adjoint_params=values)
    else:
        path = odeint(Field(), u0, t, method="rk4", options=options)
    return (path**2).sum()


def test_learned_stencil_on_exact_data_gives_the_true_coefficient(discrete_heat: Dataset) -> None:
    """Through the solver, on the exact discrete heat equation, the learned stencil reads back as D u_xx with D
    to 1e-4 relative (the data are exact, so only the optimiser's tolerance is left)."""
    data = discrete_heat
    method = UniversalPDEMethod(reaction=False, adam_iterations=50, lbfgs_iterations=50, max_terms=2)
    result = discover(data, method, method.default_library(data), seed=0)
    stencil = result.settings["learned_stencils"]["u_t"]
    assert stencil["u_xx"] == pytest.approx(0.05, rel=1e-4)
    assert result.equations[0].coefficients == pytest.approx({"u_xx": 0.05}, rel=1e-4)


@pytest.mark.parametrize(("order", "accuracy"), [(1, 1), (2, 1), (1, 2)])
def test_constrained_stencils_stay_exact_on_low_polynomials(order: int, accuracy: int) -> None:
    """Whatever the network adds (any combination of the null-space basis), the stencil still differentiates
    every polynomial of degree below order + accuracy exactly (to rounding)."""
    base, null = constrained_basis(5, order, accuracy)
    nodes = np.arange(-2.0, 3.0)
    stencil = base + null @ np.random.default_rng(0).standard_normal(null.shape[1])
    for degree in range(order + accuracy):
        exact = math.factorial(order) if degree == order else 0.0  # d^m x^n / dx^m at x = 0
        assert stencil @ nodes**degree == pytest.approx(exact, abs=1e-12)


def _burgers_runs(runs: int, seed: int) -> Dataset:
    return burgers_periodic(runs=runs, viscosity=0.05, n_x=128, t=np.linspace(0, 1, 11), seed=seed, resolution=256).data


def test_coarse_network_starts_as_fornberg_and_learns_a_better_discretization() -> None:
    """At initialisation the learned discretization is the Fornberg one; after a short training on 3 runs of
    viscous Burgers its held-out rollout on a grid 4x coarser beats Fornberg's of the same width."""
    train, test = _burgers_runs(3, 0), _burgers_runs(1, 1)
    symbols = symbols_for(train)
    equation = parse_equation("u_t = 0.05*u_xx - u*u_x", symbols)
    untrained = Coarsening(iterations=0).fit(train, equation, symbols)
    u = torch.as_tensor(test.fields["u"][:, ::4])
    zero = torch.zeros(())
    assert torch.allclose(untrained.lines(zero, u), untrained.baseline(zero, u), rtol=0, atol=EXACT)
    model = Coarsening(iterations=300).fit(train, equation, symbols)
    reference = test.fields["u"][:, ::4]
    t = test.coords["t"]
    learned = relative_error(model.rollout(reference[0], t), reference)
    fornberg = relative_error(model.rollout(reference[0], t, learned=False), reference)
    assert learned < fornberg


@pytest.mark.slow
def test_ude_paper_fisher_kpp_is_read_back_from_stencil_and_network() -> None:
    """The UDE paper's Fisher-KPP at 1 % noise (noise seed 0), everything learned but the form u_t = stencil(u) +
    N(u), defaults: exactly u_xx, u, u^2 with D within 2 % of 0.01 and r within 5 % of 1 (the acceptance line;
    benchmarks/upde.py runs five seeds)."""
    system = fisher_kpp_discrete()
    data = add_noise(system.data, 0.01, seed=0)
    method = UniversalPDEMethod()
    found = discover(data, method, method.default_library(data), seed=0).equations[0].coefficients
    assert set(found) == {"u_xx", "u", "u^2"}
    assert found["u_xx"] == pytest.approx(0.01, rel=0.02)
    assert found["u"] == pytest.approx(1.0, rel=0.05) and found["u^2"] == pytest.approx(-1.0, rel=0.05)


def test_two_dimensional_learned_kernel_reads_back_as_the_laplacian() -> None:
    """A 3x3 learned kernel on the exact discrete 2-D heat equation (five-point Laplacian, D = 0.05) is read back
    through the regression on u_xx, u_yy, u_xy, ... as D u_xx + D u_yy (to 1e-3 relative: 30 iterations a stage)."""
    n = 12
    x = np.linspace(0.0, 1.0, n, endpoint=False)
    dx = x[1] - x[0]
    t = np.linspace(0.0, 0.2, 11)
    xx, yy = np.meshgrid(x, x, indexing="ij")

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        u = y.reshape(n, n)
        lap = np.roll(u, 1, 0) + np.roll(u, -1, 0) + np.roll(u, 1, 1) + np.roll(u, -1, 1) - 4 * u
        return (0.05 * lap / dx**2).ravel()

    u0 = np.exp(-((xx - 0.5) ** 2 + (yy - 0.4) ** 2) / 0.02).ravel()
    u = solve_ivp(rhs, (0.0, 0.2), u0, t_eval=t, rtol=1e-10, atol=1e-12).y.T.reshape(-1, n, n)
    data = Dataset({"t": t, "x": x, "y": x}, {"u": u}, grid=True, source="discrete 2-D heat")
    method = UniversalPDEMethod(reaction=False, collocation_iterations=200, adam_iterations=30, lbfgs_iterations=30)
    found = discover(data, method, method.default_library(data)).equations[0].coefficients
    assert found == pytest.approx({"u_xx": 0.05, "u_yy": 0.05}, rel=1e-3)


def test_a_stop_request_ends_training_and_skips_the_refits(discrete_heat: Dataset) -> None:
    """Ctrl-C (the stop event) during training: training through the solver ends at once, the result is the
    learned part's read-back after collocation, marked interrupted and said to be not refitted (no refit runs)."""
    stop = threading.Event()
    stop.set()
    method = UniversalPDEMethod(reaction=False, collocation_iterations=300)
    result = discover(discrete_heat, method, method.default_library(discrete_heat), control=RunControl(stop=stop))
    assert result.status == "interrupted" and any("not refitted" in w or "read-back" in w for w in result.warnings)
    assert result.evidence.candidates == []
    assert "u_xx" in result.equations[0].coefficients  # collocation alone: 0.039 from 11 snapshots
