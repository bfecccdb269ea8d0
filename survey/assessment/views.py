"""Self-assessment pages (/staff/assessments): the list, a unit's assessment, evidence, the workflow.

Who does what (roles in survey/auth/models.py; no separate appraiser role):

- assessors (the unit's assessment officers) declare data, score, explain, upload and link evidence,
  and submit; they may take a submitted assessment back to draft, with a reason;
- approvers (the Chairman's office, Văn phòng UBND) approve or return with a reason, then enter the
  appraisal the ministry (or the provincial council) sends back, node by node, mark the assessment
  appraised and lock it; they may also correct a submitted score, with a reason;
- coordinators (Sở Nội vụ) follow every unit: deadlines, milestones, unfinished units, reminders;
- everyone above sees only the units of their scope (the queries apply `User.unit_scope`); an
  assessment outside it is a 404, its files too. Administrators do everything, and alone may
  reopen a locked assessment.
"""

import re
import tempfile
import unicodedata
from datetime import date
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from survey.assessment import export, files, reminders, scoring, service
from survey.assessment.models import Assessment
from survey.assessment.storage import storage_for
from survey.auth.access import roles_required
from survey.db import db
from survey.extensions import csrf
from survey.instruments.models import FrameworkVersion, IndexFramework
from survey.sampling.models import Unit
from survey.sampling.views import _named

bp = Blueprint("assessment", __name__, url_prefix="/staff/assessments")
VIEWERS = ("assessor", "approver", "coordinator")
SCORERS = ("assessor", "approver")
FOLLOWERS = ("coordinator", "approver")
FORM_OVERHEAD = 1024 * 1024  # the metadata fields next to a 20 MB file
STATUS_NAMES = {"draft": _l("Đang tự chấm"), "submitted": _l("Đã gửi, chờ phê duyệt"),
                "approved": _l("Đã phê duyệt, chờ thẩm định"), "appraised": _l("Đã có kết quả thẩm định"),
                "locked": _l("Đã khóa")}
MOVE_NAMES = {"submit": _l("Gửi kết quả tự chấm"), "approve": _l("Phê duyệt"),
              "appraise": _l("Hoàn tất thẩm định (chấp nhận điểm tự chấm ở các tiêu chí còn lại)"),
              "lock": _l("Khóa kết quả"), "return": _l("Trả lại bước trước")}
EVENT_NAMES = {"created": _l("Tạo bản tự đánh giá"), "submit": _l("Gửi kết quả tự chấm"),
               "approve": _l("Phê duyệt"), "appraise": _l("Hoàn tất thẩm định"), "lock": _l("Khóa kết quả"),
               "returned": _l("Trả lại bước trước"), "score_changed": _l("Sửa điểm tự chấm sau khi gửi"),
               "appraisal": _l("Nhập điểm thẩm định"), "reminder": _l("Nhắc đơn vị"),
               "deadlines": _l("Đặt thời hạn")}
PROBLEM_NAMES = {"no_score": _l("chưa có điểm tự chấm"),
                 "no_evidence": _l("chưa có tài liệu kiểm chứng và chưa giải trình"),
                 "no_explanation": _l("cần giải trình (tài liệu chưa đủ, không phát sinh hoặc điểm khác "
                                      "điểm gợi ý)")}
EVIDENCE_NAMES = {"missing": _l("Chưa có tài liệu"), "partial": _l("Tài liệu chưa đủ"),
                  "complete": _l("Đủ tài liệu")}
MILESTONE_NAMES = {"submit_by": _l("hạn gửi kết quả tự chấm"), "approve_by": _l("hạn phê duyệt"),
                   "deadline": _l("hạn của Bộ Nội vụ")}
ANSWER_NAMES = {"yes": _l("Có / đạt"), "no": _l("Không / không đạt"), "na": _l("Không phát sinh")}


