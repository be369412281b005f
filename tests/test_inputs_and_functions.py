"""Coordinates, functions and input fields in the library: the term algebra, the evaluator's derivatives, and
the cases they exist for (a complex field in a potential, a driven diffusion, a pendulum, a forced oscillator),
through the Python API and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import deepmod
from deepmod.classical import FiniteDifferences, WeakForm
from deepmod.cli import main
from deepmod.data import Dataset
from deepmod.data.sampling import add_noise
from deepmod.data.synthetic import driven_diffusion, quantum_oscillator
from deepmod.equation import Equation
from deepmod.library import TermEvaluator
from deepmod.terms import Symbols

S = Symbols(fields=("u", "V"), space=("x",), inputs=("V",))


def _within(coefficients: dict[str, dict[str, float]], truth: dict[str, dict[str, float]], tol: float) -> bool:
    """Exactly the true terms, each coefficient within ``tol`` (relative)."""
    return all(
        set(coefficients.get(lhs, {})) == set(terms)
        and all(abs(coefficients[lhs][k] - v) <= tol * abs(v) for k, v in terms.items())
        for lhs, terms in truth.items()
    ) and set(coefficients) == set(truth)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("x^2*u", "x^2*u"),
        ("u*x^2", "x^2*u"),
        ("t*u", "t*u"),
        ("sin(u)", "sin(u)"),
        ("u_xx*exp(u)", "exp(u)*u_xx"),
        ("u^-1", "u^-1"),
        ("abs(u)^2", "abs(u)^2"),
        ("V*u", "u*V"),
        ("u*u^-1", "1"),
        ("cos(x)*V", "cos(x)*V"),
    ],
)
def test_coordinate_function_and_input_names_are_canonical(name: str, canonical: str) -> None:
    assert S.name(S.parse(name)) == canonical
    assert S.name(S.parse(canonical)) == canonical


@pytest.mark.parametrize("bad", ["x_x", "sin(u_x)", "tan(u)", "u^0", "sin(w)", "exp(u"])
def test_bad_factors_are_refused_with_the_accepted_forms(bad: str) -> None:
    with pytest.raises(ValueError):
        S.parse(bad)


def test_inputs_must_be_the_last_fields_and_leave_a_field_to_fit() -> None:
    with pytest.raises(ValueError, match="last"):
        Symbols(fields=("V", "u"), space=("x",), inputs=("V",))
    with pytest.raises(ValueError, match="last"):
        Symbols(fields=("V",), space=("x",), inputs=("V",))
    assert S.targets == ("u",)


def test_function_terms_and_their_partials_agree_with_numbers_and_finite_differences() -> None:
    """Values by the evaluator equal numpy's; the simulator's partials equal central differences of the term
    (step 1e-6, float64: agreement to 1e-6 relative), the chain rule through functions and negative powers
    included; coordinates are no state and have no partial."""
    rng = np.random.default_rng(0)
    u, ux, x = rng.uniform(0.5, 2.0, 50), rng.normal(size=50), rng.normal(size=50)
    terms = [S.parse(n) for n in ("sin(u)*u_x", "u^-2*u_x", "exp(u)", "x^2*abs(u)", "log(u)*u")]
    values = {(0, (0,)): u, (0, (1,)): ux, (-2, (0,)): x}
    columns = TermEvaluator(terms).columns(values)
    expected = [np.sin(u) * ux, ux / u**2, np.exp(u), x**2 * np.abs(u), np.log(u) * u]
    for got, want in zip(columns, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    evaluator, step = TermEvaluator(terms), 1e-6
    for j in range(len(terms)):
        by_base: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}
        for factor, partial in evaluator.partials(values, j):  # log(u)*u: two factors of one base add up
            assert factor.field >= 0
            key = (factor.field, factor.derivative)
            by_base[key] = by_base.get(key, 0.0) + partial
        for key, partial in by_base.items():
            up, down = dict(values), dict(values)
            up[key], down[key] = values[key] + step, values[key] - step
            numeric = (evaluator.columns(up)[j] - evaluator.columns(down)[j]) / (2 * step)
            np.testing.assert_allclose(partial, numeric, rtol=1e-6, atol=1e-8)


def test_functions_of_network_values_see_physical_units() -> None:
    """A network's u is in units of its RMS: ``units`` restores the physical value inside a function (sin u is
    not sin(u / s)); torch and numpy agree."""
    u = np.linspace(0.1, 3.0, 20)
    scale = 2.5
    theta = TermEvaluator([S.parse("sin(u)")], units=[scale, 1.0]).matrix({(0, (0,)): torch.as_tensor(u / scale)})
    np.testing.assert_allclose(theta.numpy()[:, 0], np.sin(u), rtol=1e-12)


def test_quantum_oscillator_from_a_complex_array_by_the_weak_method(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """i u_t = -u_xx / 2 + x^2 u / 2 at 2 % noise on both parts, split by selectors, the potential as
    coordinate terms: exactly a_t = -0.5 b_xx + 0.5 x^2*b, b_t = 0.5 a_xx - 0.5 x^2*a within 2 %."""
    system = quantum_oscillator()
    noisy = add_noise(system.data, 0.02, seed=0)
    psi = noisy.fields["a"] + 1j * noisy.fields["b"]
    np.savez(tmp_path / "qho.npz", t=noisy.coords["t"], x=noisy.coords["x"], psi=psi)
    out = tmp_path / "qho.json"
    argv = ["discover", str(tmp_path / "qho.npz"), "--coords", "t,x", "--fields", "a=psi.real,b=psi.imag"]
    argv += ["--term", "x^2*a", "--term", "x^2*b", "--method", "weak", "--output", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    found = json.loads(out.read_text())["equations"]
    assert _within(found, system.truth, 0.02), found


@pytest.mark.parametrize("method", [WeakForm(), FiniteDifferences()])
def test_driven_diffusion_with_the_potential_as_an_input(method: deepmod.Method) -> None:
    """u_t = 0.1 u_xx - V u, V(t, x) a travelling input, 1 % noise on u and V: exact within 5 % by weak and
    fd, and no equation for V."""
    system = driven_diffusion()
    data = add_noise(system.data, 0.01, seed=0)
    result = deepmod.discover(data, method)
    assert _within(result.coefficients, system.truth, 0.05), result.coefficients


def test_an_input_is_simulated_from_the_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The true driven equation simulated with V taken from the data where it varies (a spline in time) matches
    the data to 1e-4; the CLI needs V named as an input, and says so."""
    system = driven_diffusion(n_x=64, n_t=41)
    data = system.data
    np.savez(tmp_path / "d.npz", t=data.coords["t"], x=data.coords["x"], u=data.fields["u"], V=data.fields["V"])
    result = deepmod.Result([Equation(k, v) for k, v in system.truth.items()], "truth", [], symbols=S)
    sim = result.simulate(data)
    assert sim.status == "success" and sim.inputs == ("V",)
    assert sim.relative_error(data) < 1e-4
    result.save(tmp_path / "r.json")
    base = ["simulate", str(tmp_path / "r.json"), str(tmp_path / "d.npz"), "--coords", "t,x", "--quiet"]
    assert main([*base, "--fields", "u"]) == 2
    assert "named as inputs" in capsys.readouterr().err
    assert main([*base, "--fields", "u", "--inputs", "V"]) == 0
    assert float(capsys.readouterr().out.split(":")[1]) < 1e-4


