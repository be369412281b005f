"""The Ray backend on a local cluster that these tests start and stop: the same bytes as the serial backend,
and an ensemble that completes with every member when a worker is killed mid-run (skipped without Ray:
``pip install "deepmod[ray]"``)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import deepmod
from deepmod.data import add_noise, burgers_delta
from deepmod.ensemble import Ray, ensemble
from deepmod.method import Problem
from deepmod.result import Result

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    here = str(Path(__file__).parent)  # the workers import this module's test method
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={"env_vars": {"PYTHONPATH": here}},
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def burgers10() -> deepmod.Dataset:
    return add_noise(burgers_delta().data, 0.10, seed=0)


@pytest.mark.usefixtures("cluster")
def test_ray_and_serial_give_the_same_bytes(burgers10: deepmod.Dataset) -> None:
    serial = ensemble(burgers10, deepmod.WeakForm(), members=6, seed=3)
    on_ray = ensemble(burgers10, deepmod.WeakForm(), members=6, seed=3, backend=Ray())
    assert json.dumps(serial.to_dict()) == json.dumps(on_ray.to_dict())


@dataclass(frozen=True)
class _Marked(deepmod.WeakForm):
    """The weak method, but each run first writes its process id to ``folder`` and waits a second (time for
    the test to kill it)."""

    folder: str = ""

    def run(self, problem: Problem) -> Result:
        Path(self.folder, f"{os.getpid()}-{time.monotonic_ns()}").touch()
        time.sleep(1.0)
        return super().run(problem)


@pytest.mark.usefixtures("cluster")
def test_an_ensemble_completes_when_a_ray_worker_is_killed(burgers10: deepmod.Dataset, tmp_path: Path) -> None:
    """The first worker to start a member is killed (SIGKILL) while it runs: Ray runs that member again, and
    the result has every member, the same as the serial run's."""
    killed: list[int] = []

    def kill_first() -> None:
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            started = sorted(tmp_path.iterdir(), key=lambda p: int(p.name.split("-")[1]))
            if started:
                pid = int(started[0].name.split("-")[0])
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.05)

    killer = threading.Thread(target=kill_first)
    killer.start()
    result = ensemble(burgers10, _Marked(folder=str(tmp_path)), members=4, seed=1, backend=Ray())
    killer.join()
    assert killed, "no worker started a member within a minute"
    assert result.settings["ensemble"]["finished"] == 4 and not result.settings["ensemble"]["failed"]
    serial = ensemble(burgers10, deepmod.WeakForm(), members=4, seed=1)
    assert result.coefficients == serial.coefficients and result.uncertainty == serial.uncertainty
