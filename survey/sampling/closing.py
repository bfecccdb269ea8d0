"""Closing a wave: answers stop; drafts kept or discarded; the frame's contact details kept or purged.

`close_wave` moves an open wave to closed (a closed wave can still have its drafts discarded or
its contacts purged later) and, as chosen:

- **discard drafts**: deletes the wave's draft responses (respondents' and clerks'), their answers
  and their draft links; completed responses and held submissions are untouched;
- **purge contacts**: erases the name, phone, e-mail and position of every frame entry of the wave
  and their digests, keeping what the weights need (stratum, cluster, workplace, selection
  probability) and the invitations (statuses only).

Respondent pages already refuse a closed wave politely (survey/respond/views.py and open_link.py
answer 410 with respond/closed.html). The service flushes, never commits; the page writes one audit
entry per choice and commits once.
"""

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from wtforms import RadioField, SelectChoice

from survey.auth.access import roles_required
from survey.auth.models import record
from survey.db import Database, db
from survey.responses import release
from survey.responses.models import Answer, DraftLink, Response
from survey.sampling import service
from survey.sampling.models import FrameEntry, Wave
from survey.sampling.views import refusal, wave_or_404

bp = Blueprint("closing", __name__, url_prefix="/staff/waves")


@dataclass
class Closed:
    """What closing did: whether the wave was closed now, drafts deleted, frame entries purged."""

    closed_now: bool
    drafts: int
    purged: int


def drafts_of(session: Session, wave: Wave) -> int:
    """How many draft responses the wave has."""
    return session.scalar(select(func.count()).select_from(Response).where(
        Response.wave_id == wave.id, Response.status == "draft"))


def contacts_of(session: Session, wave: Wave) -> int:
    """How many frame entries of the wave still hold a contact detail."""
    return session.scalar(select(func.count()).select_from(FrameEntry).where(
        FrameEntry.wave_id == wave.id,
        (FrameEntry.full_name != "") | FrameEntry.phone.is_not(None) | FrameEntry.email.is_not(None)
        | FrameEntry.position.is_not(None)))


def close_wave(session: Session, wave: Wave, *, discard_drafts: bool, purge_contacts: bool) -> Closed:
    """Close an open wave (a closed one stays closed) and apply the choices; raise WaveError otherwise."""
    closed_now = wave.status != "closed"
    if closed_now:
        service.set_status(session, wave, "closed")
    drafts = purged = 0
    if discard_drafts:
        ids = select(Response.id).where(Response.wave_id == wave.id, Response.status == "draft")
        session.execute(delete(Answer).where(Answer.response_id.in_(ids)))
        session.execute(delete(DraftLink).where(DraftLink.response_id.in_(ids)))
        drafts = session.execute(delete(Response).where(
            Response.wave_id == wave.id, Response.status == "draft")).rowcount
    if purge_contacts:
        purged = session.execute(update(FrameEntry).where(FrameEntry.wave_id == wave.id).values(
            full_name="", phone=None, email=None, position=None, phone_digest=None,
            email_digest=None)).rowcount
    session.flush()
    session.expire_all()
    return Closed(closed_now, drafts, purged)


def vacuum(engine: Engine, purged: bool) -> None:
    """On PostgreSQL, remove the dead row versions of deleted drafts (and of purged contacts)."""
    release.vacuum(engine)
    if purged and engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM frame_entries"))


class CloseForm(FlaskForm):
    """The two choices of closing."""

    drafts = RadioField(_l("Phiếu đang làm dở"), default="keep", choices=[
        SelectChoice("keep", _l("Giữ lại (không tính vào kết quả, vẫn xem được số lượng)")),
        SelectChoice("discard", _l("Xoá hẳn phiếu đang làm dở và câu trả lời của chúng"))])
    contacts = RadioField(_l("Thông tin liên hệ trong danh sách mẫu"), default="keep", choices=[
        SelectChoice("keep", _l("Giữ lại (để đối chiếu, nhắc lại sau)")),
        SelectChoice("purge", _l("Xoá họ tên, điện thoại, email, chức vụ (giữ tầng mẫu và xác suất chọn để "
                                 "tính trọng số)"))])


@bp.route("/<code>/close", methods=["GET", "POST"])
@roles_required("coordinator")
def close(code: str):
    """Ask how to close the wave, then close it: only a coordinator of every unit may."""
    wave = wave_or_404(code)
    form = CloseForm()
    allowed = current_user.sees_all_units and wave.status in ("open", "closed")
    counts = {"drafts": drafts_of(db.session, wave), "contacts": contacts_of(db.session, wave)}
    if not form.validate_on_submit():
        return render_template("waves/close.html", wave=wave, form=form, allowed=allowed, **counts)
    if not current_user.sees_all_units:
        abort(403)
    discard, purge = form.drafts.data == "discard", form.contacts.data == "purge"
    if wave.status == "closed" and not (discard or purge):
        return redirect(url_for("waves.wave", code=wave.code), 303)
    try:
        done = close_wave(db.session, wave, discard_drafts=discard, purge_contacts=purge)
    except service.WaveError as exc:
        db.session.rollback()
        errors = [refusal(exc)]
        return render_template("waves/close.html", wave=wave, form=form, allowed=allowed, errors=errors,
                               **counts), 422
    target = f"wave:{wave.code}"
    if done.closed_now:
        record(db.session, "wave.closed", target=target, user=current_user)
    record(db.session, "wave.drafts_discarded" if discard else "wave.drafts_kept", target=target,
           user=current_user, drafts=done.drafts if discard else counts["drafts"])
    record(db.session, "wave.contacts_purged" if purge else "wave.contacts_kept", target=target,
           user=current_user, frame_entries=done.purged if purge else counts["contacts"])
    db.session.commit()
    if discard or purge:
        vacuum(Database.engine(current_app), purge)
    flash(_("Đợt khảo sát đã đóng.") if done.closed_now else _("Đã cập nhật đợt khảo sát đã đóng."), "status")
    if discard:
        flash(_("Đã xoá %(n)s phiếu đang làm dở.", n=done.drafts), "status")
    if purge:
        flash(_("Đã xoá thông tin liên hệ của %(n)s người trong danh sách mẫu.", n=done.purged), "status")
    return redirect(url_for("waves.wave", code=wave.code), 303)
