"""One system: the Result as the whole hand-off (save, load, simulate, report), the estimator, methods that own
their defaults, no process-wide state, and the house's size rules."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import grimp
import numpy as np
import pytest
import scipy.io
import sklearn.base
import torch

import deepmod
from conftest import shared_file
from deepmod.cli import main
from deepmod.data import add_noise, burgers_delta, lotka_volterra, save_npz
from deepmod.errors import InputError
from deepmod.result import Result

SRC = Path(__file__).resolve().parents[1] / "src" / "deepmod"

FAST_DEEPMOD = deepmod.DeepMoD(
    schedule=deepmod.Schedule(max_iterations=300), max_samples=500, network=deepmod.DefaultNetwork(fuse=False)
)
_XY = deepmod.Symbols(("x", "y"), ())
FAST_UDE = deepmod.UDE(
    known=[deepmod.parse_equation("x_t = 1.3*x", _XY), deepmod.parse_equation("y_t = -1.8*y", _XY)],
    collocation_iterations=300,
    adam_iterations=20,
    lbfgs_iterations=20,
    max_terms=1,
)


def _burgers() -> deepmod.Dataset:
    system = burgers_delta(x=np.linspace(-3, 4, 128), t=np.linspace(0.5, 5, 60))
    return add_noise(system.data, 0.01, seed=0)


def _lotka_volterra() -> deepmod.Dataset:
    system = lotka_volterra()
    return add_noise(system.data, 0.01, seed=0)


CASES = {
    "weak": (_burgers, deepmod.WeakForm()),
    "fd": (_burgers, deepmod.FiniteDifferences()),
    "deepmod": (_burgers, FAST_DEEPMOD),
    "ude": (_lotka_volterra, FAST_UDE),
}


@pytest.fixture(scope="module")
def results() -> dict[str, tuple[deepmod.Dataset, Result]]:
    out = {}
    for name, (make, method) in CASES.items():
        data = make()
        out[name] = (data, deepmod.discover(data, method, seed=0))
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_a_saved_result_loads_back_equal(name: str, results: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """save -> load gives an equal Result: equations, library, history, settings, typed evidence, symbols and
    coordinate names (wall time aside, which is not saved)."""
    _, result = results[name]
    path = tmp_path / "r.json"
    result.save(path)
    loaded = Result.load(path)
    assert loaded == result
    assert loaded.symbols is not None and loaded.coords == result.coords
    assert type(loaded.evidence) is type(result.evidence)
    assert json.loads(path.read_text())["equations"] == result.coefficients


@pytest.mark.parametrize("name", list(CASES))
def test_cli_simulates_and_reports_a_loaded_result(
    name: str,
    results: dict,  # type: ignore[type-arg]
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data, result = results[name]
    save_npz(data, tmp_path / "d.npz")
    result.save(tmp_path / "r.json")
    names = ["--coords", ",".join(data.coord_names), "--fields", ",".join(data.field_names), "--quiet"]
    assert main(["simulate", str(tmp_path / "r.json"), str(tmp_path / "d.npz"), *names]) == 0
    out = capsys.readouterr().out
    assert out.startswith("relative L2 error: ")  # inf for the 300-step DeepMoD model, whose dense equation blows up
    if name != "deepmod":
        assert float(out.split(":")[-1]) < 0.1
    html = tmp_path / "r.html"
    assert main(["report", str(tmp_path / "r.json"), str(tmp_path / "d.npz"), *names, "--output", str(html)]) == 0
    assert html.stat().st_size > 10_000 and "<h2>Simulation against the data</h2>" in html.read_text()


def test_result_simulates_and_reports_from_python(results: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    """``result.simulate(data)`` gives the trajectory as a Dataset; an ODE result also from an initial state
    and times alone; ``deepmod.report.write`` writes the report."""
    data, result = results["weak"]
    sim = result.simulate(data)
    assert sim.status == "success" and sim.shape == data.shape and isinstance(sim, deepmod.Dataset)
    deepmod.report.write(result, data, tmp_path / "r.html")
    assert "Model selection" in (tmp_path / "r.html").read_text()
    ode_data, ode = results["ude"]
    first = {n: float(ode_data.fields[n][0]) for n in ode_data.field_names}
    times = np.asarray(ode_data.coords["t"])
    alone = ode.simulate(initial=first, times=times)
    on_data = ode.simulate(ode_data)
    np.testing.assert_allclose(alone.fields["x"], on_data.fields["x"], rtol=1e-12)


def test_a_result_refuses_data_with_other_fields(results: dict) -> None:  # type: ignore[type-arg]
    data, result = results["weak"]
    renamed = data.with_fields({"w": data.fields["u"]})
    with pytest.raises(InputError, match="fields u"):
        result.simulate(renamed)


@pytest.mark.parametrize(
    ("method", "flag"),
    [(deepmod.WeakForm(), "weak"), (deepmod.FiniteDifferences(), "fd"), (FAST_DEEPMOD, "deepmod")],
)
def test_python_and_cli_defaults_give_the_same_equation(
    method: deepmod.Method, flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each method owns its defaults: the library orders, samples and schedule are the same whether the method
    runs from Python or from ``deepmod discover --method``."""
    data = _burgers()
    save_npz(data, tmp_path / "d.npz")
    argv = ["discover", str(tmp_path / "d.npz"), "--coords", "t,x", "--fields", "u", "--method", flag, "--quiet"]
    if flag == "deepmod":
        argv += ["--max-iterations", "300", "--samples", "500", "--no-fuse"]
    assert main([*argv, "--output", str(tmp_path / "r.json")]) == 0
    cli = Result.load(tmp_path / "r.json")
    python = deepmod.discover(data, method, seed=0)
    assert cli.library == python.library
    assert cli.equations == python.equations
    assert capsys.readouterr().out.strip() == str(python)


