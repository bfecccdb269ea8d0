"""Staff pages for index frameworks: published versions, criteria table export, import with a diff first.

Import is two steps and keeps nothing on the server in between: the upload is checked (every row,
then the candidate document through the one framework validator) and its differences from the
newest published version are shown; the page carries the file back (base64, in the form) with the
checksum of the version it was compared with. Applying checks everything again and publishes only
if that version is still the newest, so that what is applied is what was shown.
"""

import base64
import binascii
import io

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from survey.auth.access import roles_required
from survey.db import db
from survey.instruments import frameworks as service
from survey.instruments.framework_table import to_xlsx
from survey.instruments.models import FrameworkVersion, IndexFramework
from survey.instruments.service import VersionConflict

bp = Blueprint("frameworks", __name__, url_prefix="/staff/frameworks")
READERS = ("coordinator", "analyst", "assessor", "approver")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_TABLE_BYTES = 2 * 1024 * 1024
# Problem kind (survey.instruments.framework_table.MESSAGES) -> its wording on the page.
PROBLEMS = {
    "not_workbook": _l("Không đọc được tệp .xlsx (%(error)s)."),
    "empty_sheet": _l("Trang tính trống."),
    "missing_columns": _l("Thiếu cột: %(columns)s."),
    "bad_points": _l("Điểm tối đa %(value)s không phải là số ≥ 0."),
    "bad_rule": _l("Cách chấm phải là tên một quy tắc (yes_no) hoặc một ánh xạ dạng {type: ...}."),
    "no_code": _l("Thiếu mã."),
    "duplicate": _l("Mã %(code)s bị trùng (đã có ở dòng %(other)s)."),
    "unknown_node": _l("Khung chỉ số không có tiêu chí mã %(code)s."),
    "needs_name": _l("Tiêu chí mới %(code)s cần có tên."),
    "unknown_parent": _l("Không có tiêu chí cha %(parent)s của %(code)s ở các dòng phía trên."),
    "no_level": _l("Chưa rõ cấp của %(code)s: điền cột Cấp."),
    "unknown_mode": _l("Cách nhập %(mode)s không hợp lệ."),
    "no_version": _l("Cần một phiên bản mới."),
    "same_version": _l("Phiên bản %(version)s đã công bố: đặt phiên bản mới cho bảng."),
    "no_source": _l("Cho biết nguồn của số liệu (Phụ lục, số, ngày)."),
    "no_rows": _l("Bảng không có dòng nào."),
    "no_framework": _l("Chưa công bố khung chỉ số %(code)s."),
}


def describe(problem) -> str:
    """A problem in the page's language; a framework validator line keeps its technical wording."""
    wording = PROBLEMS.get(problem.kind)
    if wording is None:
        return problem.message
    return str(wording) % problem.params if problem.params else str(wording)


class TableFields(FlaskForm):
    """What a criteria table is imported as."""

    framework = SelectField(_l("Khung chỉ số"), validators=[DataRequired()])
    version = StringField(_l("Phiên bản mới"), validators=[DataRequired(), Length(max=32)])
    mode = RadioField(
        _l("Cách nhập"),
        default="tree",
        choices=[
            SelectChoice("tree", _l("Thay cả cây tiêu chí (dòng nào không có trong bảng thì bỏ)")),
            SelectChoice("points", _l("Chỉ thay điểm và tên của các tiêu chí đã có")),
        ],
    )
    status = RadioField(
        _l("Trạng thái số liệu"),
        default="verified",
        choices=[
            SelectChoice("verified", _l("Đã đối chiếu văn bản chính thức")),
            SelectChoice("provisional", _l("Tạm thời (chưa đối chiếu)")),
        ],
    )
    source = StringField(_l("Nguồn (văn bản, số, ngày)"), validators=[DataRequired(), Length(max=500)])


class ImportForm(TableFields):
    """The upload step."""

    file = FileField(
        _l("Bảng tiêu chí (.xlsx)"),
        validators=[FileRequired(_l("Xin chọn một tệp.")), FileAllowed(["xlsx"], _l("Chỉ nhận tệp .xlsx."))],
    )
    submit = SubmitField(_l("Kiểm tra và xem thay đổi"))


class ApplyForm(TableFields):
    """The apply step: the checked file and the version it was compared with travel in the form."""

    payload = HiddenField(validators=[DataRequired()])
    filename = HiddenField()
    base = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Áp dụng: công bố phiên bản mới"))


