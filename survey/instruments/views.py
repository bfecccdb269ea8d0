"""Staff pages for questionnaire versions: the list, paper forms, XLSForm export and import."""

import io
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import select
from wtforms import BooleanField, SubmitField

from survey.auth.access import roles_required
from survey.auth.models import record
from survey.db import db
from survey.instruments import paper, service, xlsform
from survey.instruments.models import Questionnaire, QuestionnaireVersion
from survey.instruments.xlsform_import import import_xlsform

bp = Blueprint("instruments", __name__, url_prefix="/staff/questionnaires")
READERS = ("coordinator", "data_entry", "analyst")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ImportForm(FlaskForm):
    """Upload of an XLSForm to store as a published questionnaire version."""

    file = FileField(_l("Tệp XLSForm (.xlsx, .xls, .csv hoặc .md)"),
                     validators=[FileRequired(_l("Xin chọn một tệp.")),
                                 FileAllowed(["xlsx", "xlsm", "xls", "csv", "md"],
                                             _l("Chỉ nhận tệp .xlsx, .xls, .csv hoặc .md."))])
    accept_partial = BooleanField(_l("Chấp nhận nhập một phần (bỏ các dòng không chuyển được)"))
    submit = SubmitField(_l("Nhập XLSForm"))


def _versions() -> list[tuple[Questionnaire, QuestionnaireVersion]]:
    """List every stored version with its questionnaire."""
    return db.session.execute(
        select(Questionnaire, QuestionnaireVersion).join(QuestionnaireVersion.questionnaire)
        .order_by(Questionnaire.code, QuestionnaireVersion.id)).all()


def _version(code: str, version: str) -> QuestionnaireVersion:
    """Return a stored version or answer 404."""
    found = db.session.scalar(
        select(QuestionnaireVersion).join(QuestionnaireVersion.questionnaire)
        .where(Questionnaire.code == code, QuestionnaireVersion.version == version))
    if found is None:
        abort(404)
    return found


@bp.get("")
@roles_required(*READERS)
def index():
    """List questionnaire versions with their paper form, XLSForm export and the import form."""
    return render_template("instruments/index.html", versions=_versions(), form=ImportForm(),
                           report=None)


@bp.post("/import")
@roles_required("coordinator")
def import_view():
    """Import an uploaded XLSForm: show the report; store it when complete or accepted partially."""
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        report = import_xlsform(upload.read(), fallback_id=Path(upload.filename or "imported").stem.lower(),
                                filename=upload.filename)
        if report.accepted(form.accept_partial.data):
            return _publish(report, upload.filename)
        if report.of_kind("refused"):
            flash(_("Không nhập được: pyxform từ chối biểu mẫu (lý do ở dưới)."), "error")
        elif not report.of_kind("invalid"):
            flash(_("Một số dòng không chuyển được. Đánh dấu \"Chấp nhận nhập một phần\" và gửi lại tệp "
                    "nếu vẫn muốn nhập."), "error")
        else:
            flash(_("Không nhập được: bảng hỏi không hợp lệ."), "error")
    return render_template("instruments/index.html", versions=_versions(), form=form,
                           report=report), 422


def _publish(report, filename: str | None):
    """Store an accepted import as a published version, with an audit record."""
    definition = report.definition
    try:
        outcome = service.publish(db.session, definition)
    except service.VersionConflict:
        db.session.rollback()
        flash(_("Phiên bản %(version)s của %(code)s đã có với nội dung khác; hãy đặt phiên bản mới.",
                version=definition.version, code=definition.id), "error")
        return redirect(url_for(".index"))
    record(db.session, "questionnaire.imported", target=f"{definition.id}:{definition.version}",
           user=current_user, source=filename, partial=bool(report.of_kind("unsupported")))
    db.session.commit()
    if outcome == "unchanged":
        flash(_("Phiên bản này đã có, không thay đổi."), "status")
    else:
        flash(_("Đã nhập %(code)s phiên bản %(version)s.", code=definition.id,
                version=definition.version), "status")
    if report.lines:  # a partial import (or notes): the report stays in view
        return render_template("instruments/index.html", versions=_versions(), form=ImportForm(),
                               report=report)
    return redirect(url_for(".index"))


@bp.get("/<code>/<version>/xlsform")
@roles_required(*READERS)
def export(code: str, version: str):
    """Download a version as an XLSForm for ODK Collect / KoboCollect."""
    definition = service.definition_of(_version(code, version))
    return send_file(io.BytesIO(xlsform.to_bytes(definition)), mimetype=XLSX, as_attachment=True,
                     download_name=f"{code}-{version}.xlsx")


@bp.get("/<code>/<version>/print")
@roles_required(*READERS)
def print_form(code: str, version: str):
    """Show the printable paper form of a version (A4, no script, no external assets)."""
    definition = service.definition_of(_version(code, version))
    language = str(get_locale() or "vi")
    return render_template("instruments/print.html", definition=definition, language=language,
                           code=paper.form_code(definition), sections=paper.paper_form(definition, language),
                           texts=lambda text: paper.texts(text, language))
