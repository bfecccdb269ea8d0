"""Open links for walk-in respondents: choose a unit, get a personal link, answer; a quota per unit."""

from datetime import date

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from wtforms import SelectChoice, SelectField
from wtforms.validators import InputRequired

from survey.db import db
from survey.extensions import limiter
from survey.respond.pages import language
from survey.respond.views import province
from survey.responses import service
from survey.sampling import tokens
from survey.sampling.models import (
    Invitation,
    InvitationUnit,
    RespondentGroup,
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
    row = db.session.execute(
        select(Wave, WaveGroup).join(WaveGroup, WaveGroup.wave_id == Wave.id)
        .join(RespondentGroup, RespondentGroup.id == WaveGroup.group_id)
        .where(Wave.code == wave_code, RespondentGroup.code == group_code,
               WaveGroup.open_link.is_(True))).first()
    if row is None:
        abort(404)
    return row[0], row[1]


def quota_reached(session: Session, assignment: WaveGroup, unit_id: int) -> bool:
    """Tell whether a unit has as many open-link answers (done or under way) as its quota."""
    if assignment.open_quota is None:
        return False
    taken = session.scalar(
        select(func.count()).select_from(InvitationUnit).join(Invitation)
        .where(Invitation.wave_id == assignment.wave_id, Invitation.group_id == assignment.group_id,
               Invitation.source == "open", InvitationUnit.unit_id == unit_id,
               InvitationUnit.status != "not_started"))
    return taken >= assignment.open_quota


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
    form.unit.choices = [SelectChoice(u.id, u.name) for u in _units(wave)]
    if not form.validate_on_submit():
        return render_template("respond/open.html", wave=wave, form=form, province=province())
    if quota_reached(db.session, assignment, form.unit.data):
        return render_template("respond/quota.html", wave=wave), 200
    token = tokens.new_token()
    invitation = Invitation(wave_id=wave.id, group_id=assignment.group_id, source="open",
                            language=language(),
                            token_hash=tokens.token_hash(current_app.config["TOKEN_KEY"], token),
                            units=[InvitationUnit(unit_id=form.unit.data)])
    db.session.add(invitation)
    db.session.flush()
    draft = service.start_draft(db.session, invitation, form.unit.data,
                                assignment.questionnaire_version_id)
    draft.language = language()
    db.session.commit()
    return redirect(url_for("respond.page", token=token, unit_id=form.unit.data, number=1))
