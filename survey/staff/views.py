"""The staff home page: open waves with their response counts per group (of the user's units)."""

from urllib.parse import quote

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from survey.auth.access import roles_required
from survey.db import db
from survey.responses import release
from survey.responses.models import Response
from survey.sampling import service as waves
from survey.sampling.models import Invitation, InvitationUnit, RespondentGroup, Unit, Wave, WaveUnit

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.get("/")
@roles_required("coordinator", "analyst", "data_entry", "assessor", "approver")
def home():
    """List waves with invitations sent and responses completed per respondent group.

    Submissions waiting for release (survey/responses/release.py) are counted apart as pending:
    counts per wave and group, nothing that points at a row.
    """
    waves = db.session.scalars(select(Wave).order_by(Wave.year.desc(), Wave.code)).all()
    invitations = select(Invitation.wave_id, Invitation.group_id, func.count()).where(
        Invitation.source == "frame")
    responses = select(Response.wave_id, Response.group_id, func.count()).where(
        Response.status == "complete")
    if not current_user.sees_all_units:  # count only the invitations and responses of the user's units
        units = [s.unit_id for s in current_user.scopes]
        invitations = invitations.where(Invitation.id.in_(
            select(InvitationUnit.invitation_id).where(InvitationUnit.unit_id.in_(units))))
        responses = responses.where(Response.unit_id.in_(units))
    invited = _counts(invitations)
    finished = _counts(invitations.where(Invitation.status == "completed"))
    done = _counts(responses)
    held = release.held_counts(db.session, current_user.unit_scope)
    groups = db.session.scalars(select(RespondentGroup).order_by(RespondentGroup.id)).all()
    return render_template("staff/home.html", waves=waves, groups=groups, invited=invited,
                           finished=finished, done=done, held=held,
                           held_waves={wave for wave, _ in held},
                           url_map_endpoints=set(current_app.view_functions))


def _counts(query) -> dict:
    """Run a (wave, group, count) query grouped by wave and group into a dict."""
    first, second = query.selected_columns[:2]
    return {(w, g): n for w, g, n in db.session.execute(query.group_by(first, second)).all()}


@bp.get("/waves/<code>/<group_code>/poster")
@roles_required("coordinator")
def poster(code: str, group_code: str):
    """A printable A4 poster with the open link and its QR code, for one-stop-shop counters.

    With ?unit=CODE (a unit of the wave in the user's scope) the link chooses that unit for the
    walk-in respondent; without, they choose it themselves. 404 unless the group's open link is on.
    """
    import segno

    from survey.sampling.invitations import public_base

    row = waves.assignment_by_codes(db.session, code, group_code)
    if row is None or not row[1].open_link:
        abort(404)
    wave = row[0]
    units = db.session.scalars(select(Unit).join(WaveUnit, WaveUnit.unit_id == Unit.id)
                               .where(WaveUnit.wave_id == wave.id).order_by(Unit.code)).all()
    units = [u for u in units if current_user.may_see_unit(u.id)]
    unit = None
    if request.args.get("unit"):
        unit = next((u for u in units if u.code == request.args["unit"]), None)
        if unit is None:
            abort(404)
    link = f"{public_base()}/o/{quote(code)}/{quote(group_code)}"
    if unit is not None:
        link += f"?unit={quote(unit.code)}"
    qr = segno.make(link, error="m").svg_inline(scale=8, border=2, omitsize=True)
    return render_template("staff/poster.html", wave=wave, group=row[1].group, unit=unit, units=units,
                           link=link, qr=qr)
