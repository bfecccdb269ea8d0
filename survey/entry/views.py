"""Data-entry pages: pick wave, group, unit and mode; enter the form page by page; submit.

The clerk is recorded in the audit log, never on the response.
"""

from datetime import UTC, date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from survey.auth.access import roles_required
from survey.auth.models import record
from survey.db import db, lock_row
from survey.definitions import text as free_text
from survey.instruments.service import definition_of
from survey.respond import pages
from survey.responses import service
from survey.responses.models import DraftLink, Response
from survey.sampling import service as waves
from survey.sampling.models import RespondentGroup, Unit, Wave, WaveGroup, WaveUnit

bp = Blueprint("entry", __name__, url_prefix="/staff/entry")
CLERKS = ("data_entry", "coordinator")


class StartForm(FlaskForm):
    """What the paper form or interview is about."""

    unit = SelectField(_l("Đơn vị được đánh giá"), coerce=int, validators=[InputRequired()])
    mode = SelectField(_l("Hình thức"), validators=[InputRequired()], choices=[
        SelectChoice("paper", _l("Phiếu giấy")), SelectChoice("phone", _l("Phỏng vấn qua điện thoại")),
        SelectChoice("face_to_face", _l("Phỏng vấn trực tiếp"))])
    # Cleaned as free text is (no NUL or control characters, NFC): PostgreSQL cannot store a NUL.
    cluster = StringField(_l("Mã cụm (nếu phiếu có ghi)"), validators=[Optional(), Length(max=64)],
                          filters=[lambda value: free_text.clean(value).strip() if value else value])


@bp.get("/")
@roles_required(*CLERKS)
def index():
    """List open waves with their groups, and drafts left unfinished."""
    today = date.today()
    waves = [w for w in db.session.scalars(select(Wave).order_by(Wave.code)) if w.is_open_on(today)]
    drafts = db.session.scalars(
        select(Response).outerjoin(DraftLink, DraftLink.response_id == Response.id)
        .where(Response.status == "draft", Response.mode != "online",
               DraftLink.response_id.is_(None))).all()
    drafts = [d for d in drafts if current_user.may_see_unit(d.unit_id)]
    return render_template("entry/index.html", waves=waves, drafts=drafts,
                           units={u.id: u for u in db.session.scalars(select(Unit))})


def _assignment(wave_code: str, group_code: str) -> tuple[Wave, WaveGroup]:
    """Return the wave and the group's assignment in it, or 404."""
    found = waves.assignment_by_codes(db.session, wave_code, group_code)
    if found is None:
        abort(404)
    return found


@bp.route("/<wave_code>/<group_code>", methods=["GET", "POST"])
@roles_required(*CLERKS)
def start(wave_code: str, group_code: str):
    """Open a draft for one paper form or interview."""
    wave, assignment = _assignment(wave_code, group_code)
    form = StartForm(data={"unit": request.args.get("unit", type=int),
                           "mode": request.args.get("mode", "paper")})
    units = db.session.scalars(select(Unit).join(WaveUnit, WaveUnit.unit_id == Unit.id)
                               .where(WaveUnit.wave_id == wave.id).order_by(Unit.name)).all()
    form.unit.choices = [SelectChoice(u.id, u.name) for u in units if current_user.may_see_unit(u.id)]
    if not form.validate_on_submit():
        return render_template("entry/start.html", wave=wave, assignment=assignment, form=form)
    draft = service.start_entry_draft(db.session, assignment, form.unit.data, form.mode.data,
                                      form.cluster.data)
    record(db.session, "entry.started", target=f"draft:{draft.id}", user=current_user,
           mode=draft.mode)
    db.session.commit()
    return redirect(url_for(".page", draft_id=draft.id, number=1))


class EntryUrls:
    """The URLs of a clerk's draft."""

    def __init__(self, draft: Response):
        self.draft = draft

    def page(self, index: int) -> str:
        """URL of a page by 0-based index."""
        return url_for(".page", draft_id=self.draft.id, number=index + 1)

    def done(self) -> str:
        """Back to a new form for the same wave, group, unit and mode."""
        return url_for(".next_form", wave_id=self.draft.wave_id, group_id=self.draft.group_id,
                       unit=self.draft.unit_id, mode=self.draft.mode)


def _entered(outcome) -> None:
    """Record that the clerk entered a form of the wave (audit log only), in the submission's transaction.

    The audit row names the wave, never the response, and its time is the hour: a response id or
    a time to the microsecond would tie the clerk's record (and whoever the clerk interviewed) to
    one response. The submission is held and released with others of its cell like any other.
    """
    held = outcome.held
    wave = db.session.get(Wave, held.wave_id)
    record(db.session, "response.entered", target=f"wave:{wave.code}", user=current_user,
           mode=held.mode, at=datetime.now(UTC).replace(minute=0, second=0, microsecond=0))


@bp.route("/d/<draft_id>/p/<int:number>", methods=["GET", "POST"])
@roles_required(*CLERKS)
def page(draft_id: str, number: int):
    """Show or save a page of a clerk's draft."""
    draft = db.session.get(Response, draft_id)
    if draft is None or draft.status != "draft" or draft.mode == "online" \
            or not current_user.may_see_unit(draft.unit_id):
        abort(404)
    definition = definition_of(draft.questionnaire_version)
    if not 1 <= number <= len(definition.sections):
        abort(404)
    answering = pages.Answering(draft, definition, EntryUrls(draft), db.session.get(Unit, draft.unit_id))
    if request.method == "POST":
        # A double click on "Lưu phiếu": the second post waits for the first, then finds it saved.
        lock_row(db.session, Response, Response.id == draft_id, touch=Response.current_page)
        if db.session.scalar(select(Response.status).where(Response.id == draft_id)) != "draft":
            return redirect(answering.urls.done())
        db.session.refresh(draft)
        return pages.post(answering, number - 1, before_commit=_entered)
    return pages.show(answering, number - 1)


@bp.get("/next/<int:wave_id>/<int:group_id>")
@roles_required(*CLERKS)
def next_form(wave_id: int, group_id: int):
    """Confirm the saved form and open the start form for the next one, prefilled."""
    wave = db.session.get(Wave, wave_id)
    group = db.session.get(RespondentGroup, group_id)
    if wave is None or group is None:
        abort(404)
    flash(_("Đã lưu phiếu. Nhập phiếu tiếp theo."), "status")
    return redirect(url_for(".start", wave_code=wave.code, group_code=group.code,
                            unit=request.args.get("unit"), mode=request.args.get("mode")))