def refusal(exc: service.AssessmentError) -> str:
    """Say in the user's language why a change was refused."""
    p = exc.params
    messages = {
        "year": lambda: _("Năm %(year)s không hợp lệ (từ 2000 đến 2100).", year=p["year"]),
        "exists": lambda: _("Đơn vị %(unit)s đã có bản tự đánh giá năm %(year)s.", unit=p["unit"],
                            year=p["year"]),
        "no_nodes": lambda: _("Bộ tiêu chí không có tiêu chí tự đánh giá nào."),
        "no_node": lambda: _("Không có tiêu chí %(node)s trong bản tự đánh giá này.", node=p["node"]),
        "too_long": lambda: _("Nội dung quá dài (tối đa %(limit)s ký tự).", limit=p["limit"]),
        "not_editable": lambda: _("Bản tự đánh giá đang ở trạng thái “%(status)s”: không sửa được điểm, "
                                  "giải trình hay tài liệu.", status=STATUS_NAMES[p["status"]]),
        "not_appraising": lambda: _("Chỉ nhập điểm thẩm định sau khi đã phê duyệt (trạng thái hiện tại: "
                                    "“%(status)s”).", status=STATUS_NAMES[p["status"]]),
        "not_unfinished": lambda: _("Đơn vị đã hoàn thành phần tự chấm: không cần nhắc."),
        "score_range": lambda: _("Tiêu chí %(node)s: điểm phải từ 0 đến %(max)s.", node=p["node"],
                                 max=format_decimal(p["max"])),
        "score_step": lambda: _("Tiêu chí %(node)s: điểm phải là bội số của %(step)s.", node=p["node"],
                                step=format_decimal(p["step"])),
        "answer": lambda: _("Tiêu chí %(node)s: câu trả lời không hợp lệ.", node=p["node"]),
        "count": lambda: _("Tiêu chí %(node)s: số trường hợp không được âm.", node=p["node"]),
        "ratio": lambda: _("Tiêu chí %(node)s: tử số và mẫu số phải không âm, tử số không lớn hơn mẫu số.",
                           node=p["node"]),
        "level": lambda: _("Tiêu chí %(node)s: mức đánh giá không hợp lệ.", node=p["node"]),
        "reason_needed": lambda: _("Cần ghi lý do cho thay đổi này."),
        "note_needed": lambda: _("Tiêu chí %(node)s: điểm thẩm định khác điểm tự chấm cần có ghi chú.",
                                 node=p["node"]),
        "no_document": lambda: _("Không có tài liệu này trong bản tự đánh giá."),
        "transition": lambda: _("Bản tự đánh giá đang ở trạng thái “%(current)s”, không chuyển sang "
                                "“%(wanted)s” được.", current=STATUS_NAMES[p["current"]],
                                wanted=STATUS_NAMES.get(p["wanted"], p["wanted"])),
        "blocked": lambda: _("Chưa gửi được: %(count)s tiêu chí còn thiếu điểm, tài liệu kiểm chứng hoặc "
                             "giải trình (danh sách bên dưới).", count=len(p["blockers"])),
        "no_recipients": lambda: _("Đơn vị chưa có người tự đánh giá (tài khoản đang hoạt động) hay đầu mối "
                                   "khảo sát có thư điện tử: không gửi được thư nhắc."),
        "mail_failed": lambda: _("Không gửi được thư nhắc: máy chủ thư không nhận (%(error)s). Chưa ghi "
                                 "nhắc nhở nào; xin thử lại sau.", error=p["error"]),
        "own_submission": lambda: _("Bạn đã gửi bản tự đánh giá này nên không thể tự phê duyệt: việc phê "
                                    "duyệt phải do một người khác có vai trò phê duyệt thực hiện."),
        "document_linked": lambda: _("Tài liệu đang được dùng cho tiêu chí %(nodes)s: hãy bỏ tài liệu khỏi "
                                     "các tiêu chí đó trước khi xóa.", nodes=p["nodes"]),
        "milestone_order": lambda: _("Các mốc phải theo thứ tự: hạn gửi, hạn phê duyệt, hạn của Bộ."),
    }
    return messages.get(exc.reason, lambda: _("Không thực hiện được thay đổi này."))()


