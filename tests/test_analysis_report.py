"""`flask analysis report` on the demo wave writes tables, charts, data files and a summary."""

import pyreadstat
import pytest

from survey import demo
from survey.definitions import load
from survey.instruments import service


@pytest.fixture
def seeded(app, session):
    """The bundled questionnaires and the demo province with its simulated answers."""
    good, errors = load.load_paths(app.config["QUESTIONNAIRE_DIRS"])
    assert errors == []
    for definition in good:
        service.publish(session, definition)
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


def test_export_command_writes_inputs_for_python_m_analysis(seeded, runner, tmp_path):
    """The export command writes what `python -m analysis` reads."""
    out = tmp_path / "export"
    result = runner.invoke(args=["analysis", "export", "--wave", demo.WAVE_CODE, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {"responses.csv", "strata.csv", "sipas-service.yaml", "sipas-2023.yaml"} <= {
        p.name for p in out.iterdir()}


def test_unknown_wave_is_a_clear_error(runner, tmp_path):
    """An unknown wave code stops with a message."""
    result = runner.invoke(args=["analysis", "report", "--wave", "NOPE", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "no wave 'NOPE'" in result.output
