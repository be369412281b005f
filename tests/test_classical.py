"""Weak-form and finite-difference discovery, Savitzky-Golay derivatives and cross-validated selection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deepmod.api import discover, make_library
from deepmod.classical import FiniteDifferences, WeakForm
from deepmod.cli import main
from deepmod.data import Dataset, add_noise, save_npz
from deepmod.data.synthetic import burgers_delta, fisher_kpp, lorenz, reaction_diffusion
from deepmod.derivatives import noise_cutoff, savgol_derivative
from deepmod.derivatives.bumps import BumpRule
from deepmod.equation import Equation
from deepmod.refinement import SimulationRefit
from deepmod.regression import STLSQ, CrossValidatedPath
from deepmod.systems.weak import WeakTerm, as_weak_term, expand_derivative, weak_library, weak_terms
from deepmod.terms import Symbols


def _relative_error(found: dict[str, dict[str, float]], truth: dict[str, dict[str, float]]) -> float:
    assert {k: set(v) for k, v in found.items()} == {k: set(v) for k, v in truth.items()}, found
    return max(abs(found[k][t] - c) / abs(c) for k, terms in truth.items() for t, c in terms.items())


def test_derivatives_of_monomials_expand_by_the_product_rule() -> None:
    symbols = Symbols(fields=("u", "v"), space=("x",))

    def named(monomial: str, alpha: tuple[int, ...]) -> dict[str, float]:
        return {symbols.name(t): c for t, c in expand_derivative(symbols.parse(monomial), alpha).items()}

    assert named("u^2", (1,)) == {"u*u_x": 2.0}
    assert named("u^2", (2,)) == {"u_x^2": 2.0, "u*u_xx": 2.0}
    assert named("u*v", (1,)) == {"v*u_x": 1.0, "u*v_x": 1.0}
    assert named("u^3", (1,)) == {"u^2*u_x": 3.0}
    assert len(weak_terms(1, 1, 2, 4)) == 3 + 2 * 4  # 1, u, u^2 and four derivatives of u and of u^2
    assert WeakTerm(symbols.parse("u^2"), (1,)).name(symbols) == "(u^2)_x"


def test_weak_residual_of_the_true_equation_is_at_round_off() -> None:
    """Heat equation u = exp(-D k^2 t) sin(k x): the weak system's true coefficients leave a residual at
    the level of quadrature round-off, the other columns do not fit it."""
    d, k = 0.3, 2.0
    t, x = np.linspace(0, 1, 401), np.linspace(0, 2 * np.pi, 801)
    u = np.exp(-d * k**2 * t)[:, None] * np.sin(k * x)[None, :]
    data = Dataset({"t": t, "x": x}, {"u": u}, grid=True)
    symbols = make_library(data).symbols
    terms = weak_terms(1, 1, 2, 4)
    bumps = BumpRule().build([u], [t, x], 4, len(terms))
    lhs = bumps.integrate(u, (1, 0))
    u_xx = next(i for i, w in enumerate(terms) if w.name(symbols) == "u_xx")
    column = bumps.integrate(u, (0, 2))
    assert terms[u_xx].monomial == symbols.parse("u")
    residual = np.linalg.norm(lhs - d * column) / np.linalg.norm(lhs)
    assert residual < 1e-10, residual


def test_savitzky_golay_derivatives_converge_at_the_expected_order() -> None:
    """Fixed window of 7 points, degree order + 2: the interior error falls as h^3 or faster."""
    for order in (1, 2, 3):
        errors, steps = [], []
        for n in (100, 200, 400):
            x = np.linspace(0, 2 * np.pi, n)
            d = savgol_derivative(np.sin(x), x, order, half_width=3)
            exact = np.sin(x + order * np.pi / 2)
            errors.append(np.max(np.abs(d - exact)[n // 4 : 3 * n // 4]))
            steps.append(x[1] - x[0])
        slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
        assert slope > 2.7, (order, slope)


def test_noise_cutoff_falls_with_the_noise_level() -> None:
    x = np.linspace(0, 2 * np.pi, 512, endpoint=False)
    u = np.stack([np.sin(3 * x + p) * np.exp(np.cos(x)) for p in np.linspace(0, 1, 50)])
    rng = np.random.default_rng(0)
    cuts = [noise_cutoff(u + s * rng.standard_normal(u.shape), axis=1) for s in (0.0, 1e-3, 1e-1)]
    assert cuts[0] > cuts[1] > cuts[2] > 3


@pytest.mark.parametrize("seed", range(4))
def test_cross_validation_gets_the_support_where_fixed_thresholds_fail(seed: int) -> None:
    """y = x0 + 0.05 x1 + noise over correlated columns: STLSQ at its usual threshold of 0.1 drops the small
    true term, at 1e-3 it keeps noise terms; the cross-validated path finds exactly the support."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((2000, 8))
    x = base + 0.5 * base[:, [0]]
    y = x[:, 0] + 0.05 * x[:, 1] + 0.1 * rng.standard_normal(2000)
    truth = np.zeros(8, dtype=bool)
    truth[[0, 1]] = True
    assert not np.array_equal(STLSQ(threshold=0.1).fit(x, y).coef_ != 0, truth)
    assert not np.array_equal(STLSQ(threshold=1e-3).fit(x, y).coef_ != 0, truth)
    coef = CrossValidatedPath().fit(x, y).coef_
    np.testing.assert_array_equal(coef != 0, truth)
    np.testing.assert_allclose(coef[truth], [1.0, 0.05], atol=0.01)


