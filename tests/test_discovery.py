"""End-to-end DeepMoD discovery: a small default run, reproducibility, and the slow acceptance cases."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

import deepmod
from deepmod.cli import main
from deepmod.data import burgers_delta

ROOT = Path(__file__).resolve().parents[1]


def _support_and_error(found: dict[str, dict[str, float]], truth: dict[str, dict[str, float]]) -> tuple[bool, float]:
    exact = all(set(found.get(k, {})) == set(v) for k, v in truth.items())
    err = max(abs(found.get(k, {}).get(t, 0.0) - c) / abs(c) for k, v in truth.items() for t, c in v.items())
    return exact, err


def test_small_burgers_discovery_is_correct() -> None:
    """Burgers from 1,000 scattered samples with 2 % noise: exact terms, coefficients within 5 %.

    5 % is the issue's bar for DeePyMoD's case at 5 % noise with 2,000 samples; here the data are cleaner
    and fewer, and measured errors are about 1 %.
    """
    system = burgers_delta()
    data = deepmod.subsample(deepmod.add_noise(system.data, 0.02, seed=1), 1000, seed=1)
    result = deepmod.discover(data, deepmod.DeepMoD(network=deepmod.DefaultNetwork(fuse=False)), seed=0)
    exact, err = _support_and_error(result.coefficients, system.truth)
    assert exact, str(result)
    assert err < 0.05, str(result)
    assert result.status == "converged"
    assert result.history.masks and result.history.iterations


def test_same_seed_gives_identical_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "b.npz"
    assert main(["example", "burgers", "--output", str(data), "--samples", "300", "--quiet"]) == 0
    outputs = []
    for name in ("a.json", "b.json"):
        argv = ["discover", str(data), "--coords", "t,x", "--fields", "u", "--max-iterations", "30"]
        assert main([*argv, "--output", str(tmp_path / name), "--quiet"]) == 0
        outputs.append((tmp_path / name).read_bytes())
    capsys.readouterr()
    assert outputs[0] == outputs[1]


def _benchmark():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("discovery_benchmark", ROOT / "benchmarks" / "discovery.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


BENCH = _benchmark()


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=c.known_gap)) if c.known_gap else c
        for c in BENCH.CASES
    ],
    ids=[c.name for c in BENCH.CASES],
)
def test_acceptance_case(case, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """The benchmark's case with the product's defaults (DeepMoD() fuses its kernels)."""
    if "mat" in case.name and not BENCH.SHARED.exists():
        pytest.skip("reference data not present")
    row, _ = BENCH.run(case)
    capsys.readouterr()
    assert row["correct"], row
