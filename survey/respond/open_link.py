"""Open links for walk-in respondents: choose a unit, get a personal link, answer; a quota per unit.

The quota counts a unit's open-link answers that are done or under way. Under way means started less
than OPEN_LINK_DRAFT_HOURS ago (default 2): a draft abandoned longer than that no longer holds a
place, and its link answers "expired" (survey.respond.views.is_expired), so it can never be
submitted past the quota. The check and the new draft are one transaction that holds a lock on the
wave group's row (survey.db.lock_row), so parallel starts cannot all see the last free place.
One browser session starts one answer per unit: the session remembers the links it was given.
"""

from datetime import date

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask import session as browser_session
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from wtforms import SelectChoice, SelectField
from wtforms.validators import InputRequired

from survey.db import db, lock_row
from survey.extensions import limiter
from survey.respond.pages import language
from survey.respond.views import draft_cutoff, is_expired, province
from survey.responses import service
from survey.sampling import service as waves
from survey.sampling import tokens
from survey.sampling.models import (
    Invitation,
    InvitationUnit,
    Unit,
    Wave,
    WaveGroup,
    WaveUnit,
)

bp = Blueprint("open_link", __name__)


class OpenStartForm(FlaskForm):
    """The unit a walk-in respondent rates."""

    unit = SelectField(_l("Đơn vị Ông/Bà đến giao dịch"), coerce=int, validators=[InputRequired()])


def _open_assignment(wave_code: str, group_code: str) -> tuple[Wave, WaveGroup]:
    """Return the wave and its group assignment, or 404 unless the open link is enabled."""
    found = waves.assignment_by_codes(db.session, wave_code, group_code)
    if found is None or not found[1].open_link:
        abort(404)
    return found


SESSION_KEY = "open_links"  # "<wave group id>:<unit id>" -> the token this browser was given


def quota_reached(session: Session, assignment: WaveGroup, unit_id: int) -> bool:
    """Tell whether a unit has as many open-link answers (done, or started and not expired) as its quota."""
    if assignment.open_quota is None:
        return False
    taken = session.scalar(
        select(func.count()).select_from(InvitationUnit).join(Invitation)
        .where(Invitation.wave_id == assignment.wave_id, Invitation.group_id == assignment.group_id,
               Invitation.source == "open", InvitationUnit.unit_id == unit_id,
               or_(InvitationUnit.status == "done",
                   (InvitationUnit.status == "in_progress") & (Invitation.created_at >= draft_cutoff()))))
    return taken >= assignment.open_quota


def _earlier_start(assignment: WaveGroup, unit_id: int):
    """Return where to send a browser that already started this unit here, or None."""
    token = (browser_session.get(SESSION_KEY) or {}).get(f"{assignment.id}:{unit_id}")
    if not isinstance(token, str):
        return None
    invitation = db.session.scalar(select(Invitation).filter_by(
        token_hash=tokens.token_hash(current_app.config["TOKEN_KEY"], token), source="open"))
    entry = next((e for e in invitation.units if e.unit_id == unit_id), None) if invitation else None
    if entry is None or (entry.status != "done" and is_expired(invitation)):
        return None  # gone or expired: this browser may start again
    if entry.status == "done":
        return redirect(url_for("respond.done", token=token, unit_id=unit_id))
    return redirect(url_for("respond.resume", token=token, unit_id=unit_id))


def _units(wave: Wave) -> list[Unit]:
    """Return the units assessed in the wave, by name."""
    return list(db.session.scalars(
        select(Unit).join(WaveUnit, WaveUnit.unit_id == Unit.id)
        .where(WaveUnit.wave_id == wave.id).order_by(Unit.name)))


@bp.route("/o/<wave_code>/<group_code>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def open_link(wave_code: str, group_code: str):
    """Let a walk-in respondent pick the unit they dealt with and start answering."""
    wave, assignment = _open_assignment(wave_code, group_code)
    if not wave.is_open_on(date.today()):
        return render_template("respond/closed.html", wave=wave), 410
    form = OpenStartForm()
    units = _units(wave)
    form.unit.choices = [SelectChoice(u.id, u.name) for u in units]
    if request.method == "GET" and request.args.get("unit"):  # a unit's own poster chooses it
        form.unit.data = next((u.id for u in units if u.code == request.args["unit"]), None)
    if not form.validate_on_submit():
        return render_template("respond/open.html", wave=wave, form=form, province=province())
    earlier = _earlier_start(assignment, form.unit.data)
    if earlier is not None:
        return earlier
    if assignment.open_quota is not None:
        # Held until the commit below: a parallel start waits here, then counts this one's draft.
        lock_row(db.session, WaveGroup, WaveGroup.id == assignment.id, touch=WaveGroup.open_quota)
        if quota_reached(db.session, assignment, form.unit.data):
            db.session.rollback()
            return render_template("respond/quota.html", wave=wave), 200
    token, _draft = service.start_walk_in(db.session, assignment, form.unit.data,
                                          current_app.config["TOKEN_KEY"], language())
    db.session.commit()
    started = dict(browser_session.get(SESSION_KEY) or {})
    started[f"{assignment.id}:{form.unit.data}"] = token
    browser_session[SESSION_KEY] = started
    return redirect(url_for("respond.page", token=token, unit_id=form.unit.data, number=1))
