"""Data-entry pages: a paper form or interview by its unit code and form number, entered page by page;
entered forms to view and correct, drafts to discard, double entry and its discrepancies.

The clerk is recorded in the audit log, never on the response.
"""

from datetime import UTC, date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, Regexp

from survey.auth.access import roles_required
from survey.auth.models import record
from survey.db import db, lock_row
from survey.definitions import text as free_text
from survey.definitions.engine import page_items
from survey.definitions.types import AnswerError, item_type
from survey.instruments.models import QuestionnaireVersion
from survey.instruments.service import definition_of
from survey.respond import pages
from survey.respond.messages import error_messages
from survey.responses import service
from survey.responses.models import DraftLink, EntryCopy, HeldSubmission, Response
from survey.responses.modes import ENTRY_MODES, mode_label
from survey.sampling import service as waves
from survey.sampling.invitations import may_rate
from survey.sampling.models import RespondentGroup, Unit, Wave, WaveGroup

bp = Blueprint("entry", __name__, url_prefix="/staff/entry")
CLERKS = ("data_entry", "coordinator")
bp.app_template_global("mode_label")(mode_label)


class StartForm(FlaskForm):
    """What the paper form or interview is about: its unit code and number as printed on it."""

    # Cleaned as free text is (no NUL or control characters, NFC): PostgreSQL cannot store a NUL.
    unit_code = StringField(_l("Mã đơn vị (ghi trên phiếu)"), validators=[InputRequired(), Length(max=32)],
                            filters=[lambda value: free_text.clean(value).strip() if value else value])
    form_number = StringField(_l("Số phiếu"), validators=[
        InputRequired(), Length(max=32),
        Regexp(r"^[0-9A-Za-z][0-9A-Za-z./-]*$", message=_l("Số phiếu chỉ gồm chữ số, chữ cái, dấu . / -"))])
    mode = SelectField(_l("Hình thức"), validators=[InputRequired()],
                       choices=[SelectChoice(m, mode_label(m)) for m in ENTRY_MODES])
    # The cluster code is cleaned the same way.
    cluster = StringField(_l("Mã cụm (nếu phiếu có ghi)"), validators=[Optional(), Length(max=64)],
                          filters=[lambda value: free_text.clean(value).strip() if value else value])


def _drafts() -> list[Response]:
    """Return the clerks' unfinished drafts the user may see, by wave and form number."""
    drafts = db.session.scalars(
        select(Response).outerjoin(DraftLink, DraftLink.response_id == Response.id)
        .where(Response.status == "draft", Response.mode != "online", DraftLink.response_id.is_(None))
        .order_by(Response.wave_id, Response.form_number)).all()
    return [d for d in drafts if current_user.may_see_unit(d.unit_id)]


@bp.get("/")
@roles_required(*CLERKS)
def index():
    """List open waves with their groups, and drafts left unfinished."""
    today = date.today()
    open_waves = [w for w in db.session.scalars(select(Wave).order_by(Wave.code)) if w.is_open_on(today)]
    drafts = _drafts()
    return render_template("entry/index.html", waves=open_waves, drafts=drafts,
                           units={u.id: u for u in db.session.scalars(select(Unit))},
                           wave_codes={w.id: w.code for w in db.session.scalars(select(Wave))})


def _assignment(wave_code: str, group_code: str) -> tuple[Wave, WaveGroup]:
    """Return the wave and the group's assignment in it, or 404."""
    found = waves.assignment_by_codes(db.session, wave_code, group_code)
    if found is None:
        abort(404)
    return found


def _unit_by_code(form: StartForm, assignment: WaveGroup) -> Unit | None:
    """Return the unit of the code typed, or None with the field's error said."""
    code = form.unit_code.data.strip()
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        form.unit_code.errors.append(_("Không có đơn vị mã %(code)s.", code=code))
    elif not current_user.may_see_unit(unit.id):
        form.unit_code.errors.append(_("Tài khoản không được nhập phiếu cho đơn vị %(code)s.", code=code))
    elif not may_rate(db.session, assignment, unit):
        form.unit_code.errors.append(_(
            "%(unit)s (mã %(code)s) không thuộc các đơn vị được đánh giá bằng phiếu của nhóm %(group)s "
            "trong đợt này; kiểm tra lại mã đơn vị trên phiếu.",
            unit=unit.name, code=code, group=assignment.group.name))
    else:
        return unit
    return None


