"""The job pages: one job's status and progress (refreshing itself while it runs), and the user's recent jobs.

A job is seen only by the staff member who started it, and by administrators; anyone else gets 404,
as for a job that does not exist. The page works without JavaScript: while the job is queued or
running it carries ``<meta http-equiv="refresh" content="2">`` (allowed by the CSP, unlike scripts).
"""

from flask import Blueprint, abort, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from survey.auth.access import roles_required
from survey.auth.models import User
from survey.db import db
from survey.jobs import registry
from survey.jobs.models import JobRecord
from survey.jobs.texts import render
from survey.sampling.models import Wave

bp = Blueprint("jobs", __name__, url_prefix="/staff/jobs")
STAFF = ("coordinator", "analyst", "data_entry", "assessor", "approver")
RECENT = 50  # jobs listed
STATUS_LABELS = {"queued": _l("Đang chờ"), "running": _l("Đang chạy"), "done": _l("Hoàn thành"),
                 "failed": _l("Không thành công")}


def _visible(query):
    """Limit a query of jobs to those the user may see: their own, or every job for an administrator."""
    return query if current_user.has_role("admin") else query.where(JobRecord.created_by == current_user.id)


def unfinished(user, kind: str, wave: Wave | None = None) -> list[JobRecord]:
    """Return the user's queued or running jobs of a kind (of a wave), oldest first, for a page to link."""
    query = select(JobRecord).where(JobRecord.kind == kind, JobRecord.created_by == user.id,
                                    JobRecord.status.in_(("queued", "running")))
    if wave is not None:
        query = query.where(JobRecord.wave_id == wave.id)
    return list(db.session.scalars(query.order_by(JobRecord.id)))


def label(record: JobRecord) -> str:
    """Return the job's name for people (its registered label, else its kind)."""
    kind = registry.find(record.kind)
    return str(kind.label) if kind is not None else record.kind


def back_url(record: JobRecord) -> str | None:
    """Return the page the job page links back to (from the kind's `back`), or None."""
    kind = registry.find(record.kind)
    if kind is None or kind.back is None:
        return None
    endpoint, values = kind.back(record.parameters or {})
    return url_for(endpoint, **values)


def result_links(record: JobRecord) -> list[tuple[str, str]]:
    """Return (URL, label) of the links a finished job's result names (``links``: endpoint, values, label)."""
    links = []
    for link in (record.result or {}).get("links", []):
        links.append((url_for(link["endpoint"], **link.get("values", {})), render(link.get("label", ""))))
    return links


@bp.get("/")
@roles_required(*STAFF)
def index():
    """List the user's recent jobs (an administrator's: everyone's), newest first."""
    rows = db.session.execute(
        _visible(select(JobRecord, User.name, Wave.code)
                 .outerjoin(User, User.id == JobRecord.created_by)
                 .outerjoin(Wave, Wave.id == JobRecord.wave_id))
        .order_by(JobRecord.created_at.desc(), JobRecord.id.desc()).limit(RECENT)).all()
    return render_template("jobs/index.html", rows=rows, label=label)


@bp.get("/<int:job_id>")
@roles_required(*STAFF)
def job(job_id: int):
    """Show a job's status, progress, outcome and a link back."""
    record = db.session.scalar(_visible(select(JobRecord).where(JobRecord.id == job_id)))
    if record is None:
        abort(404)
    wave = db.session.get(Wave, record.wave_id) if record.wave_id is not None else None
    return render_template("jobs/job.html", job=record, title=label(record), wave=wave,
                           back=back_url(record), links=result_links(record) if record.finished else [])


@bp.app_template_global("job_text")
def job_text(stored) -> str:
    """Render a message a job stored (msgid and parameters, or text) in the reader's language."""
    return render(stored)


@bp.app_template_global("job_status")
def job_status(status: str) -> str:
    """Name a job's status for people."""
    return str(STATUS_LABELS.get(status, status))