def test_pendulum_by_a_function_of_the_state() -> None:
    """theta_t = omega, omega_t = -2 sin(theta) at amplitudes near 2.5 rad, where sin is far from linear: with
    sin(theta) in the library the weak method finds it (within 2 %) and no polynomial stand-in."""
    from scipy.integrate import solve_ivp

    t = np.linspace(0.0, 10.0, 501)
    sol = solve_ivp(lambda _t, s: [s[1], -2.0 * np.sin(s[0])], (0, 10), [2.5, 0.0], t_eval=t, rtol=1e-10, atol=1e-12)
    data = Dataset({"t": t}, {"theta": sol.y[0], "omega": sol.y[1]}, grid=True)
    result = deepmod.discover(data, WeakForm(), extra_terms=["sin(theta)"])
    truth = {"theta_t": {"omega": 1.0}, "omega_t": {"sin(theta)": -2.0}}
    assert _within(result.coefficients, truth, 0.02), result.coefficients


def test_a_forced_oscillator_with_the_force_as_an_input() -> None:
    """x_t = v, v_t = -x - 0.2 v + F(t) with a given F = cos(1.3 t): the ODE's input enters as a term."""
    from scipy.integrate import solve_ivp

    t = np.linspace(0.0, 20.0, 801)

    def rhs(time: float, s: np.ndarray) -> list[float]:
        return [s[1], -s[0] - 0.2 * s[1] + np.cos(1.3 * time)]

    sol = solve_ivp(rhs, (0, 20), [1.0, 0.0], t_eval=t, rtol=1e-10, atol=1e-12)
    data = Dataset({"t": t}, {"x": sol.y[0], "v": sol.y[1], "F": np.cos(1.3 * t)}, grid=True, inputs=("F",))
    result = deepmod.discover(data, WeakForm(), poly_order=1)
    truth = {"x_t": {"v": 1.0}, "v_t": {"x": -1.0, "v": -0.2, "F": 1.0}}
    assert _within(result.coefficients, truth, 0.02), result.coefficients


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--inputs", "W"], "no array named 'W'"),
        (["--inputs", "u"], "named as a field and as an input"),
        (["--term", "u^-1"], "not finite"),
        (["--term", "x_x"], "differentiates the coordinate"),
        (["--term", "tan(u)"], "functions: sin"),
    ],
)
def test_bad_inputs_and_terms_exit_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t, x = np.linspace(0, 1, 30), np.linspace(0, 2 * np.pi, 40, endpoint=False)
    u = np.sin(np.add.outer(t, x))
    np.savez(tmp_path / "d.npz", t=t, x=x, u=u, V=np.cos(np.add.outer(t, x)))
    code = main(["discover", str(tmp_path / "d.npz"), "--coords", "t,x", "--fields", "u", "--method", "weak", *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_several_trajectories_in_one_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Three short Lotka-Volterra runs from different starts, 1 % noise, in one long CSV with a run column: weak
    and fd stack them and find the exact terms within 5 % (measured: 0.3 % by weak; the first run alone gives
    weak a 4-term prey equation); DeepMoD says it fits one trajectory."""
    from scipy.integrate import solve_ivp

    t = np.linspace(0.0, 2.0, 41)
    rng = np.random.default_rng(0)
    rows = []
    for run, start in enumerate(([0.5, 4.0], [3.0, 1.0], [1.5, 0.5])):
        sol = solve_ivp(
            lambda _t, s: [1.3 * s[0] - 0.9 * s[0] * s[1], 0.8 * s[0] * s[1] - 1.8 * s[1]],
            (0, 2),
            start,
            t_eval=t,
            rtol=1e-10,
            atol=1e-12,
        )
        noisy = sol.y + 0.01 * sol.y.std(axis=1, keepdims=True) * rng.standard_normal(sol.y.shape)
        rows += [f"{run},{ti},{x},{y}" for ti, x, y in zip(t, *noisy, strict=True)]
    (tmp_path / "runs.csv").write_text("run, t, prey, predator\n" + "\n".join(rows) + "\n")
    truth = {"prey_t": {"prey": 1.3, "prey*predator": -0.9}, "predator_t": {"prey*predator": 0.8, "predator": -1.8}}
    base = ["discover", str(tmp_path / "runs.csv"), "--coords", "t", "--fields", "prey,predator", "--trajectory", "run"]
    for method in ("weak", "fd"):
        out = tmp_path / f"{method}.json"
        assert main([*base, "--method", method, "--output", str(out), "--quiet"]) == 0
        found = json.loads(out.read_text())["equations"]
        assert _within(found, truth, 0.05), (method, found)
    capsys.readouterr()
    assert main([*base, "--quiet"]) == 2
    assert "fits one trajectory" in capsys.readouterr().err


def test_deepmod_maps_coordinate_and_function_terms_to_physical_units() -> None:
    """DeepMoD's Theta is built on normalised coordinates and fields; with coordinates and functions taken in
    physical units, its least-squares coefficients times the physical factors equal the least squares on the
    physical columns built by hand from the same network (float64, agreement to 1e-8)."""
    from deepmod.approximators import MLP
    from deepmod.library import PolynomialLibrary
    from deepmod.neural.deepmod import physical_factors
    from deepmod.neural.schedule import Normalisation
    from deepmod.neural.training import evaluate, jet_spec_for

    symbols = Symbols(fields=("u",), space=("x",))
    library = PolynomialLibrary(symbols, 1, 2, extra_terms=["x^2*u", "sin(u)", "t*u_x"])
    rng = np.random.default_rng(0)
    x_phys = np.stack([rng.uniform(1.0, 3.0, 200), rng.uniform(-4.0, 6.0, 200)], axis=1)
    norm = Normalisation.fit(x_phys, 3.0 * rng.standard_normal((200, 1)))
    model = MLP(2, 1, fuse=False).double()
    x_norm = torch.as_tensor((x_phys - norm.centre) / norm.half_width)
    spec = jet_spec_for(library, 2)
    with torch.no_grad():
        values, u_t, theta = evaluate(model, library, spec, x_norm, norm)
        jets = model.jets(x_norm, spec)
    xi = np.linalg.lstsq(theta.numpy(), u_t[:, 0].numpy(), rcond=None)[0] * physical_factors(library, norm)[0]
    s_u, (h_t, h_x) = norm.field_scale[0], norm.half_width
    u = s_u * values[:, 0].numpy()
    u_x = s_u / h_x * spec.derivative(jets, (0, 1))[:, 0].numpy()
    u_xx = s_u / h_x**2 * spec.derivative(jets, (0, 2))[:, 0].numpy()
    t, x = x_phys[:, 0], x_phys[:, 1]
    by_name = {
        "1": np.ones_like(u),
        "u": u,
        "u_x": u_x,
        "u*u_x": u * u_x,
        "u_xx": u_xx,
        "u*u_xx": u * u_xx,
        "x^2*u": x**2 * u,
        "sin(u)": np.sin(u),
        "t*u_x": t * u_x,
    }
    physical = np.stack([by_name[n] for n in library.names], axis=1)
    expected = np.linalg.lstsq(physical, s_u / h_t * u_t[:, 0].numpy(), rcond=None)[0]
    np.testing.assert_allclose(xi, expected, rtol=1e-8, atol=1e-10)
