"""Focal officials (đầu mối) pages, their XLSX for the ministry, and a wave's milestones.

Coordinators record each unit's focal officials and IT contacts, and so does the unit's own scoped
user (an assessor of the agency or commune); everyone sees and changes only the units of their
scope, in the queries. The XLSX the province sends to the ministry is the coordinators'. Milestones
of a wave (due dates for some units) are the coordinators'; the tracking page shows what is overdue.
Every change writes an audit entry naming the unit, never the person's details.
"""

import io
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

from survey.auth.access import roles_required
from survey.auth.models import record
from survey.db import db
from survey.respond.forms import CheckboxesField
from survey.sampling import focal
from survey.sampling.models import Unit, WaveUnit
from survey.sampling.views import wave_or_404

bp = Blueprint("focal", __name__, url_prefix="/staff/focal")
milestones_bp = Blueprint("milestones", __name__, url_prefix="/staff/waves")
EDITORS = ("coordinator", "assessor")
COORDINATORS = ("coordinator",)
PAGE = 50
ROLE_NAMES = {"focal": _l("Đầu mối khảo sát"), "it": _l("Cán bộ công nghệ thông tin")}
KIND_NAMES = {"manual": _l("Đánh dấu khi hoàn thành"), "focal_list": _l("Tự động: đơn vị đã có đầu mối")}
UNIT_KINDS = ("province", "agency", "commune", "ward", "special_zone")


def refusal(exc: focal.FocalError) -> str:
    """Say in the user's language why a change was refused."""
    p = exc.params
    messages = {
        "no_name": lambda: _("Xin nhập họ và tên."),
        "too_long": lambda: _("Mỗi ô tối đa 255 ký tự."),
        "role": lambda: _("Vai trò không hợp lệ."),
        "phone": lambda: _("“%(phone)s” không phải số điện thoại Việt Nam.", phone=p["phone"]),
        "email": lambda: _("“%(email)s” không phải địa chỉ thư điện tử.", email=p["email"]),
        "milestone_name": lambda: _("Xin nhập tên mốc (tối đa 255 ký tự)."),
        "kind": lambda: _("Loại mốc không hợp lệ."),
        "unit_not_in_wave": lambda: _("Đơn vị %(unit)s không thuộc đợt khảo sát này.", unit=p["unit"]),
        "no_units": lambda: _("Đợt khảo sát chưa có đơn vị được đánh giá."),
    }
    return messages.get(exc.reason, lambda: _("Không thực hiện được thay đổi này."))()


class OfficialForm(FlaskForm):
    """A focal official or IT contact of a unit."""

    unit = SelectField(_l("Đơn vị"), coerce=int, validators=[InputRequired(_l("Xin chọn đơn vị."))])
    role = SelectField(_l("Vai trò"), choices=[SelectChoice(k, v) for k, v in ROLE_NAMES.items()],
                       validators=[InputRequired()])
    full_name = StringField(_l("Họ và tên"), validators=[InputRequired(_l("Xin nhập họ và tên.")),
                                                         Length(max=255)])
    position = StringField(_l("Chức vụ"), validators=[Optional(), Length(max=255)])
    phone = StringField(_l("Điện thoại"), validators=[Optional(), Length(max=40)])
    email = StringField(_l("Email"), validators=[Optional(), Length(max=254)])


class MilestoneForm(FlaskForm):
    """A milestone of a wave: name, due date, kind, units (none chosen: every unit of the wave)."""

    name = StringField(_l("Tên mốc"), validators=[InputRequired(_l("Xin nhập tên mốc.")), Length(max=255)])
    due_on = DateField(_l("Hạn"), validators=[InputRequired(_l("Xin nhập hạn."))])
    kind = SelectField(_l("Cách ghi nhận hoàn thành"),
                       choices=[SelectChoice(k, v) for k, v in KIND_NAMES.items()])
    units = CheckboxesField(_l("Đơn vị (không chọn: mọi đơn vị của đợt trong phạm vi của bạn)"),
                            coerce=int, validators=[Optional()])


class DoneForm(FlaskForm):
    """Units of a milestone to mark done (or not done)."""

    units = CheckboxesField(_l("Đơn vị"), coerce=int, validators=[Optional()])


class ConfirmForm(FlaskForm):
    """A button that only carries the form token."""


def _saved(action: str, target: str, message: str, to: str, **details):
    """Audit a change, commit it, say so and go to `to` (303: a reload does not post again)."""
    record(db.session, action, target=target, user=current_user, **details)
    db.session.commit()
    flash(message, "status")
    return redirect(to, 303)


def _scope():
    return current_user.unit_scope


