"""`flask questionnaires ...`: validate, load and list questionnaire definitions."""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from survey.db import db
from survey.definitions import bundle, load
from survey.instruments import frameworks as framework_service
from survey.instruments import service
from survey.instruments.models import Questionnaire, QuestionnaireVersion


@click.group("questionnaires", cls=AppGroup)
def questionnaires():
    """Work with questionnaire definition files."""


@questionnaires.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate(paths):
    """Check questionnaire files and their framework links; one line per problem, exit 1 if any."""
    good, errors = bundle.validate(list(paths), current_app.config["QUESTIONNAIRE_DIRS"])
    for line in errors:
        click.echo(line, err=True)
    click.echo(f"{len(good)} valid, {len(errors)} problem(s)")
    if errors:
        raise SystemExit(1)


@questionnaires.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def load_command(paths):
    """Store questionnaire files as published versions; idempotent, never edits a published one."""
    good, frameworks, errors = bundle.validate_with_frameworks(list(paths),
                                                               current_app.config["QUESTIONNAIRE_DIRS"])
    if errors:
        for line in errors:
            click.echo(line, err=True)
        raise click.ClickException("nothing loaded: fix the problems above")
    try:
        outcomes = [(f, framework_service.publish(db.session, f)) for f in frameworks.values()]
        outcomes += [(q, service.publish(db.session, q)) for q in good]
    except service.VersionConflict as exc:
        db.session.rollback()
        raise click.ClickException(f"nothing loaded: {exc}") from None
    framework_service.pin_unpinned(db.session)
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


def _stored_or_file(code: str, version: str | None):
    """Return a questionnaire from the database, else from the bundled files."""
    query = (select(QuestionnaireVersion).join(QuestionnaireVersion.questionnaire)
             .where(Questionnaire.code == code).order_by(QuestionnaireVersion.id.desc()))
    if version is not None:
        query = query.where(QuestionnaireVersion.version == version)
    stored = db.session.scalars(query).first()
    if stored is not None:
        return service.definition_of(stored)
    good, _errors = load.load_paths(current_app.config["QUESTIONNAIRE_DIRS"])
    found = [q for q in good if q.id == code and version in (None, q.version)]
    if not found:
        raise click.ClickException(f"no questionnaire {code}{' version ' + version if version else ''}")
    return found[-1]


@questionnaires.command("export-xlsform")
@click.argument("code")
@click.option("--version", default=None, help="Version (default: the newest stored).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The .xlsx to write.")
def export_xlsform(code, version, out):
    """Write a questionnaire as an XLSForm (.xlsx) for ODK Collect / KoboCollect."""
    from pathlib import Path

    from survey.instruments import xlsform

    definition = _stored_or_file(code, version)
    data = xlsform.to_bytes(definition)
    for warning in xlsform.pyxform_warnings(data):  # checked before writing: ODK tools run pyxform too
        click.echo(f"pyxform: {warning}", err=True)
    Path(out).write_bytes(data)
    click.echo(f"{definition.id} {definition.version}: written to {out}")


@questionnaires.command("import-xlsform")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--accept-partial", is_flag=True, help="Import even if some rows cannot be represented.")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False),
              help="Write our YAML here instead of publishing to the database.")
def import_xlsform_command(path, accept_partial, out):
    """Convert an XLSForm (.xlsx, .xls, .csv, .md) into our format; print the report (Vietnamese, then
    English); publish it (or write YAML with --out)."""
    from pathlib import Path

    import yaml

    from survey.auth.models import record
    from survey.instruments.xlsform_import import import_xlsform

    report = import_xlsform(Path(path).read_bytes(), fallback_id=Path(path).stem.lower(),
                            filename=Path(path).name)
    for line in report.lines:
        click.echo(f"{path}: {line.text('vi')}", err=True)
        click.echo(f"    {line.text('en')}", err=True)
    if not report.accepted(accept_partial):
        if report.of_kind("refused"):
            hint = " (pyxform refuses the form)"
        elif report.of_kind("invalid"):
            hint = ""
        else:
            hint = " (use --accept-partial to import the rest)"
        raise click.ClickException(f"nothing imported{hint}")
    definition = report.definition
    if out:
        Path(out).write_text(yaml.safe_dump(report.document, allow_unicode=True, sort_keys=False),
                             encoding="utf-8")
        click.echo(f"{definition.id} {definition.version}: written to {out}")
        return
    try:
        outcome = service.publish(db.session, definition)
    except service.VersionConflict as exc:
        db.session.rollback()
        raise click.ClickException(f"nothing imported: {exc}") from None
    record(db.session, "questionnaire.imported", target=f"{definition.id}:{definition.version}",
           source=Path(path).name, partial=bool(report.of_kind("unsupported")))
    db.session.commit()
    click.echo(f"{definition.id} {definition.version}: {outcome}")