def upload_refusal(exc: files.UploadRefused) -> str:
    """Say why a file cannot be evidence."""
    messages = {
        "empty": lambda: _("Chưa chọn tệp, hoặc tệp rỗng."),
        "too_large": lambda: _("Tệp quá lớn: tối đa 20 MB mỗi tệp. Hãy tách tài liệu hoặc giảm độ phân giải "
                               "bản quét."),
        "type": lambda: _("Chỉ nhận tệp PDF, DOCX, XLSX, JPG hoặc PNG (kiểm tra theo nội dung tệp, "
                          "không theo tên tệp)."),
    }
    return messages.get(exc.reason, lambda: _("Tệp không hợp lệ."))()


def _assessment_or_404(assessment_id: int) -> Assessment:
    """The assessment, if it is within the user's units; otherwise 404 (no hint that it exists)."""
    found = service.get(db.session, assessment_id, current_user)
    if found is None:
        abort(404)
    return found


def _days(day: date | None) -> int | None:
    return None if day is None else (day - date.today()).days


def _page(assessment: Assessment, status: int = 200, errors: list[str] | None = None,
          blocked: list | None = None):
    """Render an assessment: the framework tree with each node's data, scores, evidence, history."""
    framework = service.framework_of(assessment.framework_version)
    items = {entry.node_code: entry for entry in assessment.items}
    rows = []
    for node in framework.walk():
        entry = items.get(node.code)
        if entry is None and not any(c.code in items for c in node.walk()):
            continue
        row = {"node": node, "item": entry, "depth": node.code.count(".") - 1}
        if entry is not None:
            row |= {"step": scoring.step(node), "evidence": service.evidence_state(entry, node),
                    "problems": service.problems(entry, node),
                    "needs_explanation": service.explanation_needed(entry, node)}
        rows.append(row)
    milestone = service.next_milestone(assessment, date.today())
    return render_template(
        "assessment/assessment.html", a=assessment, framework=framework, rows=rows,
        totals=service.totals(assessment),
        blockers=blocked if blocked is not None else service.blockers(assessment),
        history=service.history(db.session, assessment), errors=errors or [], milestone=milestone,
        days=_days, status_names=STATUS_NAMES, move_names=MOVE_NAMES, event_names=EVENT_NAMES,
        evidence_names=EVIDENCE_NAMES, milestone_names=MILESTONE_NAMES,
        answer_names=ANSWER_NAMES, moves=_moves(assessment), named=_named, format_decimal=format_decimal,
        problem_text=lambda found: "; ".join(str(PROBLEM_NAMES[p]) for p in found),
        may_score=current_user.has_role(*SCORERS) and assessment.status in service.EDITABLE,
        may_upload=current_user.has_role("assessor") and assessment.status in service.EDITABLE,
        may_appraise=current_user.has_role("approver") and assessment.status in service.APPRAISING,
        may_follow=current_user.has_role(*FOLLOWERS),
        max_upload=files.MAX_BYTES, own_submission=_own_submission(assessment),
    ), status


def _own_submission(assessment: Assessment) -> str | None:
    """Why an approver who made the latest submission sees no approve button (None: not the case)."""
    if (assessment.status == "submitted" and current_user.has_role("approver")
            and service.submitted_by(db.session, assessment) == current_user.id):
        return refusal(service.AssessmentError("own_submission"))
    return None


def _moves(assessment: Assessment) -> list[tuple[str, str]]:
    """The (target status, move name) the user may ask for now."""
    found = []
    own = _own_submission(assessment) is not None
    for (frm, to), name in (service.FORWARD | service.BACK).items():
        if frm == assessment.status and _may_move(frm, to, name) and not (own and name == "approve"):
            found.append((to, name))
    return found


def _may_move(current: str, target: str, name: str) -> bool:
    """Assessors submit and take back a submission; approvers do the rest; only admins reopen a lock."""
    if name == "submit" or (name == "return" and current == "submitted"):
        return current_user.has_role(*SCORERS) if name == "return" else current_user.has_role("assessor")
    if name == "return" and current == "locked":
        return current_user.has_role("admin")
    return current_user.has_role("approver")


def _refused(assessment_id: int, message: str, status: int = 422, blocked: list | None = None):
    """Undo what was flushed and show the page with the reason (nothing is written)."""
    db.session.rollback()
    return _page(_assessment_or_404(assessment_id), status, [message], blocked)


