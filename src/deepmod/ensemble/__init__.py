"""Many runs of one method: bootstrap ensembles with inclusion probabilities and intervals
(:func:`ensemble`) and sweeps over noise levels, seeds and methods (:func:`sweep`), on serial, process or Ray
backends (:mod:`deepmod.ensemble.backends`)."""

from deepmod.ensemble.backends import Backend, Interrupted, Job, Outcomes, Processes, Ray, Serial, Task
from deepmod.ensemble.members import MemberOutcome, MemberTask, Summary, member_seeds, summarise
from deepmod.ensemble.run import THRESHOLD, ensemble
from deepmod.ensemble.sweep import SweepRow, SweepTable, score, sweep

__all__ = [
    "THRESHOLD",
    "Backend",
    "Interrupted",
    "Job",
    "MemberOutcome",
    "MemberTask",
    "Outcomes",
    "Processes",
    "Ray",
    "Serial",
    "Summary",
    "SweepRow",
    "SweepTable",
    "Task",
    "ensemble",
    "member_seeds",
    "score",
    "summarise",
    "sweep",
]