def _entry_pass(form: StartForm, wave: Wave) -> int | None:
    """Return which entry of the form number this is, or None with the field's error said."""
    number = form.form_number.data.strip()
    found = service.form_entries(db.session, wave.id, number)
    entry_pass = found.next_pass(wave.double_entry)
    if entry_pass is None:
        form.form_number.errors.append(
            _("Phiếu số %(number)s đã được nhập hai lần trong đợt này.", number=number)
            if wave.double_entry and not found.done else
            _("Phiếu số %(number)s đã được nhập trong đợt này. Kiểm tra lại số phiếu, hoặc xem và sửa "
              "phiếu đó trong danh sách phiếu đã nhập.", number=number))
    return entry_pass


@bp.route("/<wave_code>/<group_code>", methods=["GET", "POST"])
@roles_required(*CLERKS)
def start(wave_code: str, group_code: str):
    """Open a draft for one paper form or interview, by its unit code and form number."""
    wave, assignment = _assignment(wave_code, group_code)
    carried = db.session.scalar(select(Unit).where(Unit.code == request.args.get("unit", "")))
    in_scope = carried is not None and current_user.may_see_unit(carried.id)
    form = StartForm(data={"unit_code": carried.code if in_scope else "",
                           "mode": request.args.get("mode", "paper")})
    if not form.validate_on_submit():
        return render_template("entry/start.html", wave=wave, assignment=assignment, form=form)
    unit = _unit_by_code(form, assignment)
    entry_pass = _entry_pass(form, wave)
    if unit is None or entry_pass is None:
        return render_template("entry/start.html", wave=wave, assignment=assignment, form=form), 422
    try:
        draft = service.start_entry_draft(db.session, assignment, unit.id, form.mode.data, form.cluster.data,
                                          form.form_number.data.strip(), entry_pass)
        record(db.session, "entry.started", target=f"draft:{draft.id}", user=current_user, mode=draft.mode)
        db.session.commit()
    except IntegrityError:  # another clerk took the number a moment ago
        db.session.rollback()
        form.form_number.errors.append(_("Phiếu số %(number)s vừa được nhập ở nơi khác.",
                                         number=form.form_number.data.strip()))
        return render_template("entry/start.html", wave=wave, assignment=assignment, form=form), 409
    if entry_pass == 2:
        flash(_("Nhập lần hai phiếu số %(number)s.", number=draft.form_number), "status")
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
                       unit=db.session.get(Unit, self.draft.unit_id).code, mode=self.draft.mode)


def _entered(outcome) -> None:
    """Record that the clerk entered a form of the wave (audit log only), in the submission's transaction.

    The audit row names the wave, never the response or the form number, and its time is the hour: a
    response id or a time to the microsecond would tie the clerk's record (and whoever the clerk
    interviewed) to one response. The submission is held and released with others of its cell like
    any other.
    """
    held = outcome.held
    wave = db.session.get(Wave, held.wave_id)
    record(db.session, "response.entered", target=f"wave:{wave.code}", user=current_user,
           mode=held.mode, at=datetime.now(UTC).replace(minute=0, second=0, microsecond=0))


def _clerk_draft(draft_id: str) -> Response:
    """Return a clerk's draft the user may see, or 404."""
    draft = db.session.get(Response, draft_id)
    if draft is None or draft.status != "draft" or draft.mode == "online" \
            or not current_user.may_see_unit(draft.unit_id):
        abort(404)
    return draft


@bp.route("/d/<draft_id>/p/<int:number>", methods=["GET", "POST"])
@roles_required(*CLERKS)
def page(draft_id: str, number: int):
    """Show or save a page of a clerk's draft."""
    if request.method == "POST" and db.session.get(Response, draft_id) is None:
        # A late second click on "Lưu phiếu" (the first post already saved the form, which left the
        # drafts) or a post to a discarded draft: say so, and show where entered forms are listed.
        flash(_("Phiếu này không còn trong danh sách phiếu nhập dở: phiếu đã được lưu (ở lần bấm trước) "
                "hoặc đã bị hủy. Xem danh sách phiếu đã nhập của đợt khảo sát."), "status")
        return redirect(url_for(".index"))
    draft = _clerk_draft(draft_id)
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


@bp.route("/d/<draft_id>/discard", methods=["GET", "POST"])
@roles_required(*CLERKS)
def discard(draft_id: str):
    """Ask, then delete an abandoned draft (audited, without its answers)."""
    draft = _clerk_draft(draft_id)
    unit = db.session.get(Unit, draft.unit_id)
    if request.method == "GET":
        return render_template("entry/discard.html", draft=draft, unit=unit, form=FlaskForm())
    if not FlaskForm().validate_on_submit():
        abort(400)
    wave = db.session.get(Wave, draft.wave_id)
    record(db.session, "entry.discarded", target=f"wave:{wave.code}", user=current_user,
           form_number=draft.form_number, unit=unit.code, mode=draft.mode)
    service.discard_draft(db.session, draft)
    db.session.commit()
    flash(_("Đã hủy phiếu nhập dở."), "status")
    return redirect(url_for(".index"))


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