def _done(assessment: Assessment, message: str, anchor: str | None = None):
    """Commit, say what was done and go back to the page (303: a reload does not post again)."""
    db.session.commit()
    flash(message, "status")
    return redirect(url_for(".view", assessment_id=assessment.id, _anchor=anchor), 303)


# -- form reading ---------------------------------------------------------------------------------

class FormError(ValueError):
    """A field that could not be read."""


def _number(name: str, kind=float):
    raw = (request.form.get(name) or "").strip().replace(",", ".")
    if raw == "":
        return None
    try:
        return kind(raw)
    except ValueError:
        raise FormError(name) from None


def _date(name: str) -> date | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FormError(name) from None


FIELD_NAMES = {"count": _l("số trường hợp"), "numerator": _l("tử số"), "denominator": _l("mẫu số"),
               "done_on": _l("ngày thực hiện"), "due_on": _l("thời hạn"), "level": _l("mức đánh giá"),
               "self_score": _l("điểm tự chấm"), "score": _l("điểm thẩm định"),
               "issued_on": _l("ngày ban hành"),
               "deadline": _l("hạn của Bộ"), "submit_by": _l("hạn gửi"), "approve_by": _l("hạn phê duyệt")}


def _form_refusal(exc: FormError) -> str:
    return _("Giá trị của ô “%(field)s” không đọc được.", field=FIELD_NAMES.get(str(exc), str(exc)))


# -- pages ----------------------------------------------------------------------------------------

def _index(status: int = 200, errors: list[str] | None = None):
    """Render the list of assessments with the creation form (coordinators)."""
    rows = db.session.scalars(service.in_scope(select(Assessment), current_user)
                              .order_by(Assessment.year.desc(), Assessment.id)).all()
    summary = [(a, len(service.blockers(a)), service.next_milestone(a, date.today())) for a in rows]
    unfinished = service.unfinished(db.session, current_user, date.today())
    units = db.session.scalars(_in_scope_units(select(Unit)).where(Unit.valid_to.is_(None))
                               .order_by(Unit.kind, Unit.name)).all()
    versions = db.session.execute(select(FrameworkVersion, IndexFramework.code).join(IndexFramework)
                                  .order_by(IndexFramework.code, FrameworkVersion.id.desc())).all()
    return render_template("assessment/index.html", summary=summary, unfinished=unfinished, days=_days,
                           status_names=STATUS_NAMES, milestone_names=MILESTONE_NAMES, named=_named,
                           may_follow=current_user.has_role(*FOLLOWERS), errors=errors or [],
                           may_create=current_user.has_role("coordinator"), units=units,
                           versions=[(v, code) for v, code in versions if code.startswith("par")],
                           this_year=date.today().year), status


def _in_scope_units(query):
    """Limit a query on units to the user's scope."""
    scope = current_user.unit_scope
    return query if scope is None else query.where(Unit.id.in_(scope))


@bp.get("/")
@roles_required(*VIEWERS)
def index():
    """The assessments of the user's units, what is left to do and the next milestone of each."""
    return _index()


@bp.post("/")
@roles_required("coordinator")
def create():
    """Start a unit's self-assessment for a year on a published framework version."""
    try:
        unit_id, version_id, year = _number("unit", int), _number("version", int), _number("year", int)
        deadline = _date("deadline")
    except FormError as exc:
        return _index(422, [_form_refusal(exc)])
    unit = db.session.scalar(_in_scope_units(select(Unit).where(Unit.id == (unit_id or 0))))
    version = db.session.get(FrameworkVersion, version_id or 0)
    if unit is None or version is None or year is None:
        return _index(422, [_("Xin chọn đơn vị, bộ tiêu chí và năm.")])
    try:
        assessment = service.create(db.session, unit, year, version, current_user, deadline=deadline)
    except service.AssessmentError as exc:
        db.session.rollback()
        return _index(422, [refusal(exc)])
    return _done(assessment, _("Đã tạo bản tự đánh giá năm %(year)s của %(unit)s.", year=year,
                               unit=_named(unit)))


@bp.get("/<int:assessment_id>")
@roles_required(*VIEWERS)
def view(assessment_id: int):
    """One unit's assessment: tree, scores, evidence, explanations, workflow, deadlines, history."""
    return _page(_assessment_or_404(assessment_id))


