"""Sparse regressors, the sparsity estimator, the least-squares constraint and the library's columns."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import Lasso

from deepmod.library import PolynomialLibrary
from deepmod.neural.constraint import LeastSquares
from deepmod.neural.sparsity import RegressorEstimator
from deepmod.regression import STLSQ, BackwardElimination, RegressionSystem, STRidge
from deepmod.terms import Symbols


def _sparse_problem(rng: np.random.Generator, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns of very different scales (as in a physical library), three active of twelve."""
    x = rng.standard_normal((500, 12)) * np.logspace(-2, 2, 12)
    coef = np.zeros(12)
    coef[[1, 5, 9]] = [
        2.0 / 10 ** (-2 + 4 * 1 / 11),
        -1.5 / 10 ** (-2 + 4 * 5 / 11),
        0.7 / 10 ** (-2 + 4 * 9 / 11),
    ]
    y = x @ coef
    return x, y + noise * y.std() * rng.standard_normal(len(y)), coef


@pytest.mark.parametrize("regressor", [STLSQ(), STRidge(), STLSQ(threshold=0.05, ridge=1e-3), BackwardElimination()])
def test_regressors_recover_an_exact_sparse_vector(regressor, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    x, y, coef = _sparse_problem(rng)
    fitted = regressor.fit(x, y)
    assert fitted is regressor
    np.testing.assert_array_equal(regressor.coef_ != 0, coef != 0)
    np.testing.assert_allclose(regressor.coef_, coef, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize(
    "estimator",
    [RegressorEstimator(), RegressorEstimator(Lasso(alpha=1e-3, fit_intercept=False, max_iter=10000))],
)
def test_estimators_select_the_true_support_under_noise(estimator, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    x, y, coef = _sparse_problem(rng, noise=0.01)
    system = RegressionSystem(x, y, tuple(f"c{j}" for j in range(x.shape[1])), "u_t")
    np.testing.assert_array_equal(estimator.select(system), coef != 0)


def test_elimination_drops_a_collinear_term_that_a_threshold_keeps(rng: np.random.Generator) -> None:
    """y = a + 0.5 b + noise with a third column c = a + 1e-3 * noise: least squares splits the weight of a
    between a and c with large opposite coefficients (std about 2 here), so thresholding keeps c; c explains
    no variance that a does not, so elimination removes it."""
    a, b = rng.standard_normal((2, 500))
    c = a + 1e-3 * rng.standard_normal(500)
    x = np.column_stack([a, b, c])
    y = a + 0.5 * b + 0.05 * rng.standard_normal(500)
    assert STLSQ().fit(x, y).coef_[2] != 0  # the precondition: the threshold is fooled
    coef = BackwardElimination().fit(x, y).coef_
    assert (coef != 0).tolist() in ([True, True, False], [False, True, True])
    assert abs(coef[0] + coef[2] - 1.0) < 0.02 and abs(coef[1] - 0.5) < 0.02


def test_constraint_matches_numpy_lstsq(rng: np.random.Generator) -> None:
    theta = rng.standard_normal((300, 6)) * np.array([1e-3, 1, 10, 0.1, 5, 100])
    target = rng.standard_normal(300)
    ours = LeastSquares().solve(torch.tensor(theta), torch.tensor(target)).numpy()
    ref = np.linalg.lstsq(theta, target, rcond=None)[0]
    np.testing.assert_allclose(ours, ref, rtol=1e-7)


def test_constraint_is_differentiable(rng: np.random.Generator) -> None:
    theta = torch.tensor(rng.standard_normal((20, 3)), requires_grad=True)
    target = torch.tensor(rng.standard_normal(20), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: LeastSquares(ridge=0.0).solve(a, b), (theta, target))


def test_library_columns_against_analytic_derivatives() -> None:
    """u = sin(x) exp(-t): u_x = cos(x) e^-t, u_xx = -u, u_xxx = -u_x; columns are the products."""
    x = torch.linspace(0, 3, 50, dtype=torch.float64)
    u = torch.sin(x) * np.exp(-0.5)
    ux = torch.cos(x) * np.exp(-0.5)
    derivs = {(0, (0,)): u, (0, (1,)): ux, (0, (2,)): -u, (0, (3,)): -ux}
    lib = PolynomialLibrary(Symbols(("u",), ("x",)), poly_order=2, diff_order=3)
    theta = lib.evaluate(derivs)
    expected = {
        "1": torch.ones_like(u),
        "u^2": u**2,
        "u*u_x": u * ux,
        "u^2*u_xx": -(u**3),
        "u*u_xxx": -u * ux,
    }
    for name, col in expected.items():
        torch.testing.assert_close(theta[:, lib.names.index(name)], col)


def test_library_scales_are_the_units_of_each_term() -> None:
    """Doubling u and halving x multiplies u^2*u_xx by 2^2 * 2 / 0.5^2 = 32."""
    lib = PolynomialLibrary(Symbols(("u",), ("x",)), extra_terms=["u_x^2"])
    scales = dict(zip(lib.names, lib.scales([2.0], [0.5]).tolist(), strict=True))
    assert scales["u^2*u_xx"] == pytest.approx(32.0)
    assert scales["u_x^2"] == pytest.approx(16.0)
    assert scales["1"] == 1.0


def _lorenz_problem() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Exact Lorenz derivatives and the degree-2 polynomial library of the states."""
    from deepmod.data.synthetic import lorenz

    fields = lorenz().data.fields
    x, y, z = (fields[k] for k in "xyz")
    rhs = np.stack([10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z], axis=1)
    columns = {"1": np.ones_like(x), "x": x, "y": y, "z": z, "x^2": x * x, "x*y": x * y, "x*z": x * z}
    columns |= {"y^2": y * y, "y*z": y * z, "z^2": z * z}
    return np.stack(list(columns.values()), axis=1), rhs, list(columns)


def test_elimination_keeps_a_small_exact_term_and_resolves_collinear_ones() -> None:
    # -y explains 0.2 % of the variance of y' (below the 1 % tolerance) but nearly all the rest; and
    # 1, z, z^2 are so collinear on z in [10, 45] that a greedy path removes z first and never finds {z, x*y}.
    theta, rhs, names = _lorenz_problem()
    truth = [{"x": -10.0, "y": 10.0}, {"x": 28.0, "y": -1.0, "x*z": -1.0}, {"z": -8 / 3, "x*y": 1.0}]
    for f, expected in enumerate(truth):
        coef = BackwardElimination(ratio=4.0, exhaustive=10).fit(theta, rhs[:, f]).coef_
        plain = BackwardElimination().fit(theta, rhs[:, f]).coef_
        assert f != 1 or plain[names.index("y")] == 0  # the plain selector drops -y
        found = {names[j]: coef[j] for j in np.flatnonzero(coef)}
        assert set(found) == set(expected)
        assert all(abs(found[k] - v) < 1e-6 * abs(v) for k, v in expected.items())


def test_add_back_returns_a_small_distinct_term_but_not_a_collinear_stand_in(rng: np.random.Generator) -> None:
    n = 2000
    a, f, e = rng.standard_normal((3, n))
    b = 0.9 * a + 0.45 * f  # correlated with a, yet 20 % of its mean square is its own (distinct)
    c = a + 0.1 * e  # 1 % of c's mean square is not explained by a: a variance inflation factor of about 100
    x = np.stack([a, b, c], axis=1)
    # b's coefficient passes the STLSQ threshold, but leaving b out costs only 0.3 % of y's variance (below
    # the 1 % tolerance): plain elimination drops it although it explains all that a leaves
    y = a + 0.15 * b
    plain = BackwardElimination().fit(x, y)
    kept = BackwardElimination(add_back=4.0).fit(x, y)
    assert np.flatnonzero(plain.coef_).tolist() == [0]
    assert np.flatnonzero(kept.coef_).tolist() == [0, 1]
    np.testing.assert_allclose(kept.coef_[:2], [1.0, 0.15], rtol=1e-10)
    # c - a would absorb all of this residual, but c only stands in for a: it does not come back
    y = a + 0.03 * e
    assert np.flatnonzero(BackwardElimination(add_back=4.0).fit(x, y).coef_).tolist() == [0]


@pytest.mark.parametrize(("swing", "kept"), [(0.05, 0), (0.8, 1)])
def test_backward_elimination_prefers_the_simpler_of_two_terms_the_data_cannot_tell_apart(
    swing: float, kept: int
) -> None:
    """y = v*w exactly, with v = 1 + swing*sin: column 1 (v*w) fits exactly, column 0 (w, its simpler relative)
    leaves about swing^2 / 2 of the mean square of y. Within the 1 % tolerance (swing 0.05: 0.1 %) the simpler
    term is taken; with v swinging by 0.8 (about 30 % left) the data tell them apart and v*w stays."""
    s = np.linspace(0, 20, 2000)
    w = np.cos(1.3 * s) + 0.5 * np.sin(0.4 * s)
    v = 1 + swing * np.sin(0.7 * s + 1.0)
    x, y = np.column_stack([w, v * w]), v * w
    assert np.flatnonzero(BackwardElimination().fit(x, y).coef_).tolist() == [1]
    swapped = BackwardElimination(simpler=[[], [0]]).fit(x, y).coef_
    assert np.flatnonzero(swapped).tolist() == [kept]


def _weak_ode_system(system, level: float):  # type: ignore[no-untyped-def]
    """The weak system of noisy ODE data (normalised as DeepMoD normalises them) and its library."""
    from deepmod import DeepMoD, add_noise
    from deepmod.neural.weak import WeakSelection

    data = add_noise(system.data, level, seed=0)
    library = DeepMoD().default_library(data)
    x, u = data.points()
    t = (x[:, 0] - x[:, 0].mean()) / np.ptp(x[:, 0])
    weak = WeakSelection.for_samples(t, u / np.abs(u).max(axis=0), len(library.terms))
    assert weak.samples is not None
    g, b = weak.integrate(torch.as_tensor(weak.samples), library)
    return g, b, list(library.names)


def test_small_terms_keeps_lorenz_small_exact_term_by_the_residual_rule_not_its_size() -> None:
    from deepmod.data.synthetic import lorenz
    from deepmod.regression import SmallTerms

    g, b, names = _weak_ode_system(lorenz(), 0.01)
    true_y = np.isin(names, ["x", "y", "x*z"])
    every = SmallTerms(share=1.0)  # every term is judged, whatever its size
    np.testing.assert_array_equal(every.prune(g, b[:, 1], true_y), true_y)
    spurious = true_y | np.isin(names, ["y^2"])
    np.testing.assert_array_equal(every.prune(g, b[:, 1], spurious), true_y)


def test_small_terms_drops_a_tiny_term_the_data_do_not_need() -> None:
    from deepmod.data.synthetic import lotka_volterra
    from deepmod.regression import SmallTerms

    system = lotka_volterra(t=np.linspace(0.0, 12.0, 61))
    g, b, names = _weak_ode_system(system, 0.05)
    true_x = np.isin(names, ["x", "x*y"])
    with_y = true_x | np.isin(names, ["y"])
    np.testing.assert_array_equal(SmallTerms().prune(g, b[:, 0], with_y), true_x)
    np.testing.assert_array_equal(SmallTerms().prune(g, b[:, 0], true_x), true_x)


def test_stepwise_adds_a_needed_small_term_and_drops_a_spurious_one(rng: np.random.Generator) -> None:
    from deepmod.regression import Stepwise

    x = rng.standard_normal((400, 6))
    y = x @ np.array([1.0, -0.8, 0.08, 0.0, 0.0, 0.0]) + 0.02 * rng.standard_normal(400)
    truth = np.array([True, True, True, False, False, False])
    rule = Stepwise()
    np.testing.assert_array_equal(rule.refine(x, y, truth & [True, True, False, False, False, False]), truth)
    np.testing.assert_array_equal(rule.refine(x, y, truth | [False, False, False, True, False, False]), truth)
    np.testing.assert_array_equal(rule.refine(x, y, np.zeros(6, dtype=bool)), truth)
