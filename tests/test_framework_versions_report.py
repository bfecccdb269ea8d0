"""A past wave's report is unchanged after its framework file is edited and loaded as a new version."""

import copy
from datetime import date, timedelta

import pytest

from analysis.report import write_report
from survey import demo
from survey.definitions import bundle
from survey.instruments import frameworks as framework_service
from survey.instruments import service
from survey.responses import export
from survey.sampling import service as waves
from survey.sampling.models import Wave
from tests.instruments.test_framework_versions import edited_copy

TABLES = ("sipas_", "par_", "ranking_")


@pytest.fixture
def seeded(app, session):
    """The bundled questionnaires and frameworks published, then the demo province and its answers."""
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


def report(runner, out) -> dict[str, bytes]:
    """Run `flask analysis report` on the demo wave; return its tables' bytes by file name."""
    result = runner.invoke(args=["analysis", "report", "--wave", demo.WAVE_CODE, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    return tables(out)


def tables(out) -> dict[str, bytes]:
    """Return the estimate tables (CSV) of a report folder."""
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())
            if p.suffix == ".csv" and p.name.startswith(TABLES)}


def weigh_access_three_times(document: dict) -> None:
    """The edit: the SIPAS 'access' component counts three times in the service part."""
    access = document["nodes"][0]["children"][0]["children"][0]
    assert access["code"] == "sipas.service.access"
    access["weight"] = 3


def test_past_wave_report_is_unchanged_after_framework_edit(seeded, runner, session, tmp_path):
    """Editing sipas-2023 and loading it as 2023.2 leaves the demo wave's tables byte for byte."""
    before = report(runner, tmp_path / "before")
    assert any(name.startswith("sipas_") for name in before)
    folder = edited_copy(tmp_path, "sipas-2023", "2023.2", weigh_access_three_times)
    loaded = runner.invoke(args=["questionnaires", "load", str(folder)])
    assert loaded.exit_code == 0, loaded.output
    assert "sipas-2023 2023.2: added" in loaded.output
    after = report(runner, tmp_path / "after")
    assert after == before


def test_the_edit_would_change_the_report(seeded, runner, session, tmp_path):
    """The same wave computed with the edited framework differs: the test above can fail."""
    before = report(runner, tmp_path / "before")
    wave = session.query(Wave).filter_by(code=demo.WAVE_CODE).one()
    found = export.documents(session, wave, [])
    edited = copy.deepcopy(found.frameworks)
    weigh_access_three_times(edited["sipas-2023"])
    write_report(export.responses_frame(session, wave), export.strata_frame(session, wave),
                 found.questionnaires, edited, tmp_path / "edited", wave=wave.code)
    changed = tables(tmp_path / "edited")
    assert changed.keys() == before.keys()
    assert any(changed[name] != before[name] for name in before if name.startswith("sipas_"))


def test_a_wave_assigned_after_the_new_version_uses_it(seeded, runner, session, tmp_path):
    """A new wave assigned after 2023.2 is loaded points at 2023.2; the demo wave keeps 2023.1."""
    folder = edited_copy(tmp_path, "sipas-2023", "2023.2", weigh_access_three_times)
    assert runner.invoke(args=["questionnaires", "load", str(folder)]).exit_code == 0
    today = date.today()
    wave = waves.create_wave(session, "NEXT", today.year, "Đợt sau", today, today + timedelta(days=30))
    waves.assign_group(session, wave, demo.CITIZEN_GROUP, "sipas-service")
    session.commit()
    old = session.query(Wave).filter_by(code=demo.WAVE_CODE).one()
    assert framework_service.pinned(session, wave.id)["sipas-2023"].version == "2023.2"
    assert framework_service.pinned(session, old.id)["sipas-2023"].version == "2023.1"
    assert export.documents(session, wave, []).frameworks["sipas-2023"]["version"] == "2023.2"
    assert export.documents(session, old, []).frameworks["sipas-2023"]["version"] == "2023.1"
