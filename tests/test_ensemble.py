"""Ensembles and sweeps: bootstrap draws, the aggregate's arithmetic, one model everywhere, backends that give
the same bytes, rerun members whose worker died, report members that keep dying, and stop cleanly."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import deepmod
from deepmod.cli import main
from deepmod.control import RunControl
from deepmod.data import add_noise, burgers_delta, save_npz
from deepmod.data.loaders import load
from deepmod.ensemble import (
    Interrupted,
    Job,
    MemberOutcome,
    Processes,
    Serial,
    Task,
    ensemble,
    summarise,
)
from deepmod.ensemble.sweep import score, sweep
from deepmod.method import Bootstrap
from deepmod.refinement import SimulationRefit
from deepmod.regression import RegressionSystem
from deepmod.result import Result

FAST_DEEPMOD = deepmod.DeepMoD(
    schedule=deepmod.Schedule(max_iterations=200), max_samples=400, network=deepmod.DefaultNetwork(fuse=False)
)


@pytest.fixture(scope="module")
def burgers10() -> deepmod.Dataset:
    return add_noise(burgers_delta().data, 0.10, seed=0)


def test_a_bootstrap_draws_whole_blocks_with_replacement() -> None:
    """Rows drawn in blocks of their group label (a block drawn twice comes twice, with its label, so held-out
    folds never split its copies); the same seed gives the same draw, another seed another."""
    groups = np.repeat(np.arange(10), 5)
    system = RegressionSystem(np.arange(100.0).reshape(50, 2), np.arange(50.0), ("a", "b"), "u_t", groups)
    (drawn,) = Bootstrap(3).systems([system])
    assert drawn.n_rows == 50 and drawn.groups is not None
    labels, counts = np.unique(drawn.groups, return_counts=True)
    assert np.all(counts % 5 == 0) and len(labels) < 10  # 10 draws of 10 blocks miss one with p = 1 - 10!/10^10
    np.testing.assert_array_equal(drawn.target, drawn.groups * 5 + np.tile(np.arange(5), 10))
    np.testing.assert_array_equal(Bootstrap(3).systems([system])[0].target, drawn.target)
    assert not np.array_equal(Bootstrap(4).systems([system])[0].target, drawn.target)


def test_summary_gives_inclusion_median_and_a_student_interval() -> None:
    """Inclusion counts members with a model (a failed member counts in none); the interval is the median plus
    or minus Student's t quantile (members - 1 degrees of freedom) times the sample standard deviation."""
    values = [0.09, 0.10, 0.11, 0.12]
    outcomes = [
        MemberOutcome(k, {"u_t": {"u_xx": v, "u": 0.5} if k == 0 else {"u_xx": v}}, "converged")
        for k, v in enumerate(values)
    ]
    outcomes.append(MemberOutcome(9, {}, "failed", error="no model"))
    summary = summarise(outcomes, ["u_t"])
    assert summary.members == 4
    u_xx, u = summary.terms["u_t"]["u_xx"], summary.terms["u_t"]["u"]
    assert (u_xx.inclusion, u.inclusion) == (1.0, 0.25)
    half = stats.t.ppf(0.975, 3) * np.std(values, ddof=1)
    assert u_xx.median == pytest.approx(0.105)
    assert u_xx.interval == pytest.approx((0.105 - half, 0.105 + half))
    assert summary.supports(0.5) == [["u_xx"]]


