"""`flask assessments ...`: start a unit's self-assessment for a year, list assessments."""

from datetime import datetime

import click
from flask.cli import AppGroup
from sqlalchemy import select

from survey.assessment import service
from survey.assessment.models import Assessment
from survey.db import db
from survey.instruments.models import FrameworkVersion, IndexFramework
from survey.sampling.models import Unit


@click.group("assessments", cls=AppGroup)
def assessments():
    """Self-assessments of the PAR index per unit and year."""


def _version(framework: str, version: str | None) -> FrameworkVersion:
    """The published framework version (the newest unless named); a code prefix names the newest match."""
    codes = db.session.scalars(select(IndexFramework.code).order_by(IndexFramework.code)).all()
    code = framework if framework in codes else next(
        (c for c in reversed(codes) if c.startswith(framework)), None)
    if code is None:
        raise click.ClickException(f"no published framework {framework!r}: run `flask questionnaires load` "
                                   "(or `flask setup`) first")
    query = select(FrameworkVersion).join(IndexFramework).where(IndexFramework.code == code)
    if version is not None:
        query = query.where(FrameworkVersion.version == version)
    found = db.session.scalar(query.order_by(FrameworkVersion.id.desc()).limit(1))
    if found is None:
        raise click.ClickException(f"framework {code} has no published version {version!r}")
    return found


@assessments.command("create")
@click.argument("unit_code")
@click.argument("year", type=int)
@click.option("--framework", default="par-province", show_default=True,
              help="Framework id, or the start of one (the newest matching framework).")
@click.option("--version", default=None, help="Framework version (default: the newest published).")
@click.option("--deadline", type=click.DateTime(["%Y-%m-%d"]), default=None, help="The ministry's deadline.")
def create_command(unit_code, year, framework, version, deadline):
    """Start a draft self-assessment of UNIT_CODE for YEAR, pinned to a published framework version."""
    unit = db.session.scalar(select(Unit).filter_by(code=unit_code))
    if unit is None:
        raise click.ClickException(f"no unit {unit_code!r}")
    pinned = _version(framework, version)
    try:
        assessment = service.create(db.session, unit, year, pinned,
                                    deadline=deadline.date() if deadline else None)
    except service.AssessmentError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"assessment {assessment.id}: {unit.code} {year}, {pinned.framework.code} {pinned.version}, "
               f"{len(assessment.items)} self-assessed nodes (draft)")


@assessments.command("list")
def list_command():
    """List assessments: id, unit, year, framework version, status, open nodes, deadline."""
    today = datetime.now().date()
    for assessment in db.session.scalars(select(Assessment).order_by(Assessment.year.desc(), Assessment.id)):
        version = assessment.framework_version
        left = f"{(assessment.deadline - today).days} days left" if assessment.deadline else "no deadline"
        open_nodes = len(service.blockers(assessment))
        click.echo(f"{assessment.id}\t{assessment.unit.code}\t{assessment.year}\t{version.framework.code} "
                   f"{version.version}\t{assessment.status}\topen nodes: {open_nodes}\t{left}")
