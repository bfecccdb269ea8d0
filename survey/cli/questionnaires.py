"""`flask questionnaires ...`: validate, load and list questionnaire definitions."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from survey.db import db
from survey.definitions import load
from survey.instruments import service
from survey.instruments.models import Questionnaire, QuestionnaireVersion


@click.group("questionnaires", cls=AppGroup)
def questionnaires():
    """Work with questionnaire definition files."""


@questionnaires.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate(paths):
    """Check questionnaire files; print one line per problem and exit 1 if there is any."""
    good, errors = load.load_paths(list(paths))
    for line in errors:
        click.echo(line, err=True)
    click.echo(f"{len(good)} valid, {len(errors)} problem(s)")
    if errors:
        raise SystemExit(1)


@questionnaires.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def load_command(paths):
    """Store questionnaire files as published versions; idempotent, never edits a published one."""
    good, errors = load.load_paths(list(paths))
    if errors:
        for line in errors:
            click.echo(line, err=True)
        raise click.ClickException("nothing loaded: fix the problems above")
    try:
        outcomes = [(q, service.publish(db.session, q)) for q in good]
    except service.VersionConflict as exc:
        db.session.rollback()
        raise click.ClickException(f"nothing loaded: {exc}") from None
    db.session.commit()
    for definition, outcome in outcomes:
        click.echo(f"{definition.id} {definition.version}: {outcome}")


@questionnaires.command("list")
def list_command():
    """List stored questionnaire versions with their item counts."""
    rows = db.session.execute(
        select(Questionnaire.code, QuestionnaireVersion).join(QuestionnaireVersion.questionnaire)
        .order_by(Questionnaire.code, QuestionnaireVersion.id)
    ).all()
    click.echo(f"{'id':28} {'version':10} {'groups':28} {'items':>5} {'scored':>6}")
    for code, version in rows:
        definition = service.definition_of(version)
        click.echo(f"{code:28} {version.version:10} {','.join(definition.groups):28} "
                   f"{len(definition.answerable_items()):5d} {len(definition.scored_items()):6d}")