def test_a_weak_ensemble_reports_one_model_with_its_uncertainty(burgers10: deepmod.Dataset, tmp_path: Path) -> None:
    """Built-in Burgers at 10 % noise, 20 members: both true terms in every member with intervals narrower than
    15 % of the truth, no other term in half of them, the reported model the true terms refitted on all the data
    (the single weak run's coefficients, the same terms on the same test functions, then fitted by simulation),
    and it survives a save and load."""
    result = ensemble(burgers10, deepmod.WeakForm(), members=20, seed=0)
    single = deepmod.discover(burgers10, deepmod.WeakForm())
    simulated = (
        SimulationRefit().refine(burgers10, deepmod.WeakForm().default_library(burgers10), single.equations).complete
    )
    assert simulated is not None
    truth = {"u_xx": 0.1, "u*u_x": -1.0}
    assert set(result.coefficients["u_t"]) == set(single.coefficients["u_t"]) == set(truth)
    for term, value in simulated[0].coefficients.items():
        assert result.coefficients["u_t"][term] == pytest.approx(value, rel=1e-12)  # the same fits
    how = result.settings["ensemble"]["refit"]
    assert how["by"] == "simulation" and 0.9 < how["misfit_in_noise_units"]["fitted"] < 1.1  # at the noise level
    plain = ensemble(burgers10, deepmod.WeakForm(simulation_refit=None), members=20, seed=0)
    for term, value in single.coefficients["u_t"].items():
        assert plain.coefficients["u_t"][term] == pytest.approx(value, rel=1e-12)  # the weak least squares
    assert plain.settings["ensemble"]["refit"] == {"by": "weak form"}
    for term, value in truth.items():
        u = result.uncertainty["u_t"][term]
        assert u.inclusion == 1.0
        assert u.interval[0] < u.median < u.interval[1] and u.interval[1] - u.interval[0] < 0.15 * abs(value)
    assert all(u.inclusion < 0.5 for t, u in result.uncertainty["u_t"].items() if t not in truth)
    path = tmp_path / "r.json"
    result.save(path)
    assert Result.load(path).to_dict() == json.loads(path.read_text())
    assert Result.load(path).uncertainty == result.uncertainty


def test_weak_ensemble_intervals_cover_the_truth() -> None:
    """Calibration: over 10 noise draws of the built-in Burgers at 10 % noise (10 members each), each true
    coefficient lies in its 95 % interval in at least 7 draws (with exact 95 % intervals, 7 or more of 10 happen
    with probability 0.999; 80 % intervals would pass with probability 0.88)."""
    system = burgers_delta()
    covered = dict.fromkeys(system.truth["u_t"], 0)
    for seed in range(10):
        result = ensemble(add_noise(system.data, 0.1, seed=seed), deepmod.WeakForm(), members=10, seed=seed)
        for term, value in system.truth["u_t"].items():
            low, high = result.uncertainty["u_t"][term].interval
            covered[term] += low <= value <= high
    assert min(covered.values()) >= 7, covered


def _json(result: Result) -> str:
    return json.dumps(result.to_dict())


@pytest.mark.parametrize(
    "method", [deepmod.WeakForm(), deepmod.FiniteDifferences(), FAST_DEEPMOD], ids=["weak", "fd", "deepmod"]
)
def test_process_and_serial_backends_give_the_same_bytes(burgers10: deepmod.Dataset, method: deepmod.Method) -> None:
    serial = ensemble(burgers10, method, members=3, seed=5)
    processes = ensemble(burgers10, method, members=3, seed=5, backend=Processes(workers=2))
    assert _json(serial) == _json(processes)
    assert serial.settings["ensemble"]["finished"] == 3


@dataclass(frozen=True)
class _Dies(Task):
    """Run 1 kills its worker process: the first time only (a marker file remembers), or every time."""

    marker: str
    always: bool = False

    def __call__(self, index: int, control: RunControl | None = None) -> int:
        mark = Path(f"{self.marker}.{index}")
        if index == 1 and (self.always or not mark.exists()):
            mark.touch()
            os._exit(3)
        return 10 * index


def test_a_member_whose_worker_died_is_run_again(tmp_path: Path) -> None:
    out = Processes(workers=2).map(Job(_Dies(str(tmp_path / "m")), range(4)))
    assert out.finished == {0: 0, 1: 10, 2: 20, 3: 30} and not out.failed


def test_a_member_that_keeps_dying_is_reported_not_dropped(tmp_path: Path) -> None:
    out = Processes(workers=2, retries=1).map(Job(_Dies(str(tmp_path / "m"), always=True), range(4)))
    assert out.finished == {0: 0, 2: 20, 3: 30}
    assert out.failed == {1: "its worker process died 2 times"}


@dataclass(frozen=True)
class _Slow(Task):
    """Each run waits ``seconds`` (checking the stop request in-process) and gives its index."""

    seconds: float

    def __call__(self, index: int, control: RunControl | None = None) -> int:
        end = time.monotonic() + self.seconds
        while time.monotonic() < end:
            if control is not None and control.stopped():
                raise Interrupted("stopped")
            time.sleep(0.01)
        return index


