"""`flask frameworks ...`: list published framework versions, export and import criteria tables."""

from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from survey.db import db
from survey.instruments import frameworks as service
from survey.instruments.framework_table import MODES, to_xlsx
from survey.instruments.models import FrameworkVersion, IndexFramework
from survey.instruments.service import VersionConflict


@click.group("frameworks", cls=AppGroup)
def frameworks():
    """Index frameworks: published versions and criteria tables (XLSX)."""


@frameworks.command("list")
def list_command():
    """List every published framework version, newest last."""
    rows = db.session.execute(
        select(IndexFramework.code, FrameworkVersion)
        .join(FrameworkVersion.framework)
        .order_by(IndexFramework.code, FrameworkVersion.id)
    ).all()
    for code, version in rows:
        click.echo(
            f"{code:24} {version.version:12} {version.published_at:%Y-%m-%d %H:%M} {version.checksum[:12]}"
        )


@frameworks.command("export")
@click.option("--framework", "code", required=True, help="Framework id.")
@click.option("--version", default=None, help="Version (default: the newest).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def export_command(code, version, out):
    """Write a published framework version as a criteria table (.xlsx)."""
    query = (
        select(FrameworkVersion)
        .join(FrameworkVersion.framework)
        .where(IndexFramework.code == code)
        .order_by(FrameworkVersion.id.desc())
    )
    if version:
        query = query.where(FrameworkVersion.version == version)
    found = db.session.scalars(query).first()
    if found is None:
        raise click.ClickException(f"no published framework {code}{' version ' + version if version else ''}")
    out.write_bytes(to_xlsx(found.definition))
    click.echo(f"{code} {found.version}: written to {out}")


@frameworks.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--framework", "code", required=True, help="Framework id.")
@click.option("--version", required=True, help="The new version string.")
@click.option("--source", default=None,
              help="Where the numbers come from (appendix, number, date); default: the file name and today.")
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="tree",
    show_default=True,
    help="tree: the table is the whole tree; points: only numbers and names of existing nodes.",
)
@click.option(
    "--status",
    type=click.Choice(("verified", "provisional")),
    default="verified",
    show_default=True,
    help="Status of the nodes the table changes.",
)
@click.option("--dry-run", is_flag=True, help="Check and show the differences; publish nothing.")
def import_command(path, code, version, source, mode, status, dry_run):
    """Check a criteria table, show its differences from the published version, and publish it."""
    source = source or f"Bảng tiêu chí {path.name}, nhập ngày {date.today():%d/%m/%Y}"
    outcome = service.check_table(db.session, code, path.read_bytes(), mode, version, status, source)
    if not outcome.ok:
        for problem in outcome.problems:
            click.echo(f"{path.name}: {problem}", err=True)
        raise click.ClickException("nothing imported: fix the problems above")
    for change in outcome.changes:
        detail = (
            f" {change.what}: {change.old} -> {change.new}"
            if change.kind == "changed"
            else f" {change.old or change.new}"
        )
        click.echo(f"{change.kind:8} {change.code}{detail}")
    click.echo(f"{len(outcome.changes)} difference(s)")
    if dry_run:
        click.echo("dry run: nothing published")
        return
    try:
        result = service.apply_table(db.session, outcome, filename=path.name)
    except VersionConflict as exc:
        db.session.rollback()
        raise click.ClickException(f"nothing imported: {exc}") from None
    db.session.commit()
    click.echo(f"{code} {version}: {result}")
