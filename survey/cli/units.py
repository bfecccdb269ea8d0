"""`flask units import` and `flask groups import`: reference data from CSV."""

from pathlib import Path

import click
from flask.cli import AppGroup

from survey.auth.models import record
from survey.csvtext import CsvFileError, read_csv_text
from survey.db import db
from survey.sampling.groups import import_groups
from survey.sampling.units import ImportRefused, import_units


@click.group("units", cls=AppGroup)
def units():
    """Administrative units (province, agencies, communes)."""


@units.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(path):
    """Import units from a CSV (code,name,name_en,kind,parent_code,valid_from,valid_to,predecessors)."""
    try:
        report = import_units(db.session, read_csv_text(path))
    except CsvFileError as exc:
        raise click.ClickException(f"{path}: {exc}; nothing imported") from None
    except ImportRefused as exc:
        db.session.rollback()
        for line in exc.errors:
            click.echo(f"{path}: {line}", err=True)
        raise click.ClickException("nothing imported") from None
    record(db.session, "units.imported", target=path.name, added=report.added,
           updated=report.updated)
    db.session.commit()
    click.echo(f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged")


@click.group("groups", cls=AppGroup)
def groups():
    """Respondent groups."""


@groups.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_groups_command(path):
    """Import respondent groups from a CSV (code,name,name_en,kind)."""
    try:
        changed = import_groups(db.session, read_csv_text(path))
    except CsvFileError as exc:
        raise click.ClickException(f"{path}: {exc}; nothing imported") from None
    except ImportRefused as exc:
        db.session.rollback()
        for line in exc.errors:
            click.echo(f"{path}: {line}", err=True)
        raise click.ClickException("nothing imported") from None
    record(db.session, "groups.imported", target=path.name, changed=changed)
    db.session.commit()
    click.echo(f"{changed} group(s) added or updated")
