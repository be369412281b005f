"""The HTML report: self-contained, with the equation, data, fit, history and simulation as embedded images."""

from __future__ import annotations

import base64
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from deepmod.api import discover, make_library
from deepmod.classical import WeakForm
from deepmod.cli import main
from deepmod.control import Callback, RunControl, Step
from deepmod.data import add_noise, save_npz
from deepmod.data.synthetic import burgers_delta
from deepmod.equation import Equation
from deepmod.neural import DeepMoD, DefaultNetwork, Schedule
from deepmod.report import build_report
from deepmod.report.figures import equation_latex
from deepmod.terms import Symbols


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.external: list[str] = []
        self.headings: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "img":
            self.sources.append(attributes.get("src") or "")
        if tag in ("script", "link") or (tag == "img" and not (attributes.get("src") or "").startswith("data:")):
            self.external.append(tag)
        self._in_h2 = tag == "h2"

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings.append(data)
            self._in_h2 = False


def _parse(path: Path) -> _Images:
    parser = _Images()
    parser.feed(path.read_text())
    return parser


def _burgers(tmp_path: Path) -> Path:
    system = burgers_delta(x=np.linspace(-3, 4, 128), t=np.linspace(0.5, 5, 60))
    path = tmp_path / "b.npz"
    save_npz(add_noise(system.data, 0.02, seed=0), path)
    return path


def test_report_from_a_weak_result_embeds_every_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data, result, report = _burgers(tmp_path), tmp_path / "r.json", tmp_path / "report.html"
    common = ["--coords", "t,x", "--fields", "u"]
    assert main(["discover", str(data), *common, "--method", "weak", "--output", str(result)]) == 0
    assert main(["report", str(result), str(data), *common, "--output", str(report), "--quiet"]) == 0
    assert capsys.readouterr().out.count("u_t =") == 1  # --quiet: nothing else printed
    parsed = _parse(report)
    assert parsed.external == []  # self-contained: no scripts, no stylesheets, no linked images
    assert len(parsed.sources) == 7  # equation, data, weak fit, pointwise fit, selection, simulation, snapshots
    for src in parsed.sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"Discovered equation", "Data", "Simulation against the data"} <= set(parsed.headings)
    assert "Fit on the weak form: the model against the data's integrals" in parsed.headings
    text = report.read_text()
    assert "Relative L2 error over the data" in text and "weak residual" in text
    assert "<table class='settings'>" in text and '"test_functions"' not in text  # a table, not a JSON dump


def test_the_weak_residual_judges_a_model_on_its_own_terms() -> None:
    """The true Burgers model on its exact data leaves a weak residual near the quadrature's; a wrong
    coefficient a large one; a term that is no derivative of a monomial leaves the judgement to the
    pointwise view (None)."""
    from deepmod.method import symbols_for
    from deepmod.report.html import settings_table, weak_fit

    data = burgers_delta().data
    symbols = symbols_for(data)
    right = weak_fit(data, [Equation("u_t", {"u*u_x": -1.0, "u_xx": 0.1})], symbols)
    wrong = weak_fit(data, [Equation("u_t", {"u*u_x": -1.0, "u_xx": 0.2})], symbols)
    assert right is not None and wrong is not None and right[1] < 0.01 < 0.1 < wrong[1]
    assert weak_fit(data, [Equation("u_t", {"u_x^2": 1.0})], symbols) is None
    table = settings_table({"rows": 260, "path": list(range(40)), "fit": {"u": 0.123456}})
    assert "... 40 in all" in table and "fit / u" in table and "0.1235" in table