@pytest.mark.slow
def test_ude_defaults_are_the_same_from_python_and_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _lotka_volterra()
    save_npz(data, tmp_path / "d.npz")
    python = deepmod.discover(data, deepmod.UDE(), seed=0)
    argv = ["ude", str(tmp_path / "d.npz"), "--coords", "t", "--fields", "x,y", "--quiet"]
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == str(python)


def test_estimator_on_burgers_arrays_matches_the_cli_and_clones(capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's acceptance: ``Model(method=WeakForm()).fit(u, t=t, x=x)`` on the PDE-FIND Burgers arrays
    prints what ``deepmod discover --method weak`` prints; ``sklearn.base.clone`` gives an unfitted copy with
    the same parameters."""
    path = shared_file("burgers.mat")
    arrays = scipy.io.loadmat(path)
    t, x, u = arrays["t"].ravel(), arrays["x"].ravel(), np.real(arrays["usol"])
    model = deepmod.Model(method=deepmod.WeakForm()).fit(u, t=t, x=x)
    model.print()
    printed = capsys.readouterr().out
    assert main(["discover", str(path), "--coords", "t,x", "--fields", "u=usol", "--method", "weak"]) == 0
    assert capsys.readouterr().out == printed
    copy = sklearn.base.clone(model)
    assert copy.get_params().keys() == model.get_params().keys() and not hasattr(copy, "result_")
    assert copy.set_params(poly_order=3).poly_order == 3
    assert model.score(u, t=t, x=x) > 0.99  # R^2 of the model's rates against the data's
    assert model.predict(u, t=t, x=x)["u_t"].ndim == 2


def test_estimator_takes_xarray_and_odes_as_columns() -> None:
    xr = pytest.importorskip("xarray")
    data = _burgers()
    t, x, u = data.coords["t"], data.coords["x"], data.fields["u"]
    da = xr.DataArray(u.T, dims=("x", "t"), coords={"x": x, "t": t}, name="u")  # space-major, as in many files
    from_xarray = deepmod.Model(method=deepmod.WeakForm()).fit(da)
    from_numpy = deepmod.Model(method=deepmod.WeakForm()).fit(u, t=t, x=x)
    assert from_xarray.equations_ == from_numpy.equations_
    lv = _lotka_volterra()
    states = np.stack([lv.fields["x"], lv.fields["y"]], axis=1)
    model = deepmod.Model(method=deepmod.WeakForm()).fit(states, t=lv.coords["t"])  # two columns: states x0, x1
    assert [e.lhs for e in model.equations_] == ["x0_t", "x1_t"]


def test_a_run_leaves_the_callers_random_generators_alone() -> None:
    """No process-wide state: every draw comes from the run's seed, and the caller's torch and numpy global
    generators are where they were."""
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002 (the legacy global generator is the point)
    deepmod.discover(_burgers(), FAST_DEEPMOD, seed=0)
    deepmod.discover(_lotka_volterra(), FAST_UDE, seed=0)
    assert torch.equal(torch_state, torch.get_rng_state())
    assert np.array_equal(numpy_state[1], np.random.get_state()[1])  # noqa: NPY002


def test_the_import_graph_of_deepmod_has_no_cycle() -> None:
    """DESIGN.md: lower rooms never import higher ones, not even inside a function, so the graph of imports
    between deepmod's modules (function-level imports included; names imported under ``TYPE_CHECKING`` are
    left out, they import nothing at run time) has no cycle. The layers themselves are import-linter's
    contracts in pyproject.toml (``lint-imports`` in CI)."""
    graph = grimp.build_graph("deepmod", cache_dir=None, exclude_type_checking_imports=True)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in edges:
        if root in state:
            continue
        path, todo = [root], [iter(edges[root])]
        state[root] = 1
        while todo:
            nxt = next(todo[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                todo.pop()
            elif state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                todo.append(iter(edges[nxt]))


def test_no_function_takes_a_stop_parameter() -> None:
    """One control channel: a run is steered from outside by one ``RunControl`` (callbacks, the stop request,
    checkpoints), so no function or method in src/deepmod has a parameter named ``stop`` (an AST walk); the
    stop event lives in ``RunControl.stop`` alone."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                args = node.args
                names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
                if "stop" in names:
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}")
            elif isinstance(node, ast.ClassDef) and node.name != "RunControl":
                fields = [
                    b.target.id for b in node.body if isinstance(b, ast.AnnAssign) and isinstance(b.target, ast.Name)
                ]
                if "stop" in fields:  # a dataclass field is an __init__ parameter
                    found.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}.stop")
    assert not found, found
