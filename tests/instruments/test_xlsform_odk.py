"""ODK / Kobo CSV submissions: all rows checked first, written together or not at all, no metadata kept."""

from datetime import date

import pytest
from sqlalchemy import select, text

from survey.cli.responses import responses
from survey.instruments.xlsform_submissions import import_csv
from survey.models import Base
from survey.responses.models import Answer, Response
from survey.sampling.models import WaveGroup
from tests.factories import make_group, make_unit, make_version, make_wave

HEADER = ("start,end,deviceid,s1-used,s1-age,s2-m1-m1_signs,s2/wish,unit,meta-instanceID,KEY,_uuid,"
          "_submission_time\n")
META = ("2025-03-01T09:00:00.000+07:00,2025-03-01T09:10:00.000+07:00,collect:abc123", "uuid:111,uuid:111,"
        "u-1,2025-03-02T01:00:00")
GOOD = [f"{META[0]},y,45,4,a b,UA,{META[1]}", f"{META[0]},n,,,b,UB,{META[1]}"]


@pytest.fixture
def setting(session):
    """A wave where a group answers the small questionnaire, with two units."""
    wave, group = make_wave(session, code="W2025"), make_group(session, code="dan")
    version = make_version(session)
    session.add(WaveGroup(wave_id=wave.id, group_id=group.id, questionnaire_version_id=version.id))
    units = [make_unit(session, code="UA"), make_unit(session, code="UB")]
    session.commit()
    return wave, group, units


def run(session, rows, **options) -> object:
    """Import CSV rows for the fixture's wave and group."""
    return import_csv(session, HEADER + "\n".join(rows) + "\n", "W2025", "dan",
                      **({"unit_column": "unit"} | options))


def test_rows_become_complete_face_to_face_responses(session, setting):
    """Each row is a complete face-to-face response with typed answers and the interview's day."""
    report = run(session, GOOD)
    session.commit()
    assert report.errors == [] and report.added == 2
    stored = session.scalars(select(Response).order_by(Response.unit_id)).all()
    assert [(r.status, r.mode, r.submitted_on) for r in stored] == [("complete", "face_to_face",
                                                                      date(2025, 3, 1))] * 2
    assert {a.item_id: a.value for a in stored[0].answers} == {"used": "y", "age": 45.0, "m1_signs": "4",
                                                             "wish": ["a", "b"]}


def test_skip_logic_drops_answers_of_hidden_items(session, setting):
    """An answer to an item the skip logic hides is not stored, as online."""
    run(session, GOOD)
    session.commit()
    unit_b = setting[2][1]
    stored = session.scalar(select(Response).filter_by(unit_id=unit_b.id))
    assert [a.item_id for a in stored.answers] == ["used"]


def test_a_bad_row_refuses_every_row(session, setting):
    """One bad row and nothing is written; each problem is reported with its row number."""
    rows = [*GOOD, f"{META[0]},z,45,4,a,UA,{META[1]}", f"{META[0]},y,200,4,a,UA,{META[1]}"]
    report = run(session, rows)
    session.commit()
    assert "row 4: used: unknown option code 'z'" in report.errors
    assert "row 5: age: above the maximum 120" in report.errors
    assert session.query(Response).count() == 0 and session.query(Answer).count() == 0


def test_missing_required_answer_and_unknown_unit_are_reported(session, setting):
    """A required item left empty and an unknown unit code are both refused."""
    report = run(session, [f"{META[0]},,45,4,a,NOPE,{META[1]}"])
    assert report.errors == ["row 2: unknown unit code 'NOPE'", "row 2: used: an answer is required"]


def test_identifying_metadata_is_not_stored(session, setting):
    """No device id, instance id, uuid or submission time reaches any table."""
    run(session, GOOD)
    session.commit()
    cells = [str(value) for table in Base.metadata.sorted_tables
             for row in session.execute(text(f"SELECT * FROM {table.name}")) for value in row]
    for secret in ("abc123", "uuid:111", "u-1", "09:10", "01:00:00", "2025-03-02"):
        assert not any(secret in cell for cell in cells), secret


def test_one_unit_for_every_row(session, setting):
    """With --unit every row rates the same unit and the unit column is not needed."""
    report = run(session, GOOD, unit_code="UB", unit_column=None)
    session.commit()
    assert report.added == 2 and {r.unit_id for r in session.query(Response)} == {setting[2][1].id}


def test_cli_imports_and_records_the_import(app, runner, session, setting, tmp_path):
    """The command imports every row and says how many."""
    app.cli.add_command(responses)
    path = tmp_path / "odk.csv"
    path.write_text(HEADER + "\n".join(GOOD) + "\n", encoding="utf-8")
    result = runner.invoke(args=["responses", "import-odk", str(path), "--wave", "W2025", "--group", "dan",
                                 "--unit-column", "unit"])
    assert result.exit_code == 0 and "2 responses imported" in result.output


def test_cli_refuses_a_bad_file(app, runner, session, setting, tmp_path):
    """The command exits non-zero, lists the rows and writes nothing."""
    app.cli.add_command(responses)
    path = tmp_path / "odk.csv"
    path.write_text(HEADER + f"{META[0]},y,17,4,a,UA,{META[1]}\n", encoding="utf-8")
    result = runner.invoke(args=["responses", "import-odk", str(path), "--wave", "W2025", "--group", "dan",
                                 "--unit", "UA"])
    assert result.exit_code != 0 and "row 2: age: below the minimum 18" in result.output
    assert session.query(Response).count() == 0


def test_semicolon_separated_export_is_read(session, setting):
    """A Kobo export separated by semicolons imports like a comma-separated one."""
    rows = [HEADER.replace(",", ";").rstrip("\n"), *(row.replace(",", ";") for row in GOOD)]
    report = import_csv(session, "\n".join(rows) + "\n", "W2025", "dan", unit_column="unit")
    assert report.errors == [] and report.added == 2