def test_weak_method_on_noisy_burgers() -> None:
    system = burgers_delta()
    data = add_noise(system.data, 0.1, seed=0)
    result = discover(data, WeakForm(), make_library(data, 2, 4))
    assert _relative_error(result.coefficients, system.truth) < 0.05
    assert result.method == "weak" and result.settings["rows"] >= 20 * len(result.settings["weak_library"])


def test_weak_method_on_two_coupled_fields() -> None:
    system = reaction_diffusion()
    data = add_noise(system.data, 0.05, seed=0)
    result = discover(data, WeakForm(), make_library(data, 2, 4))
    assert _relative_error(result.coefficients, system.truth) < 0.1


def _fine_burgers():  # type: ignore[no-untyped-def]
    return burgers_delta(x=np.linspace(-3, 4, 256), t=np.linspace(0.5, 5, 101))


def test_weak_method_in_two_space_dimensions() -> None:
    from deepmod.data.synthetic import advection_diffusion_2d

    system = advection_diffusion_2d()
    data = add_noise(system.data, 0.1, seed=0)
    result = discover(data, WeakForm(), make_library(data, 2, 4))
    assert _relative_error(result.coefficients, system.truth) < 0.02
    assert [a["axis"] for a in result.settings["test_functions"]] == list(data.coord_names)


def test_finite_differences_on_clean_burgers() -> None:
    system = _fine_burgers()
    result = discover(system.data, FiniteDifferences(), make_library(system.data, 2, 4))
    assert _relative_error(result.coefficients, system.truth) < 0.02


