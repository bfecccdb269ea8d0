"""Importing administrative units from CSV."""

from datetime import date

import pytest
from sqlalchemy import select

from survey.sampling.models import Unit
from survey.sampling.units import ImportRefused, import_units

HEADER = "code,name,name_en,kind,parent_code,valid_from,valid_to,predecessors\n"
GOOD = HEADER + (
    "OLD1,Xã Cũ Một,,commune,,2000-01-01,2025-06-30,\n"
    "OLD2,Xã Cũ Hai,,commune,,2000-01-01,2025-06-30,\n"
    "P,Tỉnh Thử,Test Province,province,,2025-07-01,,\n"
    "NEW,Xã Mới,New Commune,commune,P,2025-07-01,,OLD1;OLD2\n"
)


def test_import_with_parent_and_predecessors(session):
    """Units come in with their parent, validity and the units merged into them."""
    report = import_units(session, GOOD)
    assert (report.added, report.updated) == (4, 0)
    new = session.scalar(select(Unit).filter_by(code="NEW"))
    assert new.parent.code == "P" and new.valid_to is None
    assert sorted(u.code for u in new.predecessors) == ["OLD1", "OLD2"]
    old = session.scalar(select(Unit).filter_by(code="OLD1"))
    assert old.valid_on(date(2025, 6, 30)) and not old.valid_on(date(2025, 7, 1))


def test_second_import_changes_nothing(session):
    """Importing the same file again adds and updates nothing."""
    import_units(session, GOOD)
    report = import_units(session, GOOD)
    assert (report.added, report.updated, report.unchanged) == (0, 0, 4)
    assert session.query(Unit).count() == 4


def test_rename_updates_in_place(session):
    """A changed name for a known code updates that unit."""
    import_units(session, GOOD)
    report = import_units(session, GOOD.replace("Xã Mới,", "Phường Mới,"))
    assert report.updated == 1
    assert session.scalar(select(Unit.name).filter_by(code="NEW")) == "Phường Mới"


def test_bad_rows_refuse_the_whole_file(session):
    """Every bad row is reported with its line number and nothing is written."""
    bad = HEADER + (
        "A,Xã A,,commune,,2025-07-01,,\n"
        "B,,,hamlet,,2025-13-01,,\n"
        "A,Xã A lần hai,,commune,,2025-07-01,,\n"
        "C,Xã C,,commune,NOPE,2025-07-01,2025-01-01,\n"
    )
    with pytest.raises(ImportRefused) as refused:
        import_units(session, bad)
    errors = refused.value.errors
    assert "line 3: name is empty" in errors
    assert any(e.startswith("line 3: unknown kind 'hamlet'") for e in errors)
    assert any(e.startswith("line 3: valid_from") for e in errors)
    assert "line 4: code 'A' repeats line 2" in errors
    assert "line 5: valid_to is before valid_from" in errors
    assert session.query(Unit).count() == 0


def test_unknown_references_are_refused(session):
    """A parent or predecessor that exists neither in the file nor in the database is refused."""
    with pytest.raises(ImportRefused, match="line 2: parent_code 'NOPE' is unknown"):
        import_units(session, HEADER + "C,Xã C,,commune,NOPE,2025-07-01,,\n")


def test_names_are_stored_in_nfc(session):
    """Decomposed Vietnamese in the file is stored in NFC."""
    import_units(session, HEADER + "D,Xa\u0303 D,,commune,,2025-07-01,,\n")
    assert session.scalar(select(Unit.name).filter_by(code="D")) == "Xã D"


def test_cli_reports_and_exits_non_zero(runner, session, tmp_path):
    """The command prints each problem with the file name and exits non-zero."""
    path = tmp_path / "units.csv"
    path.write_text(HEADER + "B,,,commune,,2025-07-01,,\n", encoding="utf-8")
    result = runner.invoke(args=["units", "import", str(path)])
    assert result.exit_code != 0
    assert f"{path}: line 2: name is empty" in result.output


def test_parent_cycle_in_the_file_is_refused(session):
    """Units that are each other's parents are refused with the cycle, and nothing is written."""
    cyclic = HEADER + (
        "A,Xã A,,commune,B,2025-07-01,,\n"
        "B,Xã B,,commune,C,2025-07-01,,\n"
        "C,Xã C,,commune,A,2025-07-01,,\n"
        "D,Xã D,,commune,,2025-07-01,,\n"
    )
    with pytest.raises(ImportRefused) as caught:
        import_units(session, cyclic)
    assert caught.value.errors == ["line 2: parent_code makes a cycle: A → B → C → A"]
    assert session.query(Unit).count() == 0


def test_parent_cycle_with_the_database_is_refused(session):
    """A file that makes a stored unit's ancestor its child is refused."""
    import_units(session, GOOD)
    with pytest.raises(ImportRefused) as caught:
        import_units(session, HEADER + "P,Tỉnh Thử,Test Province,province,NEW,2025-07-01,,\n")
    assert caught.value.errors == ["line 2: parent_code makes a cycle: P → NEW → P"]
    assert session.scalar(select(Unit.parent_id).filter_by(code="P")) is None
