"""The coordinator's sampling-frame page of a wave: what the frame holds, and the upload that replaces it."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms import SubmitField

from survey.auth.access import roles_required
from survey.auth.models import record
from survey.db import db
from survey.jobs.views import unfinished
from survey.sampling import frame, frame_jobs
from survey.sampling.models import FrameEntry, RespondentGroup, Stratum, Unit, Wave

bp = Blueprint("frame", __name__, url_prefix="/staff/waves")
SHOWN_PROBLEMS = frame_jobs.SHOWN_PROBLEMS  # a page lists at most this many; the count says how many


class UploadForm(FlaskForm):
    """A frame file to check and, when it has no problem, to write."""

    file = FileField(_l("Tệp danh sách (.csv UTF-8 hoặc .xlsx)"),
                     validators=[FileRequired(_l("Xin chọn một tệp.")),
                                 FileAllowed(list(frame.FORMATS), _l("Chỉ nhận tệp .csv hoặc .xlsx."))])
    submit = SubmitField(_l("Kiểm tra và tải lên"))


def _summary(wave: Wave, scope: set[int] | None) -> list:
    """Count the frame's people per stratum, only of the user's units (no contact details)."""
    query = (select(Stratum.code, Unit.code, Unit.name, RespondentGroup.name, Stratum.population_size,
                    Stratum.sample_size, func.count(FrameEntry.id))
             .join(Unit, Unit.id == Stratum.unit_id)
             .join(RespondentGroup, RespondentGroup.id == Stratum.group_id)
             .outerjoin(FrameEntry, FrameEntry.stratum_id == Stratum.id)
             .where(Stratum.wave_id == wave.id)
             .group_by(Stratum.id, Stratum.code, Unit.code, Unit.name, RespondentGroup.name,
                       Stratum.population_size, Stratum.sample_size)
             .order_by(Unit.code, Stratum.code))
    if scope is not None:
        query = query.where(Stratum.unit_id.in_(scope))
    return db.session.execute(query).all()


@bp.route("/<code>/frame", methods=["GET", "POST"])
@roles_required("coordinator")
def upload(code: str):
    """Show the frame of a wave by stratum; check an uploaded file and write it whole or not at all."""
    wave = db.session.scalar(select(Wave).filter_by(code=code))
    if wave is None:
        abort(404)
    scope = None if current_user.unit_scope is None else set(current_user.unit_scope)
    form = UploadForm()
    problems, status = None, 200
    if form.validate_on_submit():
        upload = form.file.data
        data, kind = upload.read(), frame.file_format(upload.filename)
        if len(data) > current_app.config["FRAME_JOB_BYTES"]:
            return _start_job(wave, data, upload.filename, kind, scope, form)
        try:
            written = frame.import_frame(db.session, wave, data, kind, scope=scope)
        except frame.FrameRefused as exc:
            db.session.rollback()
            problems, status = exc.problems, 422
        except IntegrityError:  # another upload of the same people committed meanwhile
            db.session.rollback()
            flash(_("Danh sách vừa được thay đổi bởi một lần tải lên khác. Xin tải lại tệp."), "error")
            status = 409
        else:
            record(db.session, "frame.imported", target=f"wave:{wave.code}", user=current_user,
                   source=upload.filename, added=written.added, removed=written.removed)
            db.session.commit()
            flash(_("Đã ghi %(added)s người vào danh sách mẫu (thay %(removed)s người của các đơn vị và nhóm "
                    "trong tệp).", added=written.added, removed=written.removed), "status")
            return redirect(url_for(".upload", code=wave.code))
    elif form.is_submitted():
        status = 422
    return _page(wave, form, scope, problems), status


def _page(wave: Wave, form, scope: set[int] | None, problems=None) -> str:
    """Render the frame page: the upload form, the problems of a refused file, the frame by stratum."""
    return render_template("frame/upload.html", wave=wave, form=form, problems=problems,
                           shown=SHOWN_PROBLEMS, strata=_summary(wave, scope),
                           columns=frame.COLUMNS, required=frame.REQUIRED_COLUMNS,
                           running=unfinished(current_user, frame_jobs.FRAME_JOB, wave))


def _start_job(wave: Wave, data: bytes, filename: str, kind: str, scope: set[int] | None, form):
    """A large file: show the quick problems here, else check and write it in a job and show its page."""
    try:
        frame.check_file(wave, data, kind)
    except frame.FrameRefused as exc:
        return _page(wave, form, scope, exc.problems), 422
    started = frame_jobs.start(wave, data, filename, kind, scope, current_user)
    db.session.commit()
    return redirect(url_for("jobs.job", job_id=started.id))