@pytest.mark.parametrize("method", ["weak", "fd"])
def test_cli_classical_methods(method: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    system = _fine_burgers()
    path, out = tmp_path / "b.npz", tmp_path / "r.json"
    save_npz(system.data, path)
    code = main(["discover", str(path), "--coords", "t,x", "--fields", "u", "--method", method, "--output", str(out)])
    assert code == 0
    assert "u_t =" in capsys.readouterr().out
    found = json.loads(out.read_text())["equations"]
    assert _relative_error(found, system.truth) < 0.05


@pytest.mark.parametrize("method", [WeakForm(), FiniteDifferences()], ids=["weak", "fd"])
def test_classical_methods_on_a_time_series(method: WeakForm | FiniteDifferences) -> None:
    """SINDy for time series: Lorenz at 1 % noise (the built-in record), exact terms within 5 %, in seconds."""
    system = lorenz()
    result = discover(add_noise(system.data, 0.01, seed=0), method)
    assert _relative_error(result.coefficients, system.truth) < 0.05
    assert result.seconds < 5


def _lorenz_at(t: np.ndarray) -> Dataset:
    from scipy.integrate import solve_ivp

    def rhs(_t: float, s: np.ndarray) -> list[float]:
        return [10 * (s[1] - s[0]), s[0] * (28 - s[2]) - s[1], s[0] * s[1] - 8 / 3 * s[2]]

    sol = solve_ivp(rhs, (t[0], t[-1]), [-8.0, 7.0, 27.0], t_eval=t, rtol=1e-10, atol=1e-10)
    return Dataset({"t": t}, {"x": sol.y[0], "y": sol.y[1], "z": sol.y[2]}, grid=True)


def test_weak_method_on_irregular_sampling_times() -> None:
    """Test functions evaluated at the samples with trapezoidal weights: 1,000 random times over Lorenz's
    [0, 10], 1 % noise, exact terms within 10 %; finite differences refuse such times in one line."""
    from deepmod.errors import InputError

    rng = np.random.default_rng(0)
    t = np.concatenate([[0.0], np.sort(rng.uniform(0, 10, 998)), [10.0]])
    data = add_noise(_lorenz_at(t), 0.01, seed=0)
    result = discover(data, WeakForm())
    assert _relative_error(result.coefficients, lorenz().truth) < 0.10
    with pytest.raises(InputError, match="evenly spaced") as raised:
        discover(data, FiniteDifferences())
    assert raised.value.options == ("method",)


def test_uneven_test_functions_integrate_by_parts() -> None:
    """``int psi f' = -int psi' f`` for the bumps of an even axis (1e-7 of the integrals: the trapezoidal rule is
    spectrally accurate for functions that vanish smoothly at the support's ends) and of an axis whose
    spacing varies 2.5-fold (the trapezoidal rule's second order: 2e-5 of the integrals at 200 points)."""
    from deepmod.derivatives.bumps import axis_tests

    even = np.linspace(0.0, 2.0, 201)
    uneven = 2.0 * (0.5 * even / 2.0 + 0.5 * np.sin(np.pi * even / 4.0) ** 2)
    for coord, tolerance in ((even, 1e-6), (uneven, 1e-3)):
        tests = axis_tests(coord, 20, 5, 1, 10)
        f, df = np.exp(np.sin(3 * coord)), 3 * np.cos(3 * coord) * np.exp(np.sin(3 * coord))
        lhs, rhs = tests.values[0] @ df, -(tests.values[1] @ f)
        assert np.abs(lhs - rhs).max() < tolerance * np.abs(lhs).max()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_fit_to_pure_noise_says_it_is_not_to_be_trusted(seed: int) -> None:
    """White noise on a grid and as a time series: the weak and fd models come with a warning (held-out rows
    barely predicted, or most candidates kept); a real record at 1 % noise has none."""
    rng = np.random.default_rng(seed)
    t, x = np.linspace(0, 1, 101), np.linspace(0, 1, 128)
    noise = [
        Dataset({"t": t, "x": x}, {"u": rng.standard_normal((101, 128))}, grid=True),
        Dataset({"t": t}, {"x": rng.standard_normal(101), "y": rng.standard_normal(101)}, grid=True),
    ]
    for data in noise:
        for method in (WeakForm(), FiniteDifferences()):
            result = discover(data, method)
            assert result.warnings and all("held-out" in w or "candidate terms" in w for w in result.warnings)
    assert not discover(add_noise(lorenz().data, 0.01, seed=seed), WeakForm()).warnings


def test_a_model_keeping_most_candidates_is_called_dense_in_every_method() -> None:
    """The rule DeepMoD shares with weak and fd: more than half of at least four candidates."""
    from deepmod.diagnostics import dense_warning

    assert dense_warning("u_t", 4, 6) and "4 of the 6 candidate terms" in dense_warning("u_t", 4, 6)[0]
    assert not dense_warning("u_t", 3, 6) and not dense_warning("u_t", 3, 3)


def test_weak_method_refuses_scattered_data() -> None:
    from deepmod.errors import InputError

    system = burgers_delta()
    scattered = system.data.to_scattered()
    with pytest.raises(InputError, match="grid"):
        discover(scattered, WeakForm(), make_library(scattered, 2, 4))


def test_weak_method_refuses_a_term_that_is_no_derivative_of_a_monomial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """u_x^2 is not d^a of a monomial ((u^2)_xx = 2 u_x^2 + 2 u*u_xx): it cannot be integrated by parts alone;
    the message names the setting to change with its flag."""
    path = tmp_path / "b.npz"
    save_npz(_fine_burgers().data, path)
    argv = ["discover", str(path), "--coords", "t,x", "--fields", "u", "--method", "weak", "--term", "u_x^2"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "derivatives of monomials" in err and "u_x^2" in err and "--method" in err


def test_weak_method_takes_extra_terms_that_are_derivatives_of_monomials() -> None:
    """Extra terms beyond the library's orders enter the weak library as d^a (monomial): u^3*u_x = (u^4)_x / 4,
    u^3 itself, u_xxxxx beyond order 4. With them as candidates, Burgers is still found exactly."""
    system = _fine_burgers()
    library = make_library(system.data, 2, 4, ["u^3*u_x", "u^3", "u_xxxxx"])
    weak = weak_library(library, 1, 1)
    names = [w.name(library.symbols) for w in weak]
    assert len(weak) == len(weak_terms(1, 1, 2, 4)) + 3
    assert {"(u^4)_x", "u^3", "u_xxxxx"} <= set(names)
    assert as_weak_term(library.symbols.parse("u_x^2"), 1, 1) is None
    result = discover(system.data, WeakForm(), library)
    assert set(result.coefficients["u_t"]) == {"u*u_x", "u_xx"}, str(result)


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PDE_FIND = {
    "burgers": ("burgers.mat", "t,x", "u=usol", {"u*u_x": -1.0, "u_xx": 0.1}),
    "kdv": ("kdv.mat", "t,x", "u=usol", {"u*u_x": -6.0, "u_xxx": -1.0}),
    "ks": ("kuramoto_sivishinky.mat", "t=tt,x", "u=uu", {"u*u_x": -1.0, "u_xx": -1.0, "u_xxxx": -1.0}),
}


@pytest.mark.parametrize("level", [0.0, 0.01, 0.05, 0.1, 0.25, 0.5])
@pytest.mark.parametrize("name", list(PDE_FIND))
def test_weak_method_on_the_pde_find_data(name: str, level: float, tmp_path: Path) -> None:
    """Issue 5's acceptance through the CLI with default settings; Burgers at 25 and 50 % is the stretch goal
    (PySINDy's best hand-tuned run misses it) and holds too."""
    from deepmod.data import load

    file, coords, fields, truth = PDE_FIND[name]
    if not (SHARED / file).exists():
        pytest.skip("reference data not present")
    data = load(SHARED / file, coords.split(","), [fields])
    data = add_noise(data, level, seed=0) if level else data
    path, out = tmp_path / "d.npz", tmp_path / "r.json"
    save_npz(data, path)
    argv = ["discover", str(path), "--coords", "t,x", "--fields", "u", "--method", "weak", "--output", str(out)]
    assert main(argv) == 0
    assert _relative_error(json.loads(out.read_text())["equations"], {"u_t": truth}) < 0.10


def test_unbiased_powers_remove_the_noise_bias_of_monomials() -> None:
    from deepmod.systems.noise import unbiased_power

    rng = np.random.default_rng(0)
    u = np.linspace(-1.5, 1.5, 7)
    s = 0.4
    y = u + s * rng.standard_normal((200_000, len(u)))
    for k in (2, 3, 4):
        exact, spread = u**k, np.std(y**k, axis=0) / np.sqrt(len(y))
        assert np.all(np.abs(unbiased_power(y, k, s**2).mean(axis=0) - exact) < 5 * spread)
        assert np.max(np.abs((y**k).mean(axis=0) - exact)) > 20 * np.max(spread)  # the bias it removes
    assert np.array_equal(unbiased_power(y[:3], 3, 0.0), y[:3] ** 3)


def test_weak_method_corrects_the_noise_bias_of_powers() -> None:
    """Fisher-KPP at 25 % noise: E[y^2] = u^2 + s^2 puts a spurious constant r s^2 beside -r u^2 unless the
    columns are corrected with the noise variance read off the data."""
    from deepmod.data.synthetic import fisher_kpp

    system = fisher_kpp(diffusion=0.3, rate=0.5)
    data = add_noise(system.data, 0.25, seed=0)
    result = discover(data, WeakForm(), seed=0)
    error = _relative_error(result.coefficients, system.truth)
    assert error < 0.05
    level = result.settings["noise_std"]["u"] / np.std(system.data.fields["u"])
    assert level == pytest.approx(0.25, rel=0.1)
    biased = discover(data, WeakForm(noise_correction=False), seed=0).coefficients["u_t"]
    truth = system.truth["u_t"]
    assert max(abs(biased.get(t, 0.0) - c) / abs(c) for t, c in truth.items()) > 2 * error


def test_the_weak_refit_corrects_the_noise_bias_of_powers() -> None:
    """DeepMoD's coefficients on grids come from the weak refit of the noisy data: on Fisher-KPP at 25 %
    noise the true terms refit 11 % off uncorrected (u^2's shift spread over u, u^2 and u_xx), 2 % corrected."""
    from deepmod.data.synthetic import fisher_kpp
    from deepmod.systems.weak import refit

    system = fisher_kpp(diffusion=0.3, rate=0.5)
    data = add_noise(system.data, 0.25, seed=0)
    library = make_library(data, 2, 3)
    chosen = [t for t, n in zip(library.terms, library.names, strict=True) if n in system.truth["u_t"]]
    errors = []
    for correct in (True, False):
        found = refit(data, library, [chosen], noise_correction=correct)[0]
        assert found is not None
        errors.append(_relative_error({"u_t": found}, system.truth))
    assert errors[0] < 0.04 < 0.08 < errors[1]


def test_the_simulation_refit_finds_clean_burgers_coefficients_from_wrong_ones() -> None:
    """Single shooting from 20 % and 10 % wrong coefficients and the first snapshot: the clean built-in Burgers'
    coefficients to 1e-4 (the record's own discretisation error), the misfit down by five orders."""
    system = burgers_delta()
    library = WeakForm().default_library(system.data)
    wrong = [Equation("u_t", {"u_xx": 0.12, "u*u_x": -0.9})]
    refined = SimulationRefit().refine(system.data, library, wrong)
    fitted, info = refined.complete, refined.how
    assert fitted is not None
    for term, value in system.truth["u_t"].items():
        assert fitted[0].coefficients[term] == pytest.approx(value, rel=1e-4)
    misfit = info["misfit_in_noise_units"]
    assert misfit["fitted"] < 1e-5 * misfit["start"]


def test_the_simulation_refit_says_why_it_keeps_the_weak_coefficients() -> None:
    """Too costly a solve, a start that blows up (Fisher-KPP at 25 % noise: u grows without bound where the noisy
    start dips below 0) and a record that is not periodic: ``None`` with the reason, in a fraction of a second."""
    system = burgers_delta()
    library = WeakForm().default_library(system.data)
    costly = SimulationRefit(max_work=1.0).refine(system.data, library, [Equation("u_t", system.truth["u_t"])])
    assert costly.complete is None and "point evaluations" in costly.how["skipped"]
    kpp = fisher_kpp()
    noisy = add_noise(kpp.data, 0.25, seed=0)
    blown = SimulationRefit().refine(noisy, WeakForm().default_library(noisy), [Equation("u_t", kpp.truth["u_t"])])
    assert blown.equations == [None] and "blew up" in blown.how["skipped"]
    half = Dataset(
        {"t": system.data.coords["t"], "x": system.data.coords["x"][:40]},
        {"u": system.data.fields["u"][:, :40]},
        grid=True,
    )
    flat = SimulationRefit().refine(half, library, [Equation("u_t", system.truth["u_t"])])
    assert flat.complete is None and "periodic" in flat.how["skipped"]
