"""Physics-informed networks: the safe expressions, exact periodic features, a forward solve and a calibration
on analytic cases, and the CLI's bad input."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

import deepmod
import deepmod.ensemble
from deepmod.approximators import PeriodicMLP
from deepmod.cli import main
from deepmod.control import RunControl, Step
from deepmod.data import Dataset
from deepmod.derivatives.taylor import JetSpec
from deepmod.equation import parse_parametric
from deepmod.errors import InputError
from deepmod.expression import Expression
from deepmod.pinn import PINN, Box, PinnProblem, Sampling, Values
from deepmod.pinn.problem import period_end
from deepmod.pinn.solver import Losses
from deepmod.terms import Symbols

S = Symbols(("u",), ("x",))
SHORT = PINN(
    sampling=Sampling(collocation=1000, adaptive=200),
    adam_iterations=800,
    lbfgs_iterations=800,
    hidden=(20, 20, 20),
    bootstrap=3,
    refit_iterations=50,
)
"""A short training for the analytic cases: 800 Adam, 800 L-BFGS, 1,000 + 200 points, 3 x 20; 3 refits of 50
steps for the std."""


@pytest.mark.parametrize(
    "bad", ["__import__('os')", "x.real", "open(x)", "y", "lambda: 1", "sin(x, 2)", "[x]", "x if x else 1", "'a'"]
)
def test_expressions_allow_only_arithmetic_on_known_names(bad: str) -> None:
    with pytest.raises(ValueError):
        Expression.parse(bad, ["t", "x"])


def test_expressions_evaluate_with_numpy() -> None:
    e = Expression.parse("-sin(pi*x) + exp(-t)*tanh(x)^2 + sqrt(abs(x))", ["t", "x"])
    x, t = np.linspace(-1, 1, 7), 0.3
    np.testing.assert_allclose(
        e({"t": t, "x": x}), -np.sin(np.pi * x) + np.exp(-t) * np.tanh(x) ** 2 + np.sqrt(np.abs(x))
    )


def test_periodic_features_give_exact_periodic_derivatives() -> None:
    """The network's jets equal nested autograd in float64 (to 1e-10), and the value and every derivative agree
    at s = -1 and s = 1 (one period)."""
    torch.manual_seed(0)
    model = PeriodicMLP(1, (False, True), (16, 16), fuse=False).double()
    x = torch.tensor([[0.3, -1.0], [0.3, 1.0], [-0.2, 0.4]], dtype=torch.float64, requires_grad=True)
    spec = JetSpec([(1, 0), (0, 3), (1, 1)], 2)
    jets = model.jets(x, spec)
    u = model(x)[:, 0]
    (du,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    (dxx,) = torch.autograd.grad(du[:, 1].sum(), x, create_graph=True)
    (dxxx,) = torch.autograd.grad(dxx[:, 1].sum(), x, create_graph=True)
    for index, want in (((1, 0), du[:, 0]), ((0, 1), du[:, 1]), ((0, 3), dxxx[:, 1]), ((1, 1), dxx[:, 0])):
        np.testing.assert_allclose(spec.derivative(jets, index)[:, 0].detach(), want.detach(), atol=1e-10)
    for index in spec.indices:
        d = spec.derivative(jets, index)[:, 0].detach()
        assert abs(float(d[0] - d[1])) < 1e-10


def _heat(unknown: bool) -> PinnProblem:
    """u_t = 0.2 u_xx on [0, pi] x [0, 1], u0 = sin(x), u(0) = u(pi) = 0: u = exp(-0.2 t) sin(x)."""
    box = Box(("t", "x"), (0.0, 0.0), (1.0, np.pi))
    data = None
    if unknown:
        rng = np.random.default_rng(0)
        t, x = rng.uniform(0, 1, 500), rng.uniform(0, np.pi, 500)
        data = Dataset({"t": t, "x": x}, {"u": np.exp(-0.2 * t) * np.sin(x)}, grid=False)
    eq = parse_parametric("u_t = nu*u_xx" if unknown else "u_t = 0.2*u_xx", S, ["nu"] if unknown else [])
    return PinnProblem(
        (eq,),
        S,
        box,
        [Values.parse("u = sin(x)", S)],
        [Values.parse("u = 0", S)],
        data,
        {"nu": 0.05} if unknown else {},
    )


def test_a_forward_solve_of_the_heat_equation() -> None:
    """A short training (800 Adam, 800 L-BFGS, 1,000 points) solves the heat equation to 1e-3 (relative L2,
    measured 2e-4); the boundary values are met to 1e-3 of the field's size. Its float32 L-BFGS stalls
    (measured at about 1,000 of its 1,600 iterations: the steps fall below float32's resolution); training goes
    on in float64 and stops when the loss levels off, before the budget."""
    fit = SHORT.solve(_heat(False))
    assert next(fit.model.parameters()).dtype == torch.float64
    assert fit.history.iterations[-1] < SHORT.adam_iterations + SHORT.lbfgs_iterations
    t, x = np.linspace(0, 1, 11), np.linspace(0, np.pi, 31)
    sol = fit.on_grid({"t": t, "x": x}).fields["u"]
    exact = np.exp(-0.2 * t)[:, None] * np.sin(x)[None, :]
    assert np.linalg.norm(sol - exact) / np.linalg.norm(exact) < 1e-3
    assert np.abs(sol[:, [0, -1]]).max() < 1e-3
    assert fit.residual() < 1e-2


def test_refine_adds_points_once_float64_makes_no_progress() -> None:
    """With ``refine``, the short training's float64 continuation (after float32's stall) makes no progress, so
    the adaptive count of points joins, none of them a collocation point already; the solution stays within
    1e-3."""
    refined = replace(SHORT, refine=True, bootstrap=0).solve(_heat(False))
    points = refined.losses.points.collocation
    assert len(points) == SHORT.sampling.collocation + 2 * SHORT.sampling.adaptive
    assert len(torch.unique(points, dim=0)) == len(points)
    t, x = np.linspace(0, 1, 11), np.linspace(0, np.pi, 31)
    exact = np.exp(-0.2 * t)[:, None] * np.sin(x)[None, :]
    sol = refined.on_grid({"t": t, "x": x}).fields["u"]
    assert np.linalg.norm(sol - exact) / np.linalg.norm(exact) < 1e-3


def test_adaptive_points_are_new_points() -> None:
    """Candidates that are collocation points already are not added again."""
    fit = replace(SHORT, adam_iterations=10, lbfgs_iterations=10, bootstrap=0).solve(_heat(False))
    losses = fit.losses
    before = losses.points.collocation
    extra = before[:5] + 0.01
    losses.add_collocation(torch.cat([before, extra]), 20)
    assert torch.equal(losses.points.collocation[: len(before)], before)
    assert torch.equal(
        torch.sort(losses.points.collocation[len(before) :], dim=0).values, torch.sort(extra, dim=0).values
    )


def test_a_calibration_on_clean_data_is_exact() -> None:
    """nu of the heat equation from 500 clean scattered samples, started at a quarter of its value: within 1e-3
    (relative), with a finite standard deviation."""
    fit = SHORT.solve(_heat(True))
    nu = fit.parameters()["nu"]
    assert abs(nu["value"] - 0.2) < 2e-4, nu
    assert np.isfinite(nu["std"]) and nu["std"] > 0
    result = fit.result()
    assert result.coefficients == {"u_t": {"u_xx": pytest.approx(nu["value"])}}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--domain", "t=0:1,x=1"], "NAME=LOW:HIGH"),
        (["--domain", "t=0:1,x=-1:1", "--initial", "u = sin(y)"], "unknown name 'y'"),
        (["--domain", "t=0:1,x=-1:1", "--initial", "u = sin(x)", "--unknown", "nu"], "names the equations use"),
        (["--domain", "t=0:1,x=-1:1", "--initial", "v = sin(x)"], "not a condition"),
        (["--initial", "u = sin(x)"], "give the domain"),
        (["--domain", "t=0:1,x=-1:1", "--initial", "u = sin(x)", "--data-weight", "0"], "positive weight"),
    ],
)
def test_pinn_bad_input_exits_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["pinn", "u_t = 0.1*u_xx", "--boundary", "u = 0", *args, "--output", str(tmp_path / "r.json")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_pinn_cli_writes_the_result_and_the_solution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A short run (60 steps of each stage) writes the equation, the residual and the solution on the asked
    grid; the solution is already near the exact one (relative L2 under 0.2)."""
    out, sol = tmp_path / "r.json", tmp_path / "sol.npz"
    argv = ["pinn", "u_t = 0.2*u_xx", "--domain", "t=0:1,x=0:3.141592653589793", "--initial", "u = sin(x)"]
    argv += ["--boundary", "u = 0", "--max-iterations", "60", "--grid", "11x21", "--quiet"]
    assert main([*argv, "--output", str(out), "--solution", str(sol)]) == 0
    assert "u_t = 0.2 u_xx" in capsys.readouterr().out
    written = json.loads(out.read_text())
    assert written["equations"] == {"u_t": {"u_xx": 0.2}} and written["method"] == "pinn"
    assert np.isfinite(written["settings"]["residual"])
    exact = np.exp(-0.2 * np.linspace(0, 1, 11))[:, None] * np.sin(np.linspace(0, np.pi, 21))[None, :]
    with np.load(sol) as arrays:
        assert arrays["u"].shape == (11, 21) and set(arrays) == {"t", "x", "u"}
        assert np.linalg.norm(arrays["u"] - exact) / np.linalg.norm(exact) < 0.2


