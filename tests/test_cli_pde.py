"""``deepmod upde`` and ``deepmod coarsen`` from the command line: small runs end to end, bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import heat_data
from conftest import run_cli as _run
from deepmod.data.loaders import save_npz
from deepmod.data.spectral import burgers_periodic


@pytest.fixture
def heat(tmp_path: Path) -> Path:
    save_npz(heat_data(), tmp_path / "heat.npz")
    return tmp_path / "heat.npz"


def test_upde_learns_a_stencil_and_writes_the_equation(
    heat: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The exact discrete heat equation with only a stencil learned: u_t = 0.05 u_xx (1 % after 40 iterations a
    stage: the data are exact, the cap on iterations is what is left)."""
    out = tmp_path / "r.json"
    argv = ["upde", str(heat), "--coords", "t,x", "--fields", "u", "--stencil", "3", "--max-iterations", "40"]
    code, printed, err = _run([*argv, "--quiet", "--output", str(out)], capsys)
    assert code == 0, err
    equations = json.loads(out.read_text())["equations"]["u_t"]
    assert set(equations) == {"u_xx"} and equations["u_xx"] == pytest.approx(0.05, rel=0.01)
    assert "u_xx" in printed


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--stencil", "4"], "odd width"),
        (["--known", "u_t = 0.1*v_xx"], "--known"),
        (["--segments", "40"], "--segments"),
    ],
)
def test_upde_bad_options_exit_2(
    extra: list[str], message: str, heat: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(["upde", str(heat), "--coords", "t,x", "--fields", "u", *extra], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_upde_refuses_a_time_series(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = np.linspace(0, 1, 30)
    np.savez(tmp_path / "ode.npz", t=t, x=np.sin(t), y=np.cos(t))
    code, _, err = _run(["upde", str(tmp_path / "ode.npz"), "--coords", "t", "--fields", "x,y"], capsys)
    assert code == 2 and "one or two space coordinates" in err


def _runs(tmp_path: Path, n: int) -> list[str]:
    data = burgers_periodic(runs=n, viscosity=0.05, n_x=64, t=np.linspace(0, 0.5, 6), seed=0, resolution=256).data
    paths = []
    for k, run in enumerate(data.trajectories):
        save_npz(run, tmp_path / f"run{k}.npz")
        paths.append(str(tmp_path / f"run{k}.npz"))
    return paths


def test_coarsen_trains_and_rolls_out_the_held_out_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "c.json"
    argv = ["coarsen", *_runs(tmp_path, 3), "--coords", "t,x", "--fields", "u", "--iterations", "20"]
    code, printed, err = _run([*argv, "--equation", "u_t = 0.05*u_xx - u*u_x", "--output", str(out)], capsys)
    assert code == 0, err
    report = json.loads(out.read_text())
    assert report["coarse_points"] == 16 and [r["run"] for r in report["held_out"]] == [2]
    assert all(np.isfinite(r["learned"]) and np.isfinite(r["fornberg"]) for r in report["held_out"])
    assert "Fornberg" in printed


def test_coarsen_needs_a_held_out_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["coarsen", *_runs(tmp_path, 1), "--coords", "t,x", "--fields", "u", "--equation", "u_t = u_xx"]
    code, _, err = _run([*argv, "--output", str(tmp_path / "c.json")], capsys)
    assert code == 2 and "--held-out" in err
