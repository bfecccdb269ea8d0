"""Wave set-up pages for coordinators: list and create waves, choose groups and units, open links, status.

Every change goes through survey/sampling/service.py and writes an audit entry; a refusal of the
service (WaveError) is shown as a translated message and nothing is written. A coordinator scoped
to some units sees, adds and removes only those units.
"""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, Regexp

from survey.auth.access import roles_required
from survey.auth.models import record
from survey.db import db
from survey.instruments.models import Questionnaire, QuestionnaireVersion
from survey.respond.forms import CheckboxesField
from survey.sampling import service
from survey.sampling.models import Invitation, InvitationUnit, RespondentGroup, Unit, Wave, WaveUnit

bp = Blueprint("waves", __name__, url_prefix="/staff/waves")
COORDINATORS = ("coordinator",)
UNIT_KINDS = ("agency", "commune", "ward", "special_zone")
STATUS_NAMES = {"draft": _l("Đang chuẩn bị"), "open": _l("Đang mở"), "closed": _l("Đã đóng")}
KIND_NAMES = {"province": _l("Tỉnh"), "agency": _l("Cơ quan cấp tỉnh"), "district": _l("Huyện (cũ)"),
              "commune": _l("Xã"), "ward": _l("Phường"), "special_zone": _l("Đặc khu")}
# The moves a coordinator confirms: target status -> (button, question, what it does).
MOVES = {
    "open": (_l("Mở đợt khảo sát"), _l("Mở đợt khảo sát “%(name)s”?"),
             _l("Người được mời và đường dẫn chung bắt đầu trả lời được từ ngày mở. Từ lúc này không thể "
                "thay đổi nhóm đối tượng, bảng hỏi và đơn vị được đánh giá.")),
    "closed": (_l("Đóng đợt khảo sát"), _l("Đóng đợt khảo sát “%(name)s”?"),
               _l("Không nhận thêm câu trả lời nào, kể cả phiếu đang làm dở. Đợt đã đóng không mở lại "
                  "được.")),
}

# Why the draw's parameters were refused, by the parameter at fault.
DRAW_PARAMETERS = {
    "size": _l("Chọn đúng một cách xác định cỡ mẫu: cỡ mẫu mỗi tầng, sai số tối đa, hoặc số thôn (cùng số "
               "người mỗi thôn)."),
    "per_cluster": _l("Khi chọn số thôn, hãy nhập cả số người chọn trong mỗi thôn."),
    "method": _l("Cách chọn mẫu không hợp lệ."),
    "formula": _l("Cách tính cỡ mẫu không hợp lệ."),
    "margin": _l("Sai số tối đa phải lớn hơn 0 và nhỏ hơn 100%."),
    "p": _l("Tỷ lệ dự kiến phải lớn hơn 0 và nhỏ hơn 100%."),
    "deff": _l("Hệ số thiết kế phải lớn hơn 0."),
    "clusters": _l("Số thôn phải từ 1 trở lên."),
    "seed": _l("Hạt giống là số nguyên không âm."),
}