# ------------------------------------------------------------------ entered forms


def _wave(wave_code: str) -> Wave:
    """Return a wave by code, or 404."""
    wave = db.session.scalar(select(Wave).where(Wave.code == wave_code))
    if wave is None:
        abort(404)
    return wave


@bp.get("/w/<wave_code>/forms")
@roles_required(*CLERKS)
def forms(wave_code: str):
    """List the wave's entered forms, filtered by unit code and form number."""
    wave = _wave(wave_code)
    unit_code = request.args.get("unit", "").strip()
    number = request.args.get("number", "").strip()
    units = {u.id: u for u in db.session.scalars(select(Unit))}
    query = (select(Response).where(Response.wave_id == wave.id, Response.status == "complete",
                                    Response.form_number.is_not(None)).order_by(Response.form_number))
    held = select(HeldSubmission).where(HeldSubmission.wave_id == wave.id,
                                        HeldSubmission.form_number.is_not(None))
    copies = select(EntryCopy).where(EntryCopy.wave_id == wave.id).order_by(EntryCopy.form_number)
    if number:
        query = query.where(Response.form_number == number)
        held = held.where(HeldSubmission.form_number == number)
        copies = copies.where(EntryCopy.form_number == number)
    if unit_code:
        unit_id = next((u.id for u in units.values() if u.code == unit_code), -1)
        query, held = query.where(Response.unit_id == unit_id), held.where(HeldSubmission.unit_id == unit_id)
        copies = copies.where(EntryCopy.unit_id == unit_id)
    visible = current_user.may_see_unit
    return render_template(
        "entry/forms.html", wave=wave, units=units, unit_code=unit_code, number=number,
        responses=[r for r in db.session.scalars(query) if visible(r.unit_id)],
        held=sorted((h for h in db.session.scalars(held) if visible(h.unit_id)), key=lambda h: h.form_number),
        copies=[c for c in db.session.scalars(copies) if visible(c.unit_id)],
        drafts=[d for d in _drafts() if d.wave_id == wave.id])


class CorrectionForm(FlaskForm):
    """One answer corrected, with the reason."""

    item = SelectField(_l("Câu hỏi"), validators=[InputRequired()])
    value = StringField(_l("Giá trị đúng (mã phương án; nhiều mã cách nhau bằng dấu cách; để trống để xóa)"),
                        validators=[Optional(), Length(max=5000)])
    reason = TextAreaField(_l("Lý do sửa"), validators=[InputRequired(), Length(min=5, max=500)])


def _entered_form(wave: Wave, response_id: str) -> Response:
    """Return an entered form of the wave the user may see, or 404."""
    response = db.session.get(Response, response_id)
    if response is None or response.wave_id != wave.id or response.status != "complete" \
            or response.form_number is None or not current_user.may_see_unit(response.unit_id):
        abort(404)
    return response


def _shown_items(definition) -> list:
    """Return the answerable items of every page (likert rows one by one), in order."""
    return [item for section in definition.sections for item in page_items(section)]


def _error(definition, item, error: AnswerError) -> str:
    """Return the message of one answer error, as the questionnaire pages say it."""
    if error.code == "not_shown":
        return _("Với các câu trả lời khác của phiếu này, câu này bị bỏ qua; sửa câu điều kiện trước.")
    section = next(s for s in definition.sections if item in page_items(s))
    return error_messages(section, {item.id: error}, "vi")[item.id]


def _raw(item, text: str):
    """Return what a clerk typed for an item as the pages would post it (codes split for a list)."""
    if item_type(item).name == "multiple_choice":
        return [code for code in text.replace(",", " ").split() if code]
    return text


