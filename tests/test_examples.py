"""Every example script runs (with its short settings) and prints an equation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RUNS = {
    "grid_discovery.py": ["--max-iterations", "300"],
    "scattered_samples.py": ["--max-iterations", "300"],
    "weak_mat_file.py": [],
    "universal_ode.py": ["--quick"],
    "simulate_and_report.py": ["--output", "{tmp}/report.html"],
}


def test_every_example_is_listed() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(RUNS)


@pytest.mark.parametrize("script", sorted(RUNS))
def test_example_runs(script: str, tmp_path: Path) -> None:
    args = [a.format(tmp=tmp_path) for a in RUNS[script]]
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "_t = " in done.stdout, done.stdout
    if script == "simulate_and_report.py":
        assert (tmp_path / "report.html").stat().st_size > 10_000