def refusal(exc: service.WaveError) -> str:
    """Say in the user's language why the service refused a change (never its English text)."""
    p = exc.params
    messages = {
        "no_wave": lambda: _("Không có đợt khảo sát mã %(code)s.", code=p["code"]),
        "no_code": lambda: _("Đợt khảo sát cần có mã."),
        "code_taken": lambda: _("Đã có đợt khảo sát mã %(code)s; hãy chọn mã khác.", code=p["code"]),
        "dates": lambda: _("Ngày đóng (%(closes)s) đứng trước ngày mở (%(opens)s).",
                           closes=p["closes_on"].strftime("%d/%m/%Y"),
                           opens=p["opens_on"].strftime("%d/%m/%Y")),
        "year": lambda: _("Năm %(year)s không hợp lệ (từ 2000 đến 2100).", year=p["year"]),
        "transition": lambda: _("Đợt khảo sát đang ở trạng thái “%(current)s”, không chuyển sang "
                                "“%(wanted)s” được.", current=STATUS_NAMES[p["current"]],
                                wanted=STATUS_NAMES[p["wanted"]]),
        "no_groups": lambda: _("Chưa mở được: hãy chọn ít nhất một nhóm đối tượng và bảng hỏi."),
        "no_units": lambda: _("Chưa mở được: hãy chọn các đơn vị được đánh giá."),
        "frozen": lambda: _("Đợt khảo sát đang ở trạng thái “%(status)s”: không thể thay đổi nhóm đối tượng, "
                            "bảng hỏi hay đơn vị được đánh giá nữa.", status=STATUS_NAMES[p["status"]]),
        "no_group": lambda: _("Không có nhóm đối tượng mã %(group)s.", group=p["group"]),
        "not_published": lambda: _("Bảng hỏi %(questionnaire)s %(version)s chưa được công bố.",
                                   questionnaire=p["questionnaire"], version=p["version"]),
        "unit_not_valid": lambda: _("Đơn vị %(unit)s không còn tồn tại vào ngày mở đợt (%(day)s).",
                                    unit=p["unit"], day=p["day"].strftime("%d/%m/%Y")),
        "no_unit": lambda: _("Không có đơn vị mã %(unit)s.", unit=p["unit"]),
        "unit_not_in_wave": lambda: _("Đơn vị %(unit)s không thuộc đợt khảo sát này.", unit=p["unit"]),
        "unit_in_use": lambda: _("Không bỏ được đơn vị %(unit)s: đã có thư mời hoặc tầng mẫu gắn với đơn vị "
                                 "này.", unit=p["unit"]),
        "closed": lambda: _("Đợt khảo sát đã đóng: không thay đổi được nữa."),
        "not_assigned": lambda: _("Nhóm %(group)s chưa được giao bảng hỏi trong đợt này.", group=p["group"]),
        "quota": lambda: _("Số phiếu tối đa mỗi đơn vị phải từ 1 trở lên."),
        "stratum_sizes": lambda: _("Tầng mẫu %(stratum)s: cỡ mẫu không thể lớn hơn tổng thể.",
                                   stratum=p["stratum"]),
        "no_rated_units": lambda: _("Thư mời cần ít nhất một đơn vị được đánh giá."),
        "draw_parameters": lambda: str(DRAW_PARAMETERS.get(p["field"], DRAW_PARAMETERS["size"])),
        "draw_no_cluster": lambda: _("Tầng %(stratum)s có người chưa có mã thôn (cluster_code): không chọn "
                                     "mẫu theo thôn được.", stratum=p["stratum"]),
        "draw_invited": lambda: _("Đã có %(count)s thư mời cho các tầng này: không rút mẫu lại được.",
                                  count=p["count"]),
        "draw_nothing": lambda: _("Chưa có tầng nào có người trong danh sách mẫu để rút mẫu."),
        "not_open_for_mail": lambda: _("Chỉ gửi được thư điện tử khi đợt khảo sát đang mở."),
    }
    return messages.get(exc.reason, lambda: _("Không thực hiện được thay đổi này."))()


class WaveForm(FlaskForm):
    """A new wave: code, year, names and dates."""

    code = StringField(_l("Mã đợt"), validators=[
        InputRequired(_l("Xin nhập mã đợt.")), Length(max=40),
        Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
               message=_l("Mã chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang, gạch dưới."))])
    year = IntegerField(_l("Năm đánh giá"), validators=[
        InputRequired(_l("Xin nhập năm.")), NumberRange(2000, 2100, _l("Năm từ 2000 đến 2100."))])
    name = StringField(_l("Tên đợt (tiếng Việt)"), validators=[
        InputRequired(_l("Xin nhập tên đợt.")), Length(max=255)])
    name_en = StringField(_l("Tên đợt (tiếng Anh, nếu có)"), validators=[Optional(), Length(max=255)])
    opens_on = DateField(_l("Ngày mở"), validators=[InputRequired(_l("Xin nhập ngày mở."))])
    closes_on = DateField(_l("Ngày đóng"), validators=[InputRequired(_l("Xin nhập ngày đóng."))])
    contact_phone = StringField(_l("Đường dây nóng (số điện thoại liên hệ)"), validators=[
        Optional(), Length(max=40), Regexp(r"^[0-9 +().-]{3,40}$",
                                           message=_l("Số điện thoại chỉ gồm chữ số, dấu cách, + ( ) . -"))])
    contact_email = StringField(_l("E-mail liên hệ của đơn vị tổ chức"), validators=[
        Optional(), Length(max=255),
        Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
               message=_l("Địa chỉ e-mail không đúng dạng, ví dụ: cchc@snv.gov.vn"))])