@bp.post("/<int:assessment_id>/items/<code>")
@roles_required(*SCORERS)
def save_item(assessment_id: int, code: str):
    """Save one node's declared data, self-score and explanation."""
    assessment = _assessment_or_404(assessment_id)
    try:
        data = service.ItemInput(
            answer=request.form.get("answer") or None, count=_number("count", int),
            numerator=_number("numerator"), denominator=_number("denominator"),
            done_on=_date("done_on"), due_on=_date("due_on"), level=_number("level", int),
            self_score=_number("self_score"), explanation=request.form.get("explanation"),
            evidence_partial=request.form.get("evidence_partial") == "y", reason=request.form.get("reason"))
    except FormError as exc:
        return _refused(assessment_id, _form_refusal(exc))
    try:
        service.save_item(db.session, assessment, code, data, current_user)
    except service.AssessmentError as exc:
        return _refused(assessment_id, refusal(exc))
    return _done(assessment, _("Đã lưu tiêu chí %(node)s.", node=code), anchor=f"n-{code}")


@bp.post("/<int:assessment_id>/items/<code>/evidence")
@csrf.exempt  # checked below, once the larger limit of this route is set
@roles_required("assessor")
def upload(assessment_id: int, code: str):
    """Upload an evidence document (≤ 20 MB) supporting one node, with its number, date and issuer."""
    request.max_content_length = files.MAX_BYTES + FORM_OVERHEAD
    too_large = upload_refusal(files.UploadRefused("too_large"))
    if request.content_length is not None and request.content_length > request.max_content_length:
        return _refused(assessment_id, too_large, 413)
    try:
        if current_app.config["WTF_CSRF_ENABLED"]:
            csrf.protect()
        sent = request.files.get("file")
        data = sent.stream.read(files.MAX_BYTES + 1) if sent else b""
        meta = _document_meta()
    except RequestEntityTooLarge:
        return _refused(assessment_id, too_large, 413)
    except FormError as exc:
        return _refused(assessment_id, _form_refusal(exc))
    assessment = _assessment_or_404(assessment_id)
    storage = storage_for()
    try:
        added = service.add_document(db.session, storage, assessment, current_user, data,
                                     sent.filename if sent else None, meta,
                                     [(code, request.form.get("pages"))])
    except files.UploadRefused as exc:
        return _refused(assessment_id, upload_refusal(exc), 413 if exc.reason == "too_large" else 422)
    except service.AssessmentError as exc:
        return _refused(assessment_id, refusal(exc))
    key = added.sha256
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        service.remove_unused_file(db.session, storage, key)
        raise
    return _done(assessment, _("Đã tải lên tài liệu kiểm chứng cho tiêu chí %(node)s.", node=code),
                 anchor=f"n-{code}")


@bp.post("/<int:assessment_id>/items/<code>/link")
@roles_required("assessor")
def link(assessment_id: int, code: str):
    """Let a document already uploaded support this node too."""
    assessment = _assessment_or_404(assessment_id)
    try:
        service.link(db.session, assessment, current_user, _number("document", int) or 0, code,
                     request.form.get("pages"))
    except FormError as exc:
        return _refused(assessment_id, _form_refusal(exc))
    except service.AssessmentError as exc:
        return _refused(assessment_id, refusal(exc))
    return _done(assessment, _("Đã gắn tài liệu với tiêu chí %(node)s.", node=code), anchor=f"n-{code}")


@bp.post("/<int:assessment_id>/links/<int:link_id>/remove")
@roles_required("assessor")
def unlink(assessment_id: int, link_id: int):
    """Stop a document supporting a node."""
    assessment = _assessment_or_404(assessment_id)
    try:
        service.unlink(db.session, assessment, current_user, link_id)
    except service.AssessmentError as exc:
        return _refused(assessment_id, refusal(exc))
    return _done(assessment, _("Đã bỏ tài liệu khỏi tiêu chí."))


def _document_meta() -> service.DocumentInput:
    """The number, date and issuer fields of an upload or an edit (FormError for a bad date)."""
    return service.DocumentInput(number=request.form.get("number"), issued_on=_date("issued_on"),
                                 issuer=request.form.get("issuer"))