@pytest.mark.slow
def test_identification_from_scattered_samples_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Raissi's identification setting through the CLI: no initial or boundary values, only 800 clean scattered
    samples of u = exp(-0.2 t) sin(x) and the residual; nu from a start of 0.05 to within 1 % in 400 + 400
    steps, with its std in the JSON."""
    rng = np.random.default_rng(1)
    t, x = rng.uniform(0, 1, 800), rng.uniform(0, np.pi, 800)
    np.savez(tmp_path / "s.npz", t=t, x=x, u=np.exp(-0.2 * t) * np.sin(x))
    out = tmp_path / "r.json"
    argv = ["pinn", "u_t = nu*u_xx", "--data", str(tmp_path / "s.npz"), "--coords", "t,x", "--fields", "u"]
    argv += ["--unknown", "nu=0.05", "--max-iterations", "400", "--quiet", "--output", str(out)]
    assert main(argv) == 0
    assert "nu = " in capsys.readouterr().out
    nu = json.loads(out.read_text())["settings"]["parameters"]["nu"]
    assert abs(nu["value"] - 0.2) < 2e-3 and nu["std"] > 0, nu


def test_initial_and_boundary_values_from_a_data_grid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--initial data --boundary data`` take the grid's first snapshot and its edges (a first snapshot is one
    time, fewer than a data set may hold, so it is read as points), and the error against the data is
    reported."""
    t, x = np.linspace(0, 1, 11), np.linspace(0, np.pi, 21)
    np.savez(tmp_path / "g.npz", t=t, x=x, u=np.exp(-0.2 * t)[:, None] * np.sin(x)[None, :])
    out = tmp_path / "r.json"
    argv = ["pinn", "u_t = 0.2*u_xx", "--data", str(tmp_path / "g.npz"), "--coords", "t,x", "--fields", "u"]
    assert (
        main(
            [
                *argv,
                "--initial",
                "data",
                "--boundary",
                "data",
                "--max-iterations",
                "20",
                "--quiet",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    assert "relative L2 error against the data" in capsys.readouterr().out
    assert np.isfinite(json.loads(out.read_text())["settings"]["data_error"])


def test_a_periodic_grid_without_its_end_point_spans_one_period() -> None:
    """A periodic field on a uniform grid that leaves the end point out (n dx = 2 pi) gets the period 2 pi,
    not the grid's span; one that repeats the first point at the end gets the span."""
    t = np.linspace(0, 1, 4)
    for x, end in ((np.linspace(0, 2 * np.pi, 32, endpoint=False), 2 * np.pi), (np.linspace(0, 2 * np.pi, 33), None)):
        u = np.exp(-t)[:, None] * np.sin(x)[None, :]
        box = Box.of(Dataset({"t": t, "x": x}, {"u": u}, grid=True), periodic=True)
        assert box.upper[1] == pytest.approx(x[-1] if end is None else end)
    assert period_end(Dataset({"t": t, "x": x}, {"u": u}, grid=True), 1, "x") == pytest.approx(x[-1])


def test_report_shows_a_pinn_solution_against_the_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``deepmod report`` on a PINN's result and solution, with the data as reference: the solution, its residual
    map and its error against the data."""
    t, x = np.linspace(0, 1, 11), np.linspace(0, np.pi, 21)
    np.savez(tmp_path / "g.npz", t=t, x=x, u=np.exp(-0.2 * t)[:, None] * np.sin(x)[None, :])
    out, sol, page = tmp_path / "r.json", tmp_path / "sol.npz", tmp_path / "r.html"
    common = ["--coords", "t,x", "--fields", "u", "--quiet"]
    argv = ["pinn", "u_t = 0.2*u_xx", "--data", str(tmp_path / "g.npz"), *common, "--max-iterations", "40"]
    assert main([*argv, "--output", str(out), "--solution", str(sol)]) == 0
    argv = ["report", str(out), str(sol), *common, "--reference", str(tmp_path / "g.npz"), "--no-simulation"]
    assert main([*argv, "--output", str(page)]) == 0
    text = page.read_text()
    for part in ("Solution (the PINN", "Residual map", "Solution against the data", "Relative L2 error of the"):
        assert part in text, part


def test_an_interrupted_pinn_resumes_to_the_same_solution(tmp_path: Path) -> None:
    """A run stopped in its Adam stage writes a checkpoint; going on from it ends where an uninterrupted run
    ends (the same weights, points and Adam moments: bit for bit); a checkpoint of another problem is refused."""
    stop, ckpt = threading.Event(), tmp_path / "pinn.ckpt"

    class StopAt100:
        def on_start(self, total: int) -> None: ...
        def on_end(self, status: str) -> None: ...
        def on_step(self, step: Step) -> None:
            if step.iteration >= 100:
                stop.set()

    settings = replace(SHORT, adam_iterations=200, lbfgs_iterations=50)
    problem = _heat(True)
    cut = settings.solve(problem, control=RunControl([StopAt100()], stop, ckpt))  # type: ignore[list-item]
    assert cut.status == "interrupted" and ckpt.is_file()
    resumed = settings.solve(problem, control=RunControl(resume=ckpt))
    whole = settings.solve(problem)
    assert resumed.status == "converged" and resumed.history.iterations[0] > 100
    assert resumed.parameters()["nu"]["value"] == whole.parameters()["nu"]["value"]
    with pytest.raises(InputError, match="other data"):
        settings.solve(_heat(False), control=RunControl(resume=ckpt))


def test_causal_weights_count_a_slice_once_the_earlier_ones_are_resolved() -> None:
    """Slice i of the span weighs exp(-eps * sum of the earlier slices' mean squares): with every mean square
    1, the weighted mean is the mean of exp(-eps i); eps = 0 gives the plain mean."""
    losses = Losses.__new__(Losses)
    time = torch.linspace(-1, 1, 320, dtype=torch.float64)
    squares = torch.ones(320, 1, dtype=torch.float64)
    for eps in (0.0, 0.5):
        losses.causal = eps
        want = np.mean(np.exp(-eps * np.arange(32)))
        assert float(losses.causal_mean(squares, time)) == pytest.approx(want)


@pytest.mark.parametrize("pairs", [3, 7, 20])
def test_the_compact_lbfgs_direction_is_the_two_loop_recursions(pairs: int) -> None:
    """The compact representation's ``-H g`` equals the two-loop recursion's, the history's ring wrapped or
    not (7 pairs kept)."""
    from deepmod.pinn.optim import CompactLBFGS

    gen = torch.Generator().manual_seed(pairs)
    n, kept = 40, 7
    a = torch.randn(n, n, dtype=torch.float64, generator=gen)
    a = a @ a.T + n * torch.eye(n, dtype=torch.float64)
    optimiser = CompactLBFGS([torch.zeros(n, dtype=torch.float64)], 10, history=kept)
    steps = [torch.randn(n, dtype=torch.float64, generator=gen) for _ in range(pairs)]
    for s in steps:
        optimiser.remember(s, a @ s)
    history = [(s, a @ s) for s in steps[-kept:]]
    g = torch.randn(n, dtype=torch.float64, generator=gen)
    q, alphas = g.clone(), []
    for s, y in reversed(history):
        alphas.append((s @ q) / (y @ s))
        q -= alphas[-1] * y
    r = q * (history[-1][0] @ history[-1][1]) / (history[-1][1] @ history[-1][1])
    for (s, y), alpha in zip(history, reversed(alphas), strict=True):
        r += s * (alpha - (y @ r) / (y @ s))
    assert torch.allclose(optimiser.direction(g), -r, rtol=1e-10, atol=1e-14)


def test_the_pinn_is_a_method_that_ensembles_run_like_the_others() -> None:
    """``PinnIdentification`` through ``deepmod.discover`` gives the bits of ``PINN.solve`` on the same problem
    (the samples alone fix the solution); an ensemble of it draws the samples with replacement and reports nu
    with an interval (2 members of 300 + 300 steps on 800 clean samples of u = exp(-0.2 t) sin(x))."""
    rng = np.random.default_rng(1)
    t, x = rng.uniform(0, 1, 800), rng.uniform(0, np.pi, 800)
    samples = Dataset({"t": t, "x": x}, {"u": np.exp(-0.2 * t) * np.sin(x)}, grid=False)
    settings = replace(SHORT, adam_iterations=300, lbfgs_iterations=300, bootstrap=0)
    symbols = deepmod.symbols_for(samples)
    equations = (parse_parametric("u_t = nu*u_xx", symbols, ["nu"]),)
    method = deepmod.PinnIdentification(equations, {"nu": 0.05}, settings)
    found = deepmod.discover(samples, method, seed=0)
    direct = settings.solve(PinnProblem(equations, symbols, Box.of(samples), None, None, samples, {"nu": 0.05}))
    assert found.method == "pinn" and found.coefficients == direct.result().coefficients
    assert abs(found.coefficients["u_t"]["u_xx"] - 0.2) < 0.01
    result = deepmod.ensemble.ensemble(samples, method, members=2, seed=0)
    nu = result.uncertainty["u_t"]["u_xx"]
    assert nu.inclusion == 1.0 and nu.interval[0] <= nu.median <= nu.interval[1]
    assert abs(result.coefficients["u_t"]["u_xx"] - 0.2) < 0.01