class ContactForm(FlaskForm):
    """Whom respondents contact about a wave: shown with the deadline on the landing and error pages."""

    contact_phone = WaveForm.contact_phone
    contact_email = WaveForm.contact_email


class AssignForm(FlaskForm):
    """A respondent group and the published questionnaire version it answers."""

    group = SelectField(_l("Nhóm đối tượng"), coerce=int, validators=[InputRequired()])
    version = SelectField(_l("Bảng hỏi (phiên bản đã công bố)"), coerce=int, validators=[InputRequired()])


class UnitsForm(FlaskForm):
    """A unit and, optionally, the kinds of units under it to assess."""

    root = SelectField(_l("Đơn vị (và các đơn vị trực thuộc)"), coerce=int, validators=[InputRequired()])
    kinds = CheckboxesField(
        _l("Chỉ các loại đơn vị (không chọn: mọi cơ quan, xã, phường, đặc khu)"),
        choices=[SelectChoice(kind, KIND_NAMES[kind]) for kind in UNIT_KINDS], validators=[Optional()])


class OpenLinkForm(FlaskForm):
    """A group's open link and its per-unit quota."""

    enabled = BooleanField(_l("Bật đường dẫn chung"))
    quota = IntegerField(_l("Số phiếu tối đa mỗi đơn vị (để trống: không giới hạn)"), validators=[
        Optional(), NumberRange(min=1, message=_l("Số phiếu tối đa mỗi đơn vị phải từ 1 trở lên."))])


class ConfirmForm(FlaskForm):
    """A button that only carries the form token (remove a unit, confirm a status change)."""


def wave_or_404(code: str) -> Wave:
    """Return the wave with this code, or 404."""
    wave = db.session.scalar(select(Wave).filter_by(code=code))
    if wave is None:
        abort(404)
    return wave



def _in_scope(query, column):
    """Limit a query to the user's units."""
    scope = current_user.unit_scope
    return query if scope is None else query.where(column.in_(scope))


def _audit(action: str, wave: Wave, **details) -> None:
    """Record what the user did to a wave, then commit it with the change."""
    record(db.session, action, target=f"wave:{wave.code}", user=current_user, **details)
    db.session.commit()


def _wave_units(wave: Wave) -> list[Unit]:
    """The wave's assessed units within the user's scope, by code."""
    query = select(Unit).join(WaveUnit, WaveUnit.unit_id == Unit.id).where(WaveUnit.wave_id == wave.id)
    return db.session.scalars(_in_scope(query, Unit.id).order_by(Unit.code)).all()


def _assign_form(form: AssignForm | None = None) -> AssignForm:
    """The group form with its choices from the database (published versions only)."""
    form = form or AssignForm()
    groups = db.session.scalars(select(RespondentGroup).order_by(RespondentGroup.code)).all()
    form.group.choices = [SelectChoice(g.id, _named(g)) for g in groups]
    versions = db.session.execute(
        select(QuestionnaireVersion, Questionnaire).join(QuestionnaireVersion.questionnaire)
        .where(QuestionnaireVersion.status == "published")
        .order_by(Questionnaire.code, QuestionnaireVersion.id)).all()
    form.version.choices = [SelectChoice(v.id, f"{q.code} {v.version} — {_titled(q)}") for v, q in versions]
    return form


def _units_form(wave: Wave, form: UnitsForm | None = None) -> UnitsForm:
    """The units form: a root among the units the user may see that exist on the opening day."""
    form = form or UnitsForm()
    units = db.session.scalars(_in_scope(select(Unit), Unit.id).order_by(Unit.code)).all()
    form.root.choices = [SelectChoice(u.id, f"{u.code} — {_named(u)}") for u in units
                         if u.valid_on(wave.opens_on)]
    return form


def _named(row) -> str:
    """A unit's or group's name in the user's language."""
    from flask_babel import get_locale

    return row.name_en if str(get_locale()) == "en" and row.name_en else row.name


def _titled(questionnaire: Questionnaire) -> str:
    """A questionnaire's title in the user's language."""
    from flask_babel import get_locale

    if str(get_locale()) == "en" and questionnaire.title_en:
        return questionnaire.title_en
    return questionnaire.title


