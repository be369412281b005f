"""Interruption and resumption: a stop request ends training cleanly; a checkpoint continues it exactly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from deepmod import discover
from deepmod.control import Callback, RunControl, Step
from deepmod.data import Dataset
from deepmod.errors import InputError
from deepmod.neural import DeepMoD, DefaultNetwork, Schedule


def _burgers_like(n_t: int = 30, n_x: int = 40) -> Dataset:
    t, x = np.linspace(0.1, 1.0, n_t), np.linspace(-2.0, 2.0, n_x)
    u = np.exp(-(x[None, :] ** 2) / (4 * 0.1 * t[:, None] + 0.2))
    return Dataset({"t": t, "x": x}, {"u": u}, grid=True)


class _StopAt(Callback):
    def __init__(self, stop: threading.Event, iteration: int) -> None:
        self.stop, self.iteration = stop, iteration

    def on_step(self, step: Step) -> None:
        if step.iteration >= self.iteration:
            self.stop.set()


def test_stop_then_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    data = _burgers_like()
    schedule = Schedule(max_iterations=200, check_every=50, min_iterations=50)
    method = DeepMoD(schedule=schedule, max_samples=400, network=DefaultNetwork(fuse=False))
    full = discover(data, method, seed=3)

    stop = threading.Event()
    ckpt = tmp_path / "run.ckpt"
    part = discover(data, method, seed=3, control=RunControl([_StopAt(stop, 100)], stop, checkpoint=ckpt))
    assert part.status == "interrupted" and part.iterations == 100 and ckpt.is_file()

    resumed = discover(data, method, seed=3, control=RunControl(resume=ckpt))
    assert resumed.iterations == full.iterations and resumed.status == full.status
    assert resumed.coefficients == full.coefficients
    assert resumed.history.validation_loss == full.history.validation_loss


def test_resume_refuses_a_checkpoint_of_other_data(tmp_path: Path) -> None:
    stop = threading.Event()
    stop.set()
    ckpt = tmp_path / "run.ckpt"
    data = _burgers_like()
    method = DeepMoD(max_samples=300, network=DefaultNetwork(fuse=False))
    discover(data, method, seed=0, control=RunControl(stop=stop, checkpoint=ckpt))
    with pytest.raises(InputError, match="other data"):
        discover(data, method, seed=1, control=RunControl(resume=ckpt))
    (tmp_path / "junk.ckpt").write_bytes(b"\x80\x04junk")
    with pytest.raises(InputError, match="not a readable deepmod checkpoint"):
        discover(data, method, seed=0, control=RunControl(resume=tmp_path / "junk.ckpt"))


def test_sigint_during_discovery_on_a_101_by_256_grid(tmp_path: Path) -> None:
    t, x = np.linspace(0.1, 10.0, 101), np.linspace(-8.0, 8.0, 256)
    u = np.exp(-(x[None, :] ** 2) / (4 * 0.1 * t[:, None] + 1.0)) * np.cos(x[None, :] - t[:, None])
    data = tmp_path / "grid.npz"
    np.savez(data, t=t, x=x, u=u)
    out = tmp_path / "r.json"
    argv = [sys.executable, "-m", "deepmod.cli", "discover", str(data), "--coords", "t,x", "--fields", "u"]
    proc = subprocess.Popen(
        [*argv, "--output", str(out), "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(8)
    proc.send_signal(signal.SIGINT)
    start = time.perf_counter()
    _, err = proc.communicate(timeout=30)
    assert time.perf_counter() - start < 30
    assert "Traceback" not in err
    if proc.returncode == 130 and "interrupted at iteration" in err:
        result = json.loads(out.read_text())
        assert result["status"] == "interrupted" and set(result["equations"]) == {"u_t"}
        assert Path(f"{out}.ckpt").is_file()
    else:  # the signal came before training began: nothing written
        assert proc.returncode == 130 and not out.exists()


def test_sigint_during_an_ensemble_keeps_the_finished_members(tmp_path: Path) -> None:
    """Ctrl-C while DeepMoD members run in two worker processes: the command ends within 30 s with status
    130, and what it wrote (if a member had finished) is the finished members' aggregate, marked interrupted."""
    data = tmp_path / "grid.npz"
    source = _burgers_like()
    np.savez(data, t=source.coords["t"], x=source.coords["x"], u=source.fields["u"])
    out = tmp_path / "r.json"
    argv = [sys.executable, "-m", "deepmod.cli", "discover", str(data), "--coords", "t,x", "--fields", "u"]
    flags = ["--ensemble", "8", "--backend", "process", "--workers", "2", "--samples", "400", "--quiet"]
    proc = subprocess.Popen(
        [*argv, *flags, "--output", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    time.sleep(20)
    proc.send_signal(signal.SIGINT)
    start = time.perf_counter()
    _, err = proc.communicate(timeout=60)
    assert time.perf_counter() - start < 30
    assert proc.returncode == 130 and "Traceback" not in err, err
    if out.exists():
        result = json.loads(out.read_text())
        assert result["status"] == "interrupted" and "of 8 members finished" in err
        assert 1 <= result["settings"]["ensemble"]["finished"] < 8
    else:
        assert "before any member of the ensemble finished" in err
