"""Analyst pages: run a wave's report with a recorded quality policy, show it, serve its files.

Unit scope: a user with ``all_units`` sees the whole wave; any other user sees, in every page,
table, chart, ranking and file, only the units in their scope. Each scope has its own report
folder (``reports/<wave>/all`` or ``reports/<wave>/units-<digest of the unit codes>``), written by
``analysis.report.write_report(..., units=...)``, which computes on the whole wave and then keeps
only the scope's units (see its docstring for why); pages and downloads read only the folder of the
logged-in user's scope, so no URL reaches another scope's files.
"""

import hashlib
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import format_datetime, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectChoice, SelectField

from survey.auth.access import roles_required
from survey.dashboard import results
from survey.dashboard.jobs import REPORT_JOB
from survey.db import db
from survey.definitions import frameworks as fw
from survey.jobs import enqueue
from survey.jobs.views import unfinished
from survey.responses import release
from survey.responses.models import Response
from survey.sampling.models import Unit, Wave
from survey.sampling.views import STATUS_NAMES

bp = Blueprint("dashboard", __name__, url_prefix="/staff/analysis")
ANALYSTS = ("analyst", "coordinator")
# The generated report is static HTML with inline styles and its charts embedded as data: PNGs (so
# that the saved file stands alone), and never scripts: this response alone allows images from data:
# (the app's own policy, survey/extensions.py, allows them too); nothing else may load.
REPORT_CSP = ("default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
              "frame-ancestors 'none'")


class RunForm(FlaskForm):
    """The quality policy a report is computed under (recorded in the audit log and policy.json)."""

    exclude_speeders = BooleanField(_l("Loại phiếu trả lời quá nhanh"))
    exclude_straightliners = BooleanField(_l("Loại phiếu chọn một kiểu cho cả bảng"))
    # replicate weights in responses.sav/.dta, for analysts' own estimates (analysis.replicates)
    replicates = SelectField(_l("Trọng số lặp trong tệp .sav/.dta"), default="", choices=[
        SelectChoice("", _l("Không thêm trọng số lặp")),
        SelectChoice("bootstrap", _l("Bootstrap Rao–Wu, 200 bản lặp")),
        SelectChoice("jackknife", _l("Jackknife (JK1/JKn), một bản lặp cho mỗi đơn vị mẫu cấp 1"))])


def scope_units(user) -> list[str] | None:
    """Return the codes of the units the user may see, or None for every unit."""
    if user.sees_all_units:
        return None
    ids = [s.unit_id for s in user.scopes]
    return sorted(db.session.scalars(select(Unit.code).where(Unit.id.in_(ids)))) if ids else []


def report_dir(wave: Wave, units: list[str] | None) -> Path:
    """Return where a wave's latest report for a scope lives (None: every unit)."""
    if units is None:
        name = "all"
    else:
        name = "units-" + hashlib.sha256("\n".join(units).encode("utf-8")).hexdigest()[:16]
    return Path(current_app.instance_path) / "reports" / wave.code / name


def _wave(code: str) -> Wave:
    """Return the wave or 404."""
    wave = db.session.scalar(select(Wave).filter_by(code=code))
    if wave is None:
        abort(404)
    return wave


@bp.get("/")
@roles_required(*ANALYSTS)
def index():
    """List waves with a link to their analysis."""
    waves = db.session.scalars(select(Wave).order_by(Wave.year.desc(), Wave.code)).all()
    return render_template("dashboard/index.html", waves=waves)


SECTIONS = ("summary", "ranking", "quality", "files")


@bp.get("/<code>")
@roles_required(*ANALYSTS)
def wave(code: str):
    """Show the latest report one section at a time, in the reader's language, with the files to download.

    Sections (``?section=``): the summary, one per framework (``fw-<id>``, with ``?unit=`` for one
    unit's every level), the rankings, data quality and the downloads; links, no script. Submissions
    not yet released (survey/responses/release.py) are not in the report; their number is shown so
    that nobody takes the report for the whole wave.
    """
    wave = _wave(code)
    units = scope_units(current_user)
    folder = report_dir(wave, units)
    files = sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    meta = results.read_meta(folder) if files else None
    found = results.frameworks(folder, meta) if files else []
    sections = [("summary", _("Tổng quan"))] + [(f.slug, f.name) for f in found] + [
        ("ranking", _("Xếp hạng")), ("quality", _("Chất lượng dữ liệu")), ("files", _("Tệp tải về"))]
    section = request.args.get("section", "summary")
    if section not in dict(sections):
        section = "summary"
    current = next((f for f in found if f.slug == section), None)
    unit = request.args.get("unit") if current is not None else None
    if current is not None and unit not in {f.unit for f in current.units()}:
        unit = None
    held = sum(n for (wave_id, _), n in release.held_counts(db.session, current_user.unit_scope).items()
               if wave_id == wave.id)
    return render_template(
        "dashboard/wave.html", wave=wave, files=files, form=RunForm(),
        provisional=provisional_frameworks(wave), scope=units, held=held,
        running=unfinished(current_user, REPORT_JOB, wave), meta=meta,
        computed=results.computed_at(meta, folder) if files else None, interim=results.is_interim(meta),
        frameworks=found, sections=sections, section=section, current=current, unit=unit,
        quality=results.quality(folder) if section == "quality" else None, markers=results.BY_KEY,
        legend=results.legend(meta), describe=results.describe_file, charts=set(files),
        level_names=results.LEVEL_NAMES, status_names=STATUS_NAMES, format_datetime=format_datetime,
        format_decimal=format_decimal)


def provisional_frameworks(wave: Wave) -> list[str]:
    """Return the frameworks of the wave (the versions it is pinned to) that hold provisional numbers."""
    from survey.responses import export

    found = export.documents(db.session, wave, current_app.config["QUESTIONNAIRE_DIRS"])
    return sorted(code for code, document in found.frameworks.items()
                  if fw.build(document).is_provisional)


@bp.post("/<code>/run")
@roles_required(*ANALYSTS)
def run(code: str):
    """Start computing the report under the chosen quality policy, as a job; show the job's page.

    The previous report stays until the new one is complete (survey/dashboard/jobs.py).
    """
    wave = _wave(code)
    form = RunForm()
    if not form.validate_on_submit():
        abort(400)
    if not _has_responses(wave, current_user.unit_scope):
        flash(_("Đợt khảo sát chưa có phiếu hoàn thành."), "error")
        return redirect(url_for(".wave", code=code))
    started = enqueue(REPORT_JOB, {"wave": wave.code, "units": scope_units(current_user),
                                   "exclude_speeders": form.exclude_speeders.data,
                                   "exclude_straightliners": form.exclude_straightliners.data,
                                   "replicates": form.replicates.data or None},
                      current_user, wave=wave)
    db.session.commit()
    return redirect(url_for("jobs.job", job_id=started.id))


def _has_responses(wave: Wave, scope: list[int] | None) -> bool:
    """Tell whether the wave has a complete response in the scope (None: any unit): a cheap count."""
    query = select(Response.id).where(Response.wave_id == wave.id, Response.status == "complete")
    if scope is not None:
        query = query.where(Response.unit_id.in_(scope))
    return db.session.scalar(query.limit(1)) is not None


@bp.get("/<code>/files/<name>")
@roles_required(*ANALYSTS)
def download(code: str, name: str):
    """Serve one file of the wave's latest report for the user's scope."""
    folder = report_dir(_wave(code), scope_units(current_user))
    response = send_from_directory(folder, name, as_attachment=not name.endswith((".html", ".png")))
    if name.endswith(".html"):
        response.headers["Content-Security-Policy"] = REPORT_CSP
    return response