@bp.route("/w/<wave_code>/forms/<response_id>", methods=["GET", "POST"])
@roles_required(*CLERKS)
def entered(wave_code: str, response_id: str):
    """Show an entered form's answers; correct one with a reason written to the audit log."""
    wave = _wave(wave_code)
    response = _entered_form(wave, response_id)
    definition = definition_of(response.questionnaire_version)
    items = _shown_items(definition)
    form = CorrectionForm(item=request.args.get("item"))
    form.item.choices = [SelectChoice(i.id, f"{i.id} · {i.label.get('vi')}") for i in items]
    status = 200
    if form.validate_on_submit():
        item = definition.item(form.item.data)
        answers = {a.item_id: a.value for a in response.answers}
        try:
            value = service.correct_answer(db.session, response, definition, item.id,
                                           _raw(item, form.value.data or ""))
        except AnswerError as error:
            form.value.errors.append(_error(definition, item, error))
            status = 422
        else:
            record(db.session, "entry.corrected", target=f"form:{wave.code}/{response.form_number}",
                   user=current_user, item=item.id, reason=form.reason.data.strip(),
                   before=_plain(answers.get(item.id)), after=_plain(value))
            db.session.commit()
            flash(_("Đã sửa câu %(item)s của phiếu số %(number)s.", item=item.id,
                    number=response.form_number), "status")
            return redirect(url_for(".entered", wave_code=wave.code, response_id=response.id))
    elif request.method == "POST":
        status = 422
    answers = {a.item_id: a.value for a in response.answers}
    return render_template("entry/entered.html", wave=wave, response=response, items=items, answers=answers,
                           unit=db.session.get(Unit, response.unit_id), form=form,
                           group=db.session.get(RespondentGroup, response.group_id)), status


def _plain(value):
    """An answer as JSON-friendly text for the audit log."""
    return value.isoformat() if hasattr(value, "isoformat") else value


# ------------------------------------------------------------------ double entry


@bp.post("/w/<wave_code>/double-entry")
@roles_required("coordinator")
def double_entry(wave_code: str):
    """Turn double entry of paper forms on or off for a wave (audited)."""
    wave = _wave(wave_code)
    if not FlaskForm().validate_on_submit():
        abort(400)
    wave.double_entry = request.form.get("on") == "1"
    record(db.session, "wave.double_entry", target=f"wave:{wave.code}", user=current_user,
           on=wave.double_entry)
    db.session.commit()
    flash(_("Đã bật nhập hai lần cho đợt này.") if wave.double_entry
          else _("Đã tắt nhập hai lần cho đợt này."), "status")
    return redirect(url_for(".forms", wave_code=wave.code))


def _value_text(item, value) -> str:
    """An answer as the clerk would read it on paper: the codes with their labels."""
    if value is None:
        return "—"
    codes = value if isinstance(value, list) else [value]
    if item.options:
        labels = []
        for code in codes:
            option = item.option(str(code))
            labels.append(f"{code} · {option.label.get('vi')}" if option else str(code))
        return "; ".join(labels)
    return str(value)


@bp.route("/w/<wave_code>/double/<form_number>", methods=["GET", "POST"])
@roles_required(*CLERKS)
def resolve(wave_code: str, form_number: str):
    """List the items where the two entries of a form differ; pick one value for each, making one form."""
    wave = _wave(wave_code)
    pair = service.copy_pair(db.session, wave.id, form_number)
    if pair is None or not all(current_user.may_see_unit(c.unit_id) for c in pair):
        abort(404)
    first, second = pair
    definition = definition_of(db.session.get(QuestionnaireVersion, first.questionnaire_version_id))
    differing = service.differences(first, second)
    design = [name for name in service.DESIGN if getattr(first, name) != getattr(second, name)]
    answers = (service.entered_answers(first), service.entered_answers(second))
    rows = [(definition.item(i), _value_text(definition.item(i), answers[0].get(i)),
             _value_text(definition.item(i), answers[1].get(i))) for i in differing]
    missing = []
    if request.method == "POST":
        if not FlaskForm().validate_on_submit():
            abort(400)
        chosen = {i: request.form.get(f"pick-{i}", type=int) for i in differing}
        missing = [i for i, p in chosen.items() if p not in (1, 2)]
        design_from = request.form.get("design", type=int) or 1
        if not missing and design_from in (1, 2):
            service.resolve_copies(db.session, first, second, chosen, design_from)
            record(db.session, "entry.resolved", target=f"form:{wave.code}/{form_number}", user=current_user,
                   items=sorted(chosen), chosen=chosen)
            db.session.commit()
            pages.release_ready()
            flash(_("Đã thống nhất phiếu số %(number)s.", number=form_number), "status")
            return redirect(url_for(".forms", wave_code=wave.code))
    units = {c.unit_id: db.session.get(Unit, c.unit_id) for c in pair}
    return render_template("entry/resolve.html", wave=wave, form_number=form_number, rows=rows, design=design,
                           first=first, second=second, units=units, missing=missing, form=FlaskForm()), \
        422 if missing else 200
