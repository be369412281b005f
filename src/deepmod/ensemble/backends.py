"""Where many runs go: in this process (:class:`Serial`), in worker processes on this machine
(:class:`Processes`) or on a Ray cluster (:class:`Ray`), behind one small interface, :meth:`Backend.map`.

A backend runs a :class:`Task` (a picklable callable: ``task(index, stop)`` gives the outcome of run
``index``) for each index of a :class:`Job`. Every backend sends the task to each worker once, reports each
finished run as it comes in, runs again a run whose worker died (and reports it as failed if it still fails,
never drops it), and on a stop request ends every run and returns what is finished.
"""

from __future__ import annotations

import abc
import multiprocessing
import os
import queue
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from deepmod.control import RunControl
from deepmod.errors import require

POLL = 0.2
"""Seconds between looks at the stop request and the workers while runs go on."""


class Interrupted(Exception):
    """Raised by a task whose run was ended by the stop request before it finished."""


class Task(abc.ABC):
    """One kind of run, numbered: everything a worker needs, sent to it once (so it must pickle)."""

    @abc.abstractmethod
    def __call__(self, index: int, control: RunControl | None = None) -> Any:
        """Run ``index``. ``control`` (in-process runs only): once its stop is set, end early and raise
        :class:`Interrupted`."""


@dataclass
class Job:
    """A task over ``indices``; ``on_done(index, outcome)`` sees each run as it finishes; once ``control``'s
    stop is set, the backend ends every run."""

    task: Task
    indices: Sequence[int]
    on_done: Callable[[int, Any], None] | None = None
    control: RunControl = field(default_factory=RunControl)

    def stopped(self) -> bool:
        return self.control.stopped()

    def done(self, out: Outcomes, index: int, outcome: Any) -> None:
        out.finished[index] = outcome
        if self.on_done is not None:
            self.on_done(index, outcome)


@dataclass
class Outcomes:
    """What a backend brings back: the finished runs' outcomes by index, the runs that failed (index: why),
    and whether a stop request ended the job."""

    finished: dict[int, Any] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    interrupted: bool = False


class Backend(abc.ABC):
    """Runs the indices of a :class:`Job`."""

    name: ClassVar[str]

    @abc.abstractmethod
    def map(self, job: Job) -> Outcomes:
        """Run ``job.task`` for each of ``job.indices``."""


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@dataclass(frozen=True)
class Serial(Backend):
    """One run after another in this process; a stop request reaches the running one."""

    name: ClassVar[str] = "serial"

    def map(self, job: Job) -> Outcomes:
        out = Outcomes()
        for index in job.indices:
            if job.stopped():
                out.interrupted = True
                break
            try:
                outcome = job.task(index, job.control)
            except Interrupted:
                out.interrupted = True
                break
            except Exception as exc:  # the run's own error, recorded as the other backends do
                out.failed[index] = _error(exc)
                continue
            job.done(out, index, outcome)
        return out