@pytest.mark.parametrize("backend", [Serial(), Processes(workers=2)], ids=["serial", "process"])
def test_a_stop_request_ends_every_run_and_keeps_the_finished(backend: Serial | Processes) -> None:
    """The stop is set when the first run finishes: the job ends at once, well before the rest would (20 s)."""
    stop = threading.Event()
    start = time.monotonic()
    job = Job(
        _Slow(1.0 if isinstance(backend, Serial) else 0.0), range(20), lambda i, o: stop.set(), RunControl(stop=stop)
    )
    out = backend.map(job)
    assert out.interrupted and len(out.finished) >= 1 and not out.failed
    assert time.monotonic() - start < 15


def test_an_interrupted_ensemble_is_marked_and_aggregates_the_finished(burgers10: deepmod.Dataset) -> None:
    stop = threading.Event()
    result = ensemble(
        burgers10,
        deepmod.WeakForm(),
        members=10,
        on_member=lambda o: stop.set() if o.index == 2 else None,
        control=RunControl(stop=stop),
    )
    assert result.status == "interrupted"
    assert result.settings["ensemble"]["finished"] == 3


def test_sweep_scores_each_cell_against_the_truth() -> None:
    """Two levels x two seeds of the weak method on the built-in Burgers: every cell correct, the table says so;
    the scoring itself: wrong terms are ``None``, else the largest relative error."""
    system = burgers_delta()
    table = sweep(system.data, system.truth, [deepmod.WeakForm()], levels=(0.0, 0.1), seeds=(0, 1))
    assert [(r.level, r.seed) for r in table.rows] == [(0.0, 0), (0.0, 1), (0.1, 0), (0.1, 1)]
    assert all(r.correct for r in table.rows)
    assert "2/2" in table.text().splitlines()[1]
    assert score({"u_t": {"u_xx": 0.11}}, {"u_t": {"u_xx": 0.1}}) == pytest.approx(0.1)
    assert score({"u_t": {"u_xx": 0.1, "u": 1.0}}, {"u_t": {"u_xx": 0.1}}) is None


def _weak_ensemble(data: Path, *flags: str) -> int:
    """``deepmod discover DATA --coords t,x --fields u --method weak`` with ``flags``."""
    return main(["discover", str(data), "--coords", "t,x", "--fields", "u", "--method", "weak", *flags])


def test_cli_ensemble_writes_the_uncertainty_and_reports_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "b.npz"
    save_npz(add_noise(burgers_delta().data, 0.1, seed=1), data)
    out = tmp_path / "r.json"
    code = _weak_ensemble(data, "--ensemble", "8", "--output", str(out), "--quiet")
    assert code == 0
    stored = json.loads(out.read_text())
    assert set(stored["uncertainty"]["u_t"]) >= {"u_xx", "u*u_x"}
    assert stored["equations"]["u_t"].keys() == {"u_xx", "u*u_x"}
    assert capsys.readouterr().out.strip().splitlines()[-1] == Result.load(out).equations[0].text()
    html = tmp_path / "r.html"
    assert (
        main(
            [
                "report",
                str(out),
                str(data),
                "--coords",
                "t,x",
                "--fields",
                "u",
                "--output",
                str(html),
                "--quiet",
                "--no-simulation",
            ]
        )
        == 0
    )
    assert "inclusion probabilities" in html.read_text() and "fitted by simulating it" in html.read_text()
    plain = tmp_path / "plain.json"
    assert _weak_ensemble(data, "--ensemble", "8", "--output", str(plain), "--quiet", "--no-simulation-refit") == 0
    expected = ensemble(load(data, ["t", "x"], ["u"]), deepmod.WeakForm(simulation_refit=None), members=8, seed=0)
    assert json.loads(plain.read_text())["equations"] == expected.coefficients != stored["equations"]


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--backend", "cluster"], "unknown backend 'cluster'"),
        (["--ray-address", "auto"], "--ray-address is for --backend ray"),
        (["--threshold", "1.5"], "--threshold must be in (0, 1]"),
    ],
)
def test_cli_ensemble_bad_options_get_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], says: str
) -> None:
    data = tmp_path / "b.npz"
    save_npz(burgers_delta().data, data)
    code = _weak_ensemble(data, "--ensemble", "2", *flags)
    err = capsys.readouterr().err
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1


def test_the_ray_backend_without_ray_names_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # import ray then fails, as where it is missing
    data = tmp_path / "b.npz"
    save_npz(burgers_delta().data, data)
    code = _weak_ensemble(data, "--ensemble", "2", "--backend", "ray")
    err = capsys.readouterr().err
    assert code == 2 and "deepmod[ray]" in err and len(err.strip().splitlines()) == 1
