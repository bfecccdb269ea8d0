"""`flask waves invite | links | send`: a wave's invitations from the command line (added to `waves`)."""

from pathlib import Path

import click
from flask import current_app

from survey.auth.models import record
from survey.cli.waves import _refused, waves
from survey.config import ConfigError
from survey.db import db
from survey.sampling import invitations, service
from survey.sampling.models import Unit


def _unit_ids(codes: tuple[str, ...]) -> list[int] | None:
    """The ids of units given by code (None: every unit), refusing an unknown code."""
    if not codes:
        return None
    found = {u.code: u.id for u in db.session.query(Unit).filter(Unit.code.in_(codes))}
    missing = sorted(set(codes) - set(found))
    if missing:
        raise click.ClickException(f"no unit {', '.join(missing)}")
    return list(found.values())


@waves.command("invite")
@click.argument("code")
@click.option("--language", type=click.Choice(("vi", "en")), default="vi", show_default=True)
@click.option("--unit", "units", multiple=True, help="Only the people of this unit (repeatable).")
def invite_command(code, language, units):
    """Make an invitation for every selected person of the wave who has none yet."""
    try:
        wave = service.find_wave(db.session, code)
        result = invitations.issue(db.session, wave, current_app.config["TOKEN_KEY"], language=language,
                                   unit_ids=_unit_ids(units),
                                   per_person=current_app.config["RATED_UNITS_PER_PERSON"])
    except service.WaveError as exc:
        raise _refused(exc) from None
    record(db.session, "invitations.issued", target=f"wave:{wave.code}", created=result.created,
           language=language)
    db.session.commit()
    click.echo(f"wave {code}: {result.created} invitation(s) made, {result.already} already invited, "
               f"{result.no_questionnaire} without a questionnaire, {result.no_units} with nothing to rate")


@waves.command("links")
@click.argument("code")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV file to write (UTF-8 with a BOM).")
@click.option("--unit", "units", multiple=True, help="Only the people of this unit (repeatable).")
def links_command(code, out, units):
    """Write the personalised links of the wave's invitations (the same links every time)."""
    try:
        wave = service.find_wave(db.session, code)
    except service.WaveError as exc:
        raise _refused(exc) from None
    found = invitations.people(db.session, wave, current_app.config["TOKEN_KEY"], unit_ids=_unit_ids(units))
    try:
        base = invitations.public_base()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    out.write_text(invitations.links_csv(found, base), encoding="utf-8", newline="")
    record(db.session, "invitations.links_downloaded", target=f"wave:{wave.code}", people=len(found))
    db.session.commit()
    click.echo(f"wave {code}: {len(found)} link(s) written to {out}")


@waves.command("send")
@click.argument("code")
@click.option("--reminders", is_flag=True, help="Remind the people who have not completed.")
@click.option("--unit", "units", multiple=True, help="Only the people of this unit (repeatable).")
def send_command(code, reminders, units):
    """E-mail the invitations (or reminders) of the wave through the configured mail backend."""
    kind = "reminder" if reminders else "invitation"
    try:
        wave = service.find_wave(db.session, code)
        # Each e-mail sent is committed at once: a run stopped half-way never sends one twice.
        result = invitations.send_invitations(db.session, wave, kind=kind, unit_ids=_unit_ids(units),
                                              progress=lambda done, total: db.session.commit())
    except service.WaveError as exc:
        raise _refused(exc) from None
    except ConfigError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    record(db.session, f"invitations.{'reminded' if reminders else 'emailed'}", target=f"wave:{wave.code}",
           sent=result.sent, failed=result.failed, units=list(units) or None, stopped=result.stopped)
    db.session.commit()
    click.echo(f"wave {code}: {result.sent} {kind}(s) sent, {result.failed} refused by the server; not sent: "
               f"{result.completed} completed, {result.opted_out} opted out, {result.no_email} no e-mail, "
               f"{result.already_sent} already invited, {result.not_invited} not yet invited, "
               f"{result.at_maximum} at the maximum, {result.too_soon} too soon")
    if result.stopped:
        raise click.ClickException(f"sending stopped: {result.stopped} (what was sent is recorded)")
