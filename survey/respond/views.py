"""The invitation landing page `/r/<token>`: who runs the survey, why, and the units to rate."""

from datetime import date

from flask import Blueprint, abort, current_app, render_template
from sqlalchemy import select

from survey.db import db
from survey.extensions import limiter
from survey.sampling import tokens
from survey.sampling.models import Invitation, WaveGroup

bp = Blueprint("respond", __name__)


def find_invitation(token: str) -> Invitation:
    """Return the invitation of a token, or answer 404 (the same for malformed and unknown)."""
    if not 16 <= len(token) <= 64:
        abort(404)
    digest = tokens.token_hash(current_app.config["TOKEN_KEY"], token)
    invitation = db.session.scalar(select(Invitation).filter_by(token_hash=digest))
    if invitation is None:
        abort(404)
    return invitation


@bp.get("/r/<token>")
@limiter.limit("30 per minute")
def landing(token: str):
    """Show the wave, how answers are kept anonymous, and the units this person rates."""
    invitation = find_invitation(token)
    wave = invitation.wave
    assignment = db.session.scalar(
        select(WaveGroup).filter_by(wave_id=wave.id, group_id=invitation.group_id))
    return render_template(
        "respond/landing.html", invitation=invitation, wave=wave,
        questionnaire=assignment.questionnaire_version if assignment else None,
        is_open=wave.is_open_on(date.today()),
    )