def test_report_from_a_deepmod_result_shows_the_training_history(tmp_path: Path) -> None:
    data, result, report = _burgers(tmp_path), tmp_path / "r.json", tmp_path / "report.html"
    common = ["--coords", "t,x", "--fields", "u"]
    argv = ["discover", str(data), *common, "--max-iterations", "300", "--quiet", "--output", str(result)]
    assert main(argv) == 0
    argv = ["report", str(result), str(data), *common, "--output", str(report), "--quiet", "--no-simulation"]
    assert main(argv) == 0
    parsed = _parse(report)
    assert "Training history" in parsed.headings
    assert len(parsed.sources) == 5  # equation, data, fit, losses, coefficients


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium not installed")
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    data, result, report = _burgers(tmp_path), tmp_path / "r.json", tmp_path / "report.html"
    common = ["--coords", "t,x", "--fields", "u"]
    assert main(["discover", str(data), *common, "--method", "weak", "--output", str(result)]) == 0
    assert main(["report", str(result), str(data), *common, "--output", str(report), "--quiet"]) == 0
    shot = tmp_path / "shot.png"
    chromium = shutil.which("chromium")
    assert chromium is not None
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1200,3000",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    from matplotlib.image import imread

    pixels = imread(shot)
    assert pixels.shape[:2] == (3000, 1200)
    assert np.std(pixels[:, :, :3]) > 0.1  # plots drawn, not a blank page


def test_equations_typeset_in_mathtext() -> None:
    symbols = Symbols(fields=("u",), space=("x",))
    eq = Equation("u_t", {"u_xx": 0.1, "u*u_x": -1.0, "u^2": 2.5})
    assert equation_latex(eq, symbols) == r"u_{t} = 0.1\,u_{xx} - 1\,u\,u_{x} + 2.5\,u^{2}"


def test_training_callbacks_receive_losses_and_coefficients() -> None:
    class Recorder(Callback):
        def __init__(self) -> None:
            self.records: list[dict[str, float]] = []

        def on_step(self, step: Step) -> None:
            self.records.append(dict(step.values))

    recorder = Recorder()
    system = burgers_delta()
    method = DeepMoD(schedule=Schedule(max_iterations=200), network=DefaultNetwork(fuse=False))
    discover(system.data, method, make_library(system.data), control=RunControl([recorder]))
    assert len(recorder.records) == 200 // method.schedule.check_every
    assert {"loss/data", "loss/regression", "loss/validation", "coef/u_t/u_xx"} <= set(recorder.records[-1])


def test_tensorboard_logger_writes_events(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    data = _burgers(tmp_path)
    argv = ["discover", str(data), "--coords", "t,x", "--fields", "u", "--max-iterations", "200", "--quiet"]
    assert main([*argv, "--tensorboard", str(tmp_path / "tb")]) == 0
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))


def test_the_report_chooses_its_sections_from_the_evidence_type() -> None:
    """A weak selection's evidence has a type of its own, kept through a save and load (a weak result saved
    before it had one, as ``"selection"``, loads as a weak selection too); the report's weak-form section
    follows that type, never the method's name."""
    from deepmod.result import Result, SelectionEvidence, WeakSelectionEvidence

    data = burgers_delta().data
    weak = discover(data, WeakForm())
    assert type(weak.evidence) is WeakSelectionEvidence
    stored = weak.to_dict()
    assert type(Result.from_dict(stored).evidence) is WeakSelectionEvidence
    older = {**stored, "evidence": {**stored["evidence"], "kind": "selection"}}
    assert type(Result.from_dict(older).evidence) is WeakSelectionEvidence
    renamed = Result.from_dict({**stored, "method": "mine"})
    assert type(renamed.evidence) is WeakSelectionEvidence
    titles = [title for title, _ in build_report(renamed, data, None).sections]
    assert "Fit on the weak form: the model against the data's integrals" in titles
    pointwise = Result.from_dict({**stored, "evidence": {**stored["evidence"], "kind": "selection"}, "method": "fd"})
    assert type(pointwise.evidence) is SelectionEvidence
    assert "Fit on the weak form: the model against the data's integrals" not in [
        title for title, _ in build_report(pointwise, data, None).sections
    ]
