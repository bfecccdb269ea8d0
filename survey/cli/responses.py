"""`flask responses import-odk`: submissions collected with ODK Collect / KoboCollect."""

from pathlib import Path

import click
from flask.cli import AppGroup

from survey.auth.models import record
from survey.csvtext import CsvFileError, read_csv_text
from survey.db import db
from survey.instruments.xlsform_submissions import SubmissionsError, import_csv


@click.group("responses", cls=AppGroup)
def responses():
    """Responses collected outside the online form."""


@responses.command("import-odk")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--wave", "wave", required=True, help="Wave code.")
@click.option("--group", "group", required=True, help="Respondent group code.")
@click.option("--unit", "unit", default=None, help="Code of the assessed unit of every row.")
@click.option("--unit-column", default=None, help="Column holding each row's assessed unit code.")
@click.option("--stratum-column", default=None, help="Column holding each row's stratum code.")
def import_odk(path, wave, group, unit, unit_column, stratum_column):
    """Import an ODK Central / Kobo CSV export as complete face-to-face responses: all rows or none."""
    if (unit is None) == (unit_column is None):
        raise click.UsageError("give exactly one of --unit and --unit-column")
    try:
        report = import_csv(db.session, read_csv_text(path), wave, group,
                            unit_code=unit, unit_column=unit_column, stratum_column=stratum_column)
    except CsvFileError as exc:
        raise click.ClickException(f"{path}: {exc}; nothing imported") from None
    except SubmissionsError as exc:
        raise click.ClickException(str(exc)) from None
    if report.errors:
        db.session.rollback()
        for line in report.errors:
            click.echo(f"{path}: {line}", err=True)
        raise click.ClickException("nothing imported: fix the rows above")
    record(db.session, "responses.imported", target=f"wave:{wave}", group=group, source=path.name,
           added=report.added, mode="face_to_face")
    db.session.commit()
    click.echo(f"{report.added} responses imported")