def _units_choices() -> list[SelectChoice]:
    """Agencies, communes and the province within the user's scope, by code."""
    query = select(Unit.id, Unit.code, Unit.name).where(Unit.kind.in_(UNIT_KINDS), Unit.valid_to.is_(None))
    if _scope() is not None:
        query = query.where(Unit.id.in_(_scope()))
    rows = db.session.execute(query.order_by(Unit.code))
    return [SelectChoice(i, f"{code} — {name}") for i, code, name in rows]


def _official_or_404(official_id: int) -> focal.FocalOfficial:
    """An official of a unit in the user's scope, or 404 (nothing says it exists elsewhere)."""
    official = db.session.get(focal.FocalOfficial, official_id)
    if official is None or not current_user.may_see_unit(official.unit_id):
        abort(404)
    return official


def _list(form: OfficialForm, status: int = 200, errors: list[str] | None = None):
    total = focal.count_contacts(db.session, _scope())
    pages = max(1, -(-total // PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    found = focal.contacts(db.session, _scope(), limit=PAGE, offset=(page - 1) * PAGE)
    return render_template("focal/index.html", form=form, contacts=found,
                           page=page, pages=pages, total=total, role_names=ROLE_NAMES,
                           errors=errors or [], may_export="coordinator" in _held_roles(),
                           display_phone=focal.display_phone), status


def _held_roles() -> set[str]:
    roles = {r.role for r in current_user.roles}
    return {"coordinator"} if "admin" in roles else roles


@bp.get("/")
@roles_required(*EDITORS)
def index():
    """The focal officials of the user's units, and a form to add one."""
    form = OfficialForm(formdata=None)
    form.unit.choices = _units_choices()
    return _list(form)


@bp.post("/")
@roles_required(*EDITORS)
def add():
    """Record a focal official of a unit in the user's scope."""
    form = OfficialForm()
    form.unit.choices = _units_choices()
    if not form.validate_on_submit():
        return _list(form, 422, [_("Xin sửa các ô được đánh dấu bên dưới.")])
    unit = db.session.get(Unit, form.unit.data)
    try:
        official = focal.add_official(db.session, unit, form.full_name.data, role=form.role.data,
                                      position=form.position.data, phone=form.phone.data,
                                      email=form.email.data)
    except focal.FocalError as exc:
        db.session.rollback()
        return _list(form, 422, [refusal(exc)])
    return _saved("focal.added", f"unit:{unit.code}", _("Đã ghi đầu mối của %(unit)s.", unit=unit.name),
                  url_for(".index"), official=official.id, role=official.role)


@bp.route("/<int:official_id>", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(official_id: int):
    """Change a focal official's details (the unit stays)."""
    official = _official_or_404(official_id)
    contact = focal.contacts(db.session, _scope(), unit_ids=[official.unit_id])
    current = next(c for c in contact if c.id == official.id)
    form = OfficialForm(data={"unit": official.unit_id, "role": current.role, "full_name": current.full_name,
                              "position": current.position, "phone": focal.display_phone(current.phone),
                              "email": current.email},
                        formdata=request.form if request.method == "POST" else None)
    form.unit.choices = [SelectChoice(official.unit_id, f"{current.unit_code} — {current.unit_name}")]
    form.unit.data = official.unit_id
    errors = []
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                focal.update_official(db.session, official, form.full_name.data, role=form.role.data,
                                      position=form.position.data, phone=form.phone.data,
                                      email=form.email.data)
            except focal.FocalError as exc:
                db.session.rollback()
                errors = [refusal(exc)]
            else:
                return _saved("focal.changed", f"unit:{current.unit_code}",
                              _("Đã lưu đầu mối của %(unit)s.", unit=current.unit_name), url_for(".index"),
                              official=official.id, role=official.role)
        else:
            errors = [_("Xin sửa các ô được đánh dấu bên dưới.")]
    return render_template("focal/edit.html", form=form, contact=current, errors=errors,
                           delete_form=ConfirmForm()), 422 if errors else 200


@bp.post("/<int:official_id>/delete")
@roles_required(*EDITORS)
def delete(official_id: int):
    """Delete a focal official."""
    official = _official_or_404(official_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    unit = db.session.get(Unit, official.unit_id)
    focal.remove_official(db.session, official)
    return _saved("focal.removed", f"unit:{unit.code}", _("Đã xoá một đầu mối của %(unit)s.", unit=unit.name),
                  url_for(".index"), official=official_id)


@bp.get("/danh-sach-dau-moi.xlsx")
@roles_required(*COORDINATORS)
def export():
    """The list of focal officials of the user's units as the XLSX the province sends to the ministry."""
    title = _("DANH SÁCH ĐẦU MỐI KHẢO SÁT (ngày %(day)s)", day=date.today().strftime("%d/%m/%Y"))
    book = focal.workbook(focal.contacts(db.session, _scope()), title)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    record(db.session, "focal.exported", user=current_user)
    db.session.commit()
    return send_file(out, as_attachment=True, download_name="danh-sach-dau-moi.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# Milestones of a wave.

def _wave_units(wave) -> list[SelectChoice]:
    query = (select(Unit.id, Unit.code, Unit.name).join(WaveUnit, WaveUnit.unit_id == Unit.id)
             .where(WaveUnit.wave_id == wave.id))
    if _scope() is not None:
        query = query.where(Unit.id.in_(_scope()))
    rows = db.session.execute(query.order_by(Unit.code))
    return [SelectChoice(i, f"{code} — {name}") for i, code, name in rows]


def _milestone_or_404(wave, milestone_id: int) -> focal.Milestone:
    milestone = db.session.get(focal.Milestone, milestone_id)
    if milestone is None or milestone.wave_id != wave.id:
        abort(404)
    return milestone


def _milestones_page(wave, form: MilestoneForm, status: int = 200, errors: list[str] | None = None):
    today = date.today()
    found = focal.milestones(db.session, wave, today, _scope(), show=PAGE)
    choices = _wave_units(wave)
    form.units.choices = choices
    open_units = {}
    for state in found:
        open_units[state.milestone.id] = [
            c for c in choices
            if any(m.unit_id == c.value and m.done_on is None for m in state.milestone.units)]
    return render_template("focal/milestones.html", wave=wave, form=form, milestones=found, today=today,
                           kind_names=KIND_NAMES, open_units=open_units, done_form=DoneForm(formdata=None),
                           delete_form=ConfirmForm(), errors=errors or []), status


@milestones_bp.get("/<code>/milestones", endpoint="index")
@roles_required(*COORDINATORS)
def milestone_list(code: str):
    """A wave's milestones: due dates, how many units are done, who is overdue; a form to add one."""
    wave = wave_or_404(code)
    form = MilestoneForm(formdata=None)
    form.units.choices = _wave_units(wave)
    return _milestones_page(wave, form)


@milestones_bp.post("/<code>/milestones", endpoint="add")
@roles_required(*COORDINATORS)
def milestone_add(code: str):
    """Add a milestone for some units of the wave in the user's scope (none chosen: all of them)."""
    wave = wave_or_404(code)
    form = MilestoneForm()
    form.units.choices = _wave_units(wave)
    if not form.validate_on_submit():
        return _milestones_page(wave, form, 422, [_("Xin sửa các ô được đánh dấu bên dưới.")])
    chosen = list(form.units.data or []) or [c.value for c in form.units.choices]
    try:
        if not chosen:
            raise focal.FocalError("no units", "no_units")
        milestone = focal.add_milestone(db.session, wave, form.name.data, form.due_on.data, chosen,
                                        form.kind.data)
    except focal.FocalError as exc:
        db.session.rollback()
        return _milestones_page(wave, form, 422, [refusal(exc)])
    return _saved("milestone.added", f"wave:{wave.code}", _("Đã thêm mốc “%(name)s”.", name=milestone.name),
                  url_for(".index", code=wave.code), milestone=milestone.name,
                  due_on=milestone.due_on.isoformat(), units=len(milestone.units))


@milestones_bp.post("/<code>/milestones/<int:milestone_id>/done", endpoint="done")
@roles_required(*COORDINATORS)
def milestone_done(code: str, milestone_id: int):
    """Mark a milestone done today for the chosen units of the user's scope (`undo`: not done)."""
    wave = wave_or_404(code)
    milestone = _milestone_or_404(wave, milestone_id)
    form = DoneForm()
    form.units.choices = _wave_units(wave)
    if not form.validate_on_submit():  # a unit outside the user's scope is not a valid choice
        return _milestones_page(wave, MilestoneForm(formdata=None), 422,
                                [_("Xin chọn các đơn vị trong danh sách.")])
    undo = request.form.get("undo") == "1"
    changed = focal.mark_done(db.session, milestone, list(form.units.data or []), date.today(),
                              done=not undo)
    return _saved("milestone.undone" if undo else "milestone.done", f"wave:{wave.code}",
                  _("Đã cập nhật %(n)s đơn vị của mốc “%(name)s”.", n=changed, name=milestone.name),
                  url_for(".index", code=wave.code),
                  milestone=milestone.name, units=changed)


@milestones_bp.post("/<code>/milestones/<int:milestone_id>/delete", endpoint="delete")
@roles_required(*COORDINATORS)
def milestone_delete(code: str, milestone_id: int):
    """Delete a milestone; only a user who sees every unit it concerns may (others get 404)."""
    wave = wave_or_404(code)
    milestone = _milestone_or_404(wave, milestone_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if any(not current_user.may_see_unit(m.unit_id) for m in milestone.units):
        abort(404)
    name = milestone.name
    focal.delete_milestone(db.session, milestone)
    return _saved("milestone.deleted", f"wave:{wave.code}", _("Đã xoá mốc “%(name)s”.", name=name),
                  url_for(".index", code=wave.code), milestone=name)