def _page(wave: Wave, status: int = 200, errors: list[str] | None = None, **forms):
    """Render the wave's set-up page (422 with the reasons when a change was refused)."""
    open_forms = forms.pop("open_forms", {})
    for assigned in wave.groups:
        if assigned.group_id not in open_forms:
            open_forms[assigned.group_id] = OpenLinkForm(
                prefix=f"g{assigned.group_id}", formdata=None,
                data={"enabled": assigned.open_link, "quota": assigned.open_quota})
    return render_template(
        "waves/wave.html", wave=wave, status_names=STATUS_NAMES, kind_names=KIND_NAMES, moves=MOVES,
        groups=sorted(wave.groups, key=lambda g: g.group.code), units=_wave_units(wave),
        assign_form=forms.get("assign_form") or _assign_form(),
        units_form=forms.get("units_form") or _units_form(wave), open_forms=open_forms,
        remove_form=ConfirmForm(), errors=errors or [], named=_named, titled=_titled,
        contact_form=forms.get("contact_form") or ContactForm(formdata=None, obj=wave),
    ), status


def _refused(code: str, exc: service.WaveError | None = None, **forms):
    """Undo whatever was flushed and show the wave page with the reason."""
    db.session.rollback()
    errors = [refusal(exc)] if exc is not None else [_("Xin sửa các ô được đánh dấu bên dưới.")]
    return _page(wave_or_404(code), 422, errors, **forms)


def _done(wave: Wave, message: str):
    """Say what was done and go back to the wave page (303: a reload does not post again)."""
    flash(message, "status")
    return redirect(url_for(".wave", code=wave.code), 303)


@bp.get("/")
@roles_required(*COORDINATORS)
def index():
    """List waves with their status, dates, groups and the units and invitations in the user's scope."""
    return _index(WaveForm(formdata=None))


def _index(form: WaveForm, status: int = 200):
    """Render the wave list with the creation form."""
    waves = db.session.scalars(select(Wave).order_by(Wave.year.desc(), Wave.code)).all()
    units = dict(db.session.execute(_in_scope(
        select(WaveUnit.wave_id, func.count()), WaveUnit.unit_id).group_by(WaveUnit.wave_id)).all())
    invitations = select(Invitation.wave_id, func.count()).where(Invitation.source == "frame")
    scope = current_user.unit_scope
    if scope is not None:
        invitations = invitations.where(Invitation.id.in_(
            select(InvitationUnit.invitation_id).where(InvitationUnit.unit_id.in_(scope))))
    invited = dict(db.session.execute(invitations.group_by(Invitation.wave_id)).all())
    return render_template("waves/index.html", waves=waves, units=units, invited=invited, form=form,
                           status_names=STATUS_NAMES, named=_named), status


@bp.post("/")
@roles_required(*COORDINATORS)
def create():
    """Create a wave in draft and go to its set-up page."""
    form = WaveForm()
    if not form.validate_on_submit():
        return _index(form, 422)
    try:
        wave = service.create_wave(db.session, form.code.data, form.year.data, form.name.data,
                                   form.opens_on.data, form.closes_on.data,
                                   name_en=(form.name_en.data or "").strip() or None,
                                   contact_phone=form.contact_phone.data,
                                   contact_email=form.contact_email.data)
    except service.WaveError as exc:
        db.session.rollback()
        field = {"code_taken": form.code, "no_code": form.code, "year": form.year}.get(exc.reason,
                                                                                        form.closes_on)
        field.errors = [*field.errors, refusal(exc)]
        return _index(form, 422)
    _audit("wave.created", wave)
    return _done(wave, _("Đã tạo đợt khảo sát %(code)s (đang chuẩn bị).", code=wave.code))


@bp.get("/<code>")
@roles_required(*COORDINATORS)
def wave(code: str):
    """The wave's set-up: groups and questionnaires, units, open links and status."""
    return _page(wave_or_404(code))


@bp.post("/<code>/groups")
@roles_required(*COORDINATORS)
def assign(code: str):
    """Give a respondent group a published questionnaire version (draft only)."""
    wave = wave_or_404(code)
    form = _assign_form()
    if not form.validate_on_submit():
        return _refused(code, assign_form=form)
    group = db.session.get(RespondentGroup, form.group.data)
    version = db.session.get(QuestionnaireVersion, form.version.data)
    try:
        service.assign_group(db.session, wave, group.code, version.questionnaire.code, version.version)
    except service.WaveError as exc:
        return _refused(code, exc, assign_form=form)
    _audit("wave.group_assigned", wave, group=group.code, questionnaire=version.questionnaire.code,
           version=version.version)
    return _done(wave, _("Nhóm %(group)s trả lời bảng hỏi %(questionnaire)s phiên bản %(version)s.",
                         group=_named(group), questionnaire=version.questionnaire.code,
                         version=version.version))