@bp.post("/<int:assessment_id>/documents/<int:document_id>")
@roles_required("assessor")
def edit_document(assessment_id: int, document_id: int):
    """Correct an uploaded document's number, date and issuer."""
    assessment = _assessment_or_404(assessment_id)
    try:
        service.update_document(db.session, assessment, current_user, document_id, _document_meta())
    except FormError as exc:
        return _refused(assessment_id, _form_refusal(exc))
    except service.AssessmentError as exc:
        return _refused(assessment_id, refusal(exc))
    return _done(assessment, _("Đã sửa thông tin tài liệu."), anchor="tai-lieu")


@bp.post("/<int:assessment_id>/documents/<int:document_id>/remove")
@roles_required("assessor")
def delete_document(assessment_id: int, document_id: int):
    """Delete a document that supports no node; its stored file goes too when nothing else uses it."""
    assessment = _assessment_or_404(assessment_id)
    try:
        key = service.delete_document(db.session, assessment, current_user, document_id)
    except service.AssessmentError as exc:
        return _refused(assessment_id, refusal(exc))
    db.session.commit()
    if key is not None:
        service.remove_unused_file(db.session, storage_for(), key)
    flash(_("Đã xóa tài liệu."), "status")
    return redirect(url_for(".view", assessment_id=assessment.id, _anchor="tai-lieu"), 303)


FILE_CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'self'")


