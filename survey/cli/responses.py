"""`flask responses import-odk`: submissions collected with ODK Collect / KoboCollect;
`flask responses release`: held submissions into `responses` (survey/responses/release.py)."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from survey.auth.models import record
from survey.csvtext import CsvFileError, read_csv_text
from survey.db import Database, db
from survey.instruments.xlsform_submissions import SubmissionsError, import_csv
from survey.responses import release as releasing
from survey.sampling.models import Wave


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


@responses.command("release")
@click.option("--wave", "wave_code", default=None, help="Only this wave (required with --force).")
@click.option("--force", is_flag=True,
              help="At the end of a wave: also release cells holding fewer than RELEASE_BATCH.")
def release(wave_code, force):
    """Release held submissions: every cell holding at least RELEASE_BATCH, in random order; vacuum.

    Safe to run from cron. With --force (when the wave is closed) the rest is released too, and
    each cell released with fewer than RELEASE_BATCH submissions is reported: its responses are
    only as anonymous as that number.
    """
    if force and wave_code is None:
        raise click.UsageError("--force releases the remainder of one wave: give --wave")
    wave = None
    if wave_code is not None:
        wave = db.session.scalar(select(Wave).filter_by(code=wave_code))
        if wave is None:
            raise click.ClickException(f"unknown wave {wave_code}")
    batch = current_app.config["RELEASE_BATCH"]
    try:
        done = releasing.release(db.session, batch, force=force,
                                 wave_id=wave.id if wave is not None else None)
    except releasing.ReleaseConflict as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc}; run the command again") from None
    if done.responses:
        record(db.session, "responses.released", target=f"wave:{wave_code}" if wave_code else None,
               responses=done.responses, batches=done.batches, forced=force,
               short_batches=len(done.short))
    db.session.commit()
    releasing.vacuum(Database.engine(current_app))
    click.echo(f"{done.responses} responses released in {done.batches} batches; "
               f"{done.held} still held (cells with fewer than {batch})")
    if done.short:
        click.echo(f"warning: {len(done.short)} cells were released with fewer than {batch} "
                   f"submissions (sizes {', '.join(map(str, sorted(done.short)))}); a response of "
                   "such a cell can be narrowed down to that many people", err=True)