@bp.post("/<code>/units")
@roles_required(*COORDINATORS)
def add_units(code: str):
    """Add a unit and the units under it (of the chosen kinds, within the user's scope) to a draft wave."""
    wave = wave_or_404(code)
    form = _units_form(wave)
    if not form.validate_on_submit():
        return _refused(code, units_form=form)
    root = db.session.get(Unit, form.root.data)
    kinds = tuple(form.kinds.data or ()) or UNIT_KINDS  # as `flask waves units`: never the province itself
    try:
        chosen = service.subtree(db.session, root.code, kinds, on=wave.opens_on)
        chosen = [u for u in chosen if current_user.may_see_unit(u.id)]
        added = service.add_units(db.session, wave, chosen)
    except service.WaveError as exc:
        return _refused(code, exc, units_form=form)
    _audit("wave.units_added", wave, under=root.code, kinds=list(kinds), added=added)
    return _done(wave, _("Đã thêm %(added)s đơn vị (%(kept)s đơn vị đã có trong đợt).",
                         added=added, kept=len(chosen) - added))


@bp.post("/<code>/units/<int:unit_id>/remove")
@roles_required(*COORDINATORS)
def remove_unit(code: str, unit_id: int):
    """Take a unit out of a draft wave."""
    wave = wave_or_404(code)
    unit = db.session.get(Unit, unit_id)
    if unit is None or not current_user.may_see_unit(unit.id):
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.remove_unit(db.session, wave, unit)
    except service.WaveError as exc:
        return _refused(code, exc)
    _audit("wave.unit_removed", wave, unit=unit.code)
    return _done(wave, _("Đã bỏ đơn vị %(unit)s khỏi đợt khảo sát.", unit=_named(unit)))


@bp.post("/<code>/groups/<group_code>/open-link")
@roles_required(*COORDINATORS)
def open_link(code: str, group_code: str):
    """Switch a group's open link on or off with its per-unit quota (draft or open)."""
    wave = wave_or_404(code)
    group = db.session.scalar(select(RespondentGroup).filter_by(code=group_code))
    if group is None or service.assignment(db.session, wave.id, group.id) is None:
        abort(404)
    form = OpenLinkForm(prefix=f"g{group.id}")
    if not form.validate_on_submit():
        return _refused(code, open_forms={group.id: form})
    try:
        service.set_open_link(db.session, wave, group, form.enabled.data, form.quota.data)
    except service.WaveError as exc:
        return _refused(code, exc, open_forms={group.id: form})
    _audit("wave.open_link", wave, group=group.code, enabled=form.enabled.data, quota=form.quota.data)
    if form.enabled.data:
        return _done(wave, _("Đã bật đường dẫn chung cho nhóm %(group)s.", group=_named(group)))
    return _done(wave, _("Đã tắt đường dẫn chung cho nhóm %(group)s.", group=_named(group)))


@bp.post("/<code>/contact")
@roles_required(*COORDINATORS)
def contact(code: str):
    """Set the wave's hotline and e-mail, at any status (respondents see them; no answer depends on them)."""
    wave = wave_or_404(code)
    form = ContactForm()
    if not form.validate_on_submit():
        return _refused(code, contact_form=form)
    service.set_contact(wave, form.contact_phone.data, form.contact_email.data)
    _audit("wave.contact", wave)
    return _done(wave, _("Đã lưu thông tin liên hệ của đợt khảo sát."))


@bp.route("/<code>/status/<target>", methods=["GET", "POST"])
@roles_required(*COORDINATORS)
def move(code: str, target: str):
    """Ask to confirm, then move the wave to open or closed."""
    wave = wave_or_404(code)
    if target not in MOVES:
        abort(404)
    if target == "closed" and not current_user.sees_all_units:
        abort(403)  # as on the closing page: closing stops every unit's answers
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("waves/confirm.html", wave=wave, target=target, move=MOVES[target],
                               form=form, named=_named)
    try:
        service.set_status(db.session, wave, target)
    except service.WaveError as exc:
        return _refused(code, exc)
    _audit(f"wave.{target}", wave, on=date.today().isoformat())
    if target == "open":
        return _done(wave, _("Đợt khảo sát đã mở."))
    return _done(wave, _("Đợt khảo sát đã đóng."))
