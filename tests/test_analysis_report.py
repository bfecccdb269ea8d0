"""`flask analysis report` on the demo wave writes tables, charts, data files and a summary."""

import hashlib
import json
import pathlib
import subprocess
import sys

import pandas as pd
import pyreadstat
import pytest
from sqlalchemy import select

from survey import demo
from survey.db import db
from survey.definitions import bundle, load
from survey.instruments import frameworks as framework_service
from survey.instruments import service
from survey.instruments.models import FrameworkVersion, QuestionnaireVersion

ROOT = pathlib.Path(__file__).resolve().parents[1]


def session_versions(app) -> list:
    """Return every stored questionnaire and framework version."""
    with app.app_context():
        return [*db.session.scalars(select(QuestionnaireVersion)),
                *db.session.scalars(select(FrameworkVersion))]


@pytest.fixture
def seeded(app, session):
    """The bundled questionnaires and frameworks and the demo province with its simulated answers."""
    dirs = app.config["QUESTIONNAIRE_DIRS"]
    good, frameworks, errors = bundle.validate_with_frameworks(dirs, dirs)
    assert errors == []
    for definition in good:
        service.publish(session, definition)
    for framework in frameworks.values():
        framework_service.publish(session, framework)
    demo.seed(session, app.config["TOKEN_KEY"])
    session.commit()
    return app


def test_report_on_demo_wave(seeded, runner, tmp_path):
    """The report writes CSV/XLSX tables, SPSS and Stata files, charts and index.html."""
    out = tmp_path / "report"
    result = runner.invoke(args=["analysis", "report", "--wave", demo.WAVE_CODE, "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"index.html", "analysis.xlsx", "responses.sav", "responses.dta", "policy.json"} <= names
    assert any(n.startswith("sipas_") and n.endswith(".csv") for n in names)
    assert any(n.startswith("units_") and n.endswith(".png") for n in names)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "95%" in html and "provisional" in html
    _, meta = pyreadstat.read_sav(out / "responses.sav")
    assert meta.column_names_to_labels and meta.variable_value_labels


def test_report_with_jackknife_replicate_weights(seeded, runner, tmp_path):
    """--replicates jackknife adds one repw_ column per PSU and the svyset / svrepdesign instructions."""
    out = tmp_path / "report"
    result = runner.invoke(args=["analysis", "report", "--wave", demo.WAVE_CODE, "--out", str(out),
                                 "--replicates", "jackknife"])
    assert result.exit_code == 0, result.output
    frame, _ = pyreadstat.read_dta(out / "responses.dta")
    reps = [c for c in frame.columns if c.startswith("repw_")]
    assert reps and reps[0] == "repw_1" and (frame[reps] >= 0).all().all()
    text = (out / "replicate_weights.txt").read_text(encoding="utf-8")
    assert "vce(jackknife) mse" in text and "svrepdesign(" in text
    bad = runner.invoke(args=["analysis", "report", "--wave", demo.WAVE_CODE, "--out", str(out),
                              "--replicates", "brr"])
    assert bad.exit_code == 2 and "brr" in bad.output


def test_export_command_writes_inputs_for_python_m_analysis(seeded, runner, tmp_path):
    """The export writes the frozen documents as canonical JSON (hash = stored checksum) and no YAML."""
    out = tmp_path / "export"
    result = runner.invoke(args=["analysis", "export", "--wave", demo.WAVE_CODE, "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"responses.csv", "strata.csv", "sipas-service.json", "sipas-2023.json", "versions.json"} <= names
    assert not [n for n in names if n.endswith((".yaml", ".yml"))]
    stored = {v.checksum for v in session_versions(seeded)}
    for name in names - {"responses.csv", "strata.csv", "versions.json"}:
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() in stored, name
    manifest = json.loads((out / "versions.json").read_text(encoding="utf-8"))
    assert manifest["notes"] == [] and {d["file"] for d in manifest["documents"]} == names - {
        "responses.csv", "strata.csv", "versions.json"}


def test_python_m_analysis_on_the_export_gives_the_app_report(seeded, runner, tmp_path):
    """`python -m analysis --export DIR` writes the same tables as `flask analysis report`."""
    runner.invoke(args=["analysis", "export", "--wave", demo.WAVE_CODE, "--out", str(tmp_path / "e")])
    runner.invoke(args=["analysis", "report", "--wave", demo.WAVE_CODE, "--out", str(tmp_path / "app")])
    result = subprocess.run([sys.executable, "-m", "analysis", "--export", str(tmp_path / "e"), "--out",
                             str(tmp_path / "cli")], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    app_tables = {p.name: pd.read_csv(p) for p in (tmp_path / "app").glob("sipas_*.csv")}
    assert app_tables
    for name, table in app_tables.items():
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "cli" / name), table)


def test_export_of_an_unpinned_wave_falls_back_and_says_so(app, session, runner, tmp_path):
    """A wave assigned before its frameworks were stored uses the files and the export warns."""
    good, errors = load.load_paths(app.config["QUESTIONNAIRE_DIRS"])
    for definition in good:
        service.publish(session, definition)
    demo.seed(session, app.config["TOKEN_KEY"])
    session.commit()
    result = runner.invoke(args=["analysis", "export", "--wave", demo.WAVE_CODE, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert ("warning: framework sipas-2023: wave not pinned to a version; using the unpublished file, "
            "version 2023.1") in result.output
    manifest = json.loads((tmp_path / "versions.json").read_text(encoding="utf-8"))
    assert len(manifest["notes"]) == 2


def test_unknown_wave_is_a_clear_error(runner, tmp_path):
    """An unknown wave code stops with a message."""
    result = runner.invoke(args=["analysis", "report", "--wave", "NOPE", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "no wave 'NOPE'" in result.output


def test_a_wave_without_complete_responses_writes_nothing(session, runner, tmp_path):
    """The command says the wave has nothing to report and writes no file (the page's job says the same)."""
    from tests.factories import make_wave

    wave = make_wave(session)
    session.commit()
    out = tmp_path / "report"
    result = runner.invoke(args=["analysis", "report", "--wave", wave.code, "--out", str(out)])
    assert result.exit_code != 0 and f"wave {wave.code} has no complete responses yet" in result.output
    assert not out.exists() or not any(out.iterdir())