def _frameworks() -> list[IndexFramework]:
    """Every stored framework with its versions."""
    return db.session.scalars(select(IndexFramework).order_by(IndexFramework.code)).all()


def _choices(form: TableFields) -> TableFields:
    """Fill the framework choices."""
    form.framework.choices = [SelectChoice(f.code, f"{f.code} — {f.name}") for f in _frameworks()]
    return form


def _index(form: ImportForm, problems=None, status: int = 200):
    """The list page with the import form (and the problems of a refused table)."""
    page = render_template("frameworks/index.html", frameworks=_frameworks(), form=form, problems=problems,
                           describe=describe)
    return page, status


@bp.get("")
@roles_required(*READERS)
def index():
    """List frameworks and their published versions, with the criteria table of each."""
    return _index(_choices(ImportForm()))


@bp.get("/<code>/<version>.xlsx")
@roles_required(*READERS)
def export(code: str, version: str):
    """Download a version as a criteria table."""
    found = db.session.scalar(
        select(FrameworkVersion)
        .join(FrameworkVersion.framework)
        .where(IndexFramework.code == code, FrameworkVersion.version == version)
    )
    if found is None:
        abort(404)
    return send_file(
        io.BytesIO(to_xlsx(found.definition)),
        mimetype=XLSX,
        as_attachment=True,
        download_name=f"{code}-{version}.xlsx",
    )


def _check(form: TableFields, data: bytes):
    """Check a table against the newest version; return (outcome, base version)."""
    base = service.latest(db.session, form.framework.data)
    outcome = service.check_table(
        db.session,
        form.framework.data,
        data,
        form.mode.data,
        form.version.data,
        form.status.data,
        form.source.data,
    )
    return outcome, base


@bp.post("/import")
@roles_required("coordinator")
def import_view():
    """Check an uploaded table: its problems by row, or the differences and the apply form."""
    form = _choices(ImportForm())
    if not form.validate_on_submit():
        return _index(form, status=422)
    data = form.file.data.read(MAX_TABLE_BYTES + 1)
    if len(data) > MAX_TABLE_BYTES:
        form.file.errors.append(_("Tệp quá lớn (tối đa 2 MB)."))
        return _index(form, status=422)
    outcome, base = _check(form, data)
    if not outcome.ok:
        flash(_("Bảng tiêu chí có lỗi; không có gì được lưu."), "error")
        return _index(form, outcome.problems, 422)
    apply = _choices(
        ApplyForm(
            formdata=None,
            framework=form.framework.data,
            version=form.version.data,
            mode=form.mode.data,
            status=form.status.data,
            source=form.source.data,
            payload=base64.b64encode(data).decode("ascii"),
            filename=form.file.data.filename or "",
            base=base.checksum,
        )
    )
    return render_template("frameworks/diff.html", outcome=outcome, base=base, form=apply)


@bp.post("/apply")
@roles_required("coordinator")
def apply():
    """Check the table again and publish it as a new version, if the compared version is still the newest."""
    form = _choices(ApplyForm())
    if not form.validate_on_submit():
        abort(400)
    try:
        data = base64.b64decode(form.payload.data, validate=True)
    except (binascii.Error, ValueError):
        abort(400)
    outcome, base = _check(form, data)
    if not outcome.ok:
        flash(_("Bảng tiêu chí có lỗi; không có gì được lưu."), "error")
        return _index(_choices(ImportForm(formdata=None)), outcome.problems, 422)
    if base.checksum != form.base.data:
        flash(_("Đã có phiên bản mới hơn từ khi bạn kiểm tra bảng; hãy xem lại các thay đổi."), "error")
        return render_template(
            "frameworks/diff.html",
            outcome=outcome,
            base=base,
            form=_choices(ApplyForm(formdata=None, data={**form.data, "base": base.checksum})),
        ), 409
    try:
        service.apply_table(db.session, outcome, user=current_user, filename=form.filename.data)
    except VersionConflict:
        db.session.rollback()
        flash(
            _(
                "Phiên bản %(version)s đã có với nội dung khác; hãy đặt phiên bản mới.",
                version=form.version.data,
            ),
            "error",
        )
        return redirect(url_for(".index"))
    db.session.commit()
    flash(
        _("Đã công bố %(code)s phiên bản %(version)s.", code=form.framework.data, version=form.version.data),
        "status",
    )
    return redirect(url_for(".index"))
