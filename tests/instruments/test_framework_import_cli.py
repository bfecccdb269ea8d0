"""`flask frameworks import/export/list`: a dry run publishes nothing; apply publishes an audited version."""

from sqlalchemy import select

from survey.auth.models import AuditLog
from survey.instruments import frameworks as framework_service
from survey.instruments.framework_table import to_xlsx
from survey.instruments.models import FrameworkVersion
from tests.instruments.test_framework_table import edit, row_index
from tests.instruments.test_framework_versions import bundled_framework

SOURCE = "Phụ lục thử nghiệm, ngày 01/01/2026"


def import_args(path) -> list[str]:
    """The command line importing a table as par-province-2024 version 2025.1."""
    return ["frameworks", "import", str(path), "--framework", "par-province-2024", "--version", "2025.1",
            "--source", SOURCE]


def published(session):
    """Publish the bundled PAR framework; return its document."""
    framework = bundled_framework("par-province-2024")
    framework_service.publish(session, framework)
    session.commit()
    return framework.document


def test_export_import_dry_run_and_apply(session, runner, tmp_path):
    """Export, change two points, dry run (no version), then apply (a version and an audit entry)."""
    published(session)
    out = tmp_path / "par.xlsx"
    result = runner.invoke(
        args=["frameworks", "export", "--framework", "par-province-2024", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output

    def change(rows):
        rows[row_index(rows, "par.1.1.1")][4] = 0.75
        rows[row_index(rows, "par.1.1.2")][4] = 0.75

    changed = tmp_path / "changed.xlsx"
    changed.write_bytes(edit(out.read_bytes(), change))
    args = import_args(changed)
    dry = runner.invoke(args=args + ["--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "changed  par.1.1.1 max_points: 0.5 -> 0.75" in dry.output and "dry run" in dry.output
    assert len(session.scalars(select(FrameworkVersion)).all()) == 1
    applied = runner.invoke(args=args)
    assert applied.exit_code == 0, applied.output
    assert "par-province-2024 2025.1: added" in applied.output
    assert [v.version for v in session.scalars(select(FrameworkVersion).order_by(FrameworkVersion.id))] == [
        "2024.1",
        "2025.1",
    ]
    entry = session.scalars(select(AuditLog).filter_by(action="framework.imported")).one()
    assert entry.target == "par-province-2024:2025.1" and entry.details["changed"] == 2
    listed = runner.invoke(args=["frameworks", "list"])
    assert "2025.1" in listed.output


def test_malformed_table_writes_nothing_and_lists_rows(session, runner, tmp_path):
    """A non-number and a sum that no longer adds up: each row reported, exit code 1, no version."""
    document = published(session)

    def change(rows):
        rows[row_index(rows, "par.1.1.1")][4] = "abc"
        rows[row_index(rows, "par.2.1.1")][4] = 9

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(edit(to_xlsx(document), change))
    result = runner.invoke(args=import_args(bad))
    assert result.exit_code == 1
    assert "bad.xlsx: row 4: max points 'abc' is not a number ≥ 0" in result.output
    assert "nothing imported" in result.output
    assert len(session.scalars(select(FrameworkVersion)).all()) == 1
    assert session.scalars(select(AuditLog).filter_by(action="framework.imported")).first() is None


def test_without_source_the_file_name_and_date_are_recorded(session, runner, tmp_path):
    """`--source` left out: the changed nodes cite the table's file name and the import date."""
    document = published(session)

    def change(rows):
        rows[row_index(rows, "par.1.1.1")][4] = 0.75
        rows[row_index(rows, "par.1.1.2")][4] = 0.75
    table = tmp_path / "phu-luc-2025.xlsx"
    table.write_bytes(edit(to_xlsx(document), change))
    result = runner.invoke(args=["frameworks", "import", str(table), "--framework", "par-province-2024",
                                 "--version", "2025.1"])
    assert result.exit_code == 0, result.output
    stored = framework_service.latest(session, "par-province-2024").definition
    assert stored["nodes"][0]["children"][0]["children"][0]["source"].startswith(
        "Bảng tiêu chí phu-luc-2025.xlsx, nhập ngày ")