@bp.get("/<int:assessment_id>/documents/<int:document_id>")
@roles_required(*VIEWERS)
def document(assessment_id: int, document_id: int):
    """Serve an evidence file to a user who may see the assessment: PDF and images inline, others as files."""
    assessment = _assessment_or_404(assessment_id)
    found = service.document(assessment, document_id)
    if found is None:
        abort(404)
    try:
        handle = storage_for().open(found.sha256)
    except KeyError:
        abort(404)
    response = Response(handle, mimetype=found.media_type, direct_passthrough=True)
    response.headers["Content-Length"] = str(found.size)
    disposition = "inline" if found.media_type in files.INLINE else "attachment"
    fallback = unicodedata.normalize("NFKD", found.file_name).encode("ascii", "ignore").decode() or "file"
    response.headers["Content-Disposition"] = (f'{disposition}; filename="{fallback}"; '
                                               f"filename*=UTF-8''{quote(found.file_name)}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.post("/<int:assessment_id>/move/<target>")
@roles_required(*SCORERS)
def move(assessment_id: int, target: str):
    """Move the assessment one step (submit, approve, appraise, lock) or back, with a reason."""
    assessment = _assessment_or_404(assessment_id)
    name = service.FORWARD.get((assessment.status, target)) or service.BACK.get((assessment.status, target))
    if name is not None and not _may_move(assessment.status, target, name):
        abort(403)
    try:
        done = service.move(db.session, assessment, target, current_user, request.form.get("reason"))
    except service.AssessmentError as exc:
        blocked = exc.params.get("blockers") if exc.reason == "blocked" else None
        return _refused(assessment_id, refusal(exc), blocked=blocked)
    return _done(assessment, _("Đã thực hiện: %(move)s. Trạng thái mới: %(status)s.", move=MOVE_NAMES[done],
                               status=STATUS_NAMES[assessment.status]))


@bp.post("/<int:assessment_id>/items/<code>/appraisal")
@roles_required("approver")
def appraise(assessment_id: int, code: str):
    """Enter the appraised score and note of one node, from the ministry's or council's result."""
    assessment = _assessment_or_404(assessment_id)
    try:
        score = _number("score")
    except FormError as exc:
        return _refused(assessment_id, _form_refusal(exc))
    if score is None:
        return _refused(assessment_id, _("Xin nhập điểm thẩm định."))
    try:
        service.appraise_item(db.session, assessment, code, score, request.form.get("note"), current_user,
                              request.form.get("reason"))
    except service.AssessmentError as exc:
        return _refused(assessment_id, refusal(exc))
    return _done(assessment, _("Đã lưu điểm thẩm định tiêu chí %(node)s.", node=code), anchor=f"n-{code}")


@bp.post("/<int:assessment_id>/deadlines")
@roles_required(*FOLLOWERS)
def deadlines(assessment_id: int):
    """Set the ministry's deadline and the internal milestones."""
    assessment = _assessment_or_404(assessment_id)
    try:
        values = (_date("deadline"), _date("submit_by"), _date("approve_by"))
        service.set_deadlines(db.session, assessment, current_user, *values)
    except FormError as exc:
        return _refused(assessment_id, _form_refusal(exc))
    except service.AssessmentError as exc:
        return _refused(assessment_id, refusal(exc))
    return _done(assessment, _("Đã lưu thời hạn."))


def _download_name(assessment: Assessment, suffix: str) -> str:
    """An ASCII file name: unit code, year and what the file is."""
    code = re.sub(r"[^A-Za-z0-9_.-]", "_", assessment.unit.code)
    return f"tu-cham-{code}-{assessment.year}{suffix}"


@bp.get("/<int:assessment_id>/table.xlsx")
@roles_required(*VIEWERS)
def table_xlsx(assessment_id: int):
    """The self-assessment table (criteria, max, self-score, appraisal, evidence, explanations) as XLSX."""
    assessment = _assessment_or_404(assessment_id)
    return Response(export.xlsx(assessment), mimetype=files.XLSX, headers={
        "Content-Disposition": f'attachment; filename="{_download_name(assessment, ".xlsx")}"'})


@bp.get("/<int:assessment_id>/print")
@roles_required(*VIEWERS)
def printable(assessment_id: int):
    """The self-assessment report as a printable A4 page (no script): the table, explanations, proposals."""
    assessment = _assessment_or_404(assessment_id)
    rows = export.rows(assessment)
    fields = [r for r in rows if r["depth"] == 0]
    total = {k: (sum(r[k] for r in fields if r[k] is not None) if any(r[k] is not None for r in fields)
                 else None) for k in ("max", "self", "appraisal")}
    return render_template("assessment/print.html", a=assessment, rows=rows, total=total,
                           explained=[r for r in rows if r["explanation"]], named=_named,
                           status_names=STATUS_NAMES, format_decimal=format_decimal,
                           today=date.today())


@bp.get("/<int:assessment_id>/evidence.zip")
@roles_required(*VIEWERS)
def evidence_zip(assessment_id: int):
    """Every evidence document, one folder per criterion code, with an index file, as one ZIP."""
    assessment = _assessment_or_404(assessment_id)
    out = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115 (closed by the response)
    export.evidence_zip(assessment, storage_for(), out)
    size = out.tell()
    out.seek(0)
    response = Response(out, mimetype="application/zip", direct_passthrough=True, headers={
        "Content-Disposition": f'attachment; filename="{_download_name(assessment, "-tai-lieu.zip")}"',
        "Content-Length": str(size)})
    return response


@bp.post("/<int:assessment_id>/report")
@roles_required(*SCORERS)
def report(assessment_id: int):
    """Save the report's difficulties and proposals (khó khăn, vướng mắc và kiến nghị)."""
    assessment = _assessment_or_404(assessment_id)
    try:
        service.set_difficulties(db.session, assessment, current_user, request.form.get("difficulties"))
    except service.AssessmentError as exc:
        return _refused(assessment_id, refusal(exc))
    return _done(assessment, _("Đã lưu khó khăn, vướng mắc và kiến nghị."), anchor="bao-cao")


@bp.post("/<int:assessment_id>/remind")
@roles_required(*FOLLOWERS)
def remind(assessment_id: int):
    """E-mail a reminder to the unit's assessors and focal officials and record who got it."""
    assessment = _assessment_or_404(assessment_id)
    try:
        sent = reminders.send(db.session, assessment, current_user, request.form.get("message"))
    except service.AssessmentError as exc:
        db.session.rollback()
        flash(refusal(exc), "error")
        return redirect(url_for(".index"), 303)
    db.session.commit()
    delivered = sum(1 for entry in sent if entry["sent"])
    flash(_("Đã gửi thư nhắc tới %(count)s người của %(unit)s.", count=delivered,
            unit=_named(assessment.unit)), "status")
    if delivered < len(sent):
        flash(_("Máy chủ thư từ chối %(count)s địa chỉ.", count=len(sent) - delivered), "error")
    return redirect(url_for(".index"), 303)
