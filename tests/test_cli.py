"""The command line: every bad input gives one line on stderr, exit code 2 and no output file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli as _run
from deepmod.cli import main
from deepmod.data import save_npz


@pytest.fixture
def good(tmp_path: Path) -> Path:
    t, x = np.linspace(0, 1, 20), np.linspace(0, 1, 30)
    np.savez(tmp_path / "good.npz", t=t, x=x, u=np.sin(np.add.outer(t, x)))
    return tmp_path / "good.npz"


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    t, x = np.linspace(0, 1, 20), np.linspace(0, 1, 30)
    u = np.sin(np.add.outer(t, x))
    cases: dict[str, tuple[Path, str]] = {}

    def npz(name: str, message: str, **arrays: np.ndarray) -> None:
        np.savez(tmp / f"{name}.npz", **arrays)
        cases[name] = (tmp / f"{name}.npz", message)

    npz("nan", "NaN", t=t, x=x, u=np.where(u > 0.9, np.nan, u))
    npz("inf", "infinite", t=t, x=x, u=np.where(u > 0.9, np.inf, u))
    npz("mismatch", "does not match", t=t, x=x[:-3], u=u)
    npz("unsorted", "not sorted", t=t[::-1], x=x, u=u)
    npz("duplicate", "duplicate", t=np.r_[t[:-1], t[-2]], x=x, u=u)
    npz("strings", "not numeric", t=t, x=x, u=np.full(u.shape, "a"))
    npz("few", "at least", t=t[:2], x=x, u=u[:2])
    npz("one_time", "at least", t=t[:1], x=x, u=u[:1])
    rng = np.random.default_rng(0)
    npz("tiny", "library has", t=rng.random(12), x=rng.random(12), u=rng.random(12))
    npz("empty", "empty", t=np.array([]), x=x, u=np.zeros((0, 30)))
    npz("complex", "u.real", t=t, x=x, u=u + 1j * u)
    np.save(tmp / "objects.npy", np.array([1]))
    np.savez(tmp / "pickled.npz", t=t, x=x, u=np.array([{"a": 1}], dtype=object))
    cases["pickled"] = (tmp / "pickled.npz", "pickles")
    (tmp / "garbage.npz").write_bytes(b"\x00\x01garbage")
    cases["garbage"] = (tmp / "garbage.npz", "not a readable")
    (tmp / "garbage.mat").write_bytes(b"\x00\x01garbage")
    cases["garbage_mat"] = (tmp / "garbage.mat", "not a readable")
    (tmp / "bad.csv").write_text("t,x,u\n1,2,3\n4,five,6\n")
    cases["csv"] = (tmp / "bad.csv", "non-numeric")
    (tmp / "ragged.csv").write_text("t,x,u\n1,2,3\n4,5\n")
    cases["ragged"] = (tmp / "ragged.csv", "columns")
    cases["missing"] = (tmp / "nope.npz", "does not exist")
    cases["directory"] = (tmp, "directory")
    (tmp / "data.txt").write_text("1 2 3")
    cases["extension"] = (tmp / "data.txt", "unknown file type")
    return cases


CASES = [
    "nan",
    "inf",
    "mismatch",
    "unsorted",
    "duplicate",
    "strings",
    "few",
    "one_time",
    "tiny",
    "empty",
    "complex",
    "pickled",
    "garbage",
    "garbage_mat",
    "csv",
    "ragged",
    "missing",
    "directory",
    "extension",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_files_exit_2_with_one_line(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, message = _bad_files(tmp_path)[case]
    out_file = tmp_path / "out.json"
    code, _, err = _run(["discover", str(path), "--coords", "t,x", "--fields", "u", "--output", str(out_file)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("deepmod: error:") and message in err
    assert "Traceback" not in err
    assert not out_file.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fields", "w"], "no array named 'w'"),
        (["--coords", "t,y"], "no array named 'y'"),
        (["--method", "magic"], "unknown method"),
        (["--poly-order", "-1"], "between 0 and 6"),
        (["--diff-order", "9"], "between 0 and 5"),
        (["--samples", "0"], ">= 1"),
        (["--device", "tpu"], "unknown device"),
        (["--output", "/no/such/folder/r.json"], "does not exist"),
        (["--checkpoint", "/no/such/folder/r.ckpt"], "does not exist"),
        (["--resume", "/no/such/run.ckpt"], "does not exist"),
        (["--coords", "x,t"], "time comes first"),
    ],
)
def test_bad_options_exit_2(args: list[str], message: str, good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = {"--coords": "t,x", "--fields": "u"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    argv = ["discover", str(good)] + [a for kv in base.items() for a in kv] + ["--max-iterations", "1"]
    code, _, err = _run(argv, capsys)
    assert code == 2 and message in err and err.count("\n") == 1


def test_fd_on_uneven_times_and_usage_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = np.cumsum(np.linspace(1.0, 2.0, 40)) / 20
    np.savez(tmp_path / "ode.npz", t=t, x=np.sin(t), y=np.cos(t))
    code, _, err = _run(
        ["discover", str(tmp_path / "ode.npz"), "--coords", "t", "--fields", "x,y", "--method", "fd"], capsys
    )
    assert code == 2 and "evenly spaced" in err and err.count("\n") == 1 and "Traceback" not in err
    code, _, err = _run(
        ["discover", str(tmp_path / "ode.npz"), "--coords", "t", "--fields", "x,y", "--poly-order", "0"], capsys
    )
    assert code == 2 and "poly_order 0" in err and err.count("\n") == 1
    t2, x2 = np.linspace(0, 1, 20), np.linspace(0, 1, 30)
    gappy = np.where(np.random.default_rng(0).random((20, 30)) < 0.05, np.nan, np.sin(np.add.outer(t2, x2)))
    np.savez(tmp_path / "gaps.npz", t=t2, x=x2, u=gappy)
    gaps = [str(tmp_path / "gaps.npz"), "--coords", "t,x", "--fields", "u", "--method", "weak", "--mask-nan"]
    code, _, err = _run(["discover", *gaps], capsys)
    assert code == 2 and "whole grid" in err and err.count("\n") == 1
    code, _, err = _run(["--bogus"], capsys)
    assert code == 2 and err.endswith("(see deepmod --help)\n")  # the command is named once
    code, _, err = _run(["discover"], capsys)
    assert code == 2 and err.endswith("(see deepmod discover --help)\n")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "deepmod 0.1.0" in capsys.readouterr().out


def test_example_writes_loadable_data_with_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b.npz"
    code, text, _ = _run(["example", "burgers", "--output", str(out), "--noise", "0.05", "--samples", "500"], capsys)
    assert code == 0 and "true: u_t" in text
    with np.load(out) as d:
        assert sorted(d.files) == ["t", "u", "x"] and d["u"].shape == (500,)


def test_output_json_lists_active_terms(good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    code, text, _ = _run(
        [
            "discover",
            str(good),
            "--coords",
            "t,x",
            "--fields",
            "u",
            "--max-iterations",
            "5",
            "--output",
            str(out),
        ],
        capsys,
    )
    assert code == 0 and text.startswith("u_t =")
    result = json.loads(out.read_text())
    assert set(result["equations"]) == {"u_t"}
    assert result["status"] == "max_iterations" and result["iterations"] == 5
    assert not list(tmp_path.glob(".r.json.*"))


def test_console_script_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "deepmod.cli", "--version"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stdout.startswith("deepmod")


def test_every_registered_method_runs_from_discover_and_is_listed_in_its_help(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--method NAME`` for each name in the registry writes a result of that method, and ``discover --help``
    lists every name with its line of help from the registry. Data: the built-in Burgers, exact, on its grid;
    the built-in Lotka-Volterra record for the universal ODE; the 24-point discrete heat equation for the
    universal PDE (its refits through the solver cost minutes on Burgers' grid). Training is capped at 200
    iterations (DeepMoD on 500 samples), so only that each ran is checked."""
    from conftest import heat_data
    from deepmod.cli.registry import METHODS

    burgers, lv, heat = tmp_path / "burgers.npz", tmp_path / "lv.npz", tmp_path / "heat.npz"
    assert main(["example", "burgers", "--output", str(burgers), "--quiet"]) == 0
    assert main(["example", "lotka-volterra", "--output", str(lv), "--quiet"]) == 0
    save_npz(heat_data(), heat)
    layouts = {"ude": (lv, "t", "x,y"), "upde": (heat, "t,x", "u")}
    for name in METHODS:
        out = tmp_path / f"{name}.json"
        data, coords, fields = layouts.get(name, (burgers, "t,x", "u"))
        argv = ["discover", str(data), "--coords", coords, "--fields", fields, "--method", name, "--quiet"]
        capped = ["--max-iterations", "200", "--samples", "500", "--no-fuse"]
        code, _, err = _run([*argv, *capped, "--output", str(out)], capsys)
        assert code == 0, err
        assert json.loads(out.read_text())["method"] == name
    code, out, _ = _run(["discover", "--help"], capsys)
    shown = re.sub(r"-\s+", "-", " ".join(out.split()))  # argparse wraps at hyphens too
    assert code == 0
    for name, entry in METHODS.items():
        assert f"{name}: {entry.summary}" in shown