def _worker(task: Task, inbox: Any, outbox: Any, slot: int) -> None:
    """A worker process: runs the indices it is sent (``None`` ends it), one at a time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the parent, which ends the workers
    while (index := inbox.get()) is not None:
        try:
            outbox.put((slot, index, True, task(index)))
        except Exception as exc:  # the run's own error: it would repeat, so it is not run again
            outbox.put((slot, index, False, _error(exc)))


@dataclass
class _Slot:
    """One worker process, its own inbox and the index it runs (``None``: idle)."""

    process: Any
    inbox: Any
    index: int | None = None


@dataclass(frozen=True)
class Processes(Backend):
    """Runs in ``workers`` spawned processes on this machine (each is sent the task once, at its start). A run
    whose worker died is given to a fresh worker, up to ``retries`` times.

    Attributes:
        workers: how many processes; ``None``: one per CPU core.
    """

    workers: int | None = None
    retries: int = 2
    name: ClassVar[str] = "process"

    def map(self, job: Job) -> Outcomes:
        context = multiprocessing.get_context("spawn")
        outbox = context.Queue()
        pending, deaths, out = list(job.indices), dict.fromkeys(job.indices, 0), Outcomes()
        n = min(len(pending), self.workers or os.cpu_count() or 1)
        slots = [self._start(context, job.task, outbox, k) for k in range(n)]
        try:
            while pending or any(s.index is not None for s in slots):
                if job.stopped():
                    out.interrupted = True
                    break
                for slot in slots:
                    if slot.index is None and pending:
                        slot.index = pending.pop(0)
                        slot.inbox.put(slot.index)
                self._collect(job, outbox, slots, out)
                for k, slot in enumerate(slots):
                    if slot.index is not None and not slot.process.is_alive():
                        index, slot.index = slot.index, None
                        deaths[index] += 1
                        if deaths[index] > self.retries:
                            out.failed[index] = f"its worker process died {deaths[index]} times"
                        else:
                            pending.insert(0, index)
                        slots[k] = self._start(context, job.task, outbox, k)
        finally:
            for slot in slots:
                if out.interrupted or slot.index is not None:
                    slot.process.terminate()
                else:
                    slot.inbox.put(None)
            for slot in slots:
                slot.process.join()
        return out

    @staticmethod
    def _start(context: Any, task: Task, outbox: Any, k: int) -> _Slot:
        inbox = context.SimpleQueue()
        process = context.Process(target=_worker, args=(task, inbox, outbox, k), daemon=True)
        process.start()
        return _Slot(process, inbox)

    @staticmethod
    def _collect(job: Job, outbox: Any, slots: list[_Slot], out: Outcomes) -> None:
        """Take what the workers sent within :data:`POLL` seconds."""
        try:
            message = outbox.get(timeout=POLL)
        except queue.Empty:
            return
        while True:
            slot, index, ok, value = message
            if slots[slot].index == index:
                slots[slot].index = None
                if ok:
                    job.done(out, index, value)
                else:
                    out.failed[index] = value
            try:
                message = outbox.get_nowait()
            except queue.Empty:
                return


def _ray_run(task: Task, index: int) -> Any:
    return task(index)


@dataclass(frozen=True)
class Ray(Backend):
    """Runs as Ray tasks (one CPU each) on the cluster at ``address``, or on a local cluster started for the
    job and shut down after it when Ray is not already running. The task goes into the object store once;
    Ray runs a task again, up to ``retries`` times, when its worker dies.

    Attributes:
        address: a cluster's address (``ray://host:10001``, ``auto``); ``None``: Ray's own choice (the
            ``RAY_ADDRESS`` of the environment where it is set, else a local cluster).
    """

    address: str | None = None
    retries: int = 3
    name: ClassVar[str] = "ray"

    def map(self, job: Job) -> Outcomes:
        ray = require("ray", "ray")
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            return self._collect(ray, job)
        finally:
            if started:
                ray.shutdown()

    def _collect(self, ray: Any, job: Job) -> Outcomes:
        out = Outcomes()
        shared = ray.put(job.task)
        remote = ray.remote(num_cpus=1, max_retries=self.retries, retry_exceptions=False)(_ray_run)
        refs = {remote.remote(shared, i): i for i in job.indices}
        while refs:
            if job.stopped():
                out.interrupted = True
                for ref in refs:
                    ray.cancel(ref, force=True)
                break
            done, _ = ray.wait(list(refs), num_returns=1, timeout=POLL)
            for ref in done:
                index = refs.pop(ref)
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:  # the run's own error
                    out.failed[index] = _error(exc.cause if exc.cause is not None else exc)
                    continue
                except ray.exceptions.RayError as exc:  # its worker died more often than it was run again
                    out.failed[index] = f"its Ray worker died {self.retries + 1} times ({_error(exc)})"
                    continue
                job.done(out, index, outcome)
        return out
