"""Analyst pages: run a wave's report with a recorded quality policy, show it, serve its files."""

import csv
import shutil
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField

from survey.auth.access import roles_required
from survey.auth.models import record
from survey.db import db
from survey.definitions import frameworks as fw
from survey.responses import release
from survey.sampling.models import Wave

bp = Blueprint("dashboard", __name__, url_prefix="/staff/analysis")
ANALYSTS = ("analyst", "coordinator")
# The generated report is static HTML with inline styles and images, and never scripts.
REPORT_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'"


class RunForm(FlaskForm):
    """The quality policy a report is computed under (recorded in the audit log and policy.json)."""

    exclude_speeders = BooleanField(_l("Loại phiếu trả lời quá nhanh"))
    exclude_straightliners = BooleanField(_l("Loại phiếu chọn một kiểu cho cả bảng"))


def report_dir(wave: Wave) -> Path:
    """Return where a wave's latest report lives."""
    return Path(current_app.instance_path) / "reports" / wave.code


def _wave(code: str) -> Wave:
    """Return the wave or 404."""
    wave = db.session.scalar(select(Wave).filter_by(code=code))
    if wave is None:
        abort(404)
    return wave


def _table(path: Path, limit: int = 200) -> list[dict]:
    """Read a report CSV into rows for display."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row for _, row in zip(range(limit), csv.DictReader(handle), strict=False)]


@bp.get("/")
@roles_required(*ANALYSTS)
def index():
    """List waves with a link to their analysis."""
    waves = db.session.scalars(select(Wave).order_by(Wave.year.desc(), Wave.code)).all()
    return render_template("dashboard/index.html", waves=waves)


@bp.get("/<code>")
@roles_required(*ANALYSTS)
def wave(code: str):
    """Show the latest report's tables with their intervals, and the files to download.

    Submissions not yet released (survey/responses/release.py) are not in the report; their number
    is shown so that nobody takes the report for the whole wave.
    """
    wave = _wave(code)
    folder = report_dir(wave)
    files = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    tables = {name: _table(folder / name) for name in files
              if name.endswith(".csv") and name.startswith(("sipas_", "ranking_", "par_"))}
    held = sum(n for (wave_id, _), n in release.held_counts(db.session).items() if wave_id == wave.id)
    return render_template("dashboard/wave.html", wave=wave, files=files, tables=tables,
                           form=RunForm(), provisional=provisional_frameworks(wave), held=held)


def provisional_frameworks(wave: Wave) -> list[str]:
    """Return the frameworks of the wave's questionnaires that still hold provisional numbers."""
    wanted = {a.questionnaire_version.definition.get("framework") for a in wave.groups} - {None}
    found = []
    for folder in current_app.config["QUESTIONNAIRE_DIRS"]:
        frameworks_dir = Path(folder) / "frameworks"
        if frameworks_dir.is_dir():
            found += [f.id for f in fw.load_frameworks(frameworks_dir).values()
                      if f.id in wanted and f.is_provisional]
    return sorted(found)


@bp.post("/<code>/run")
@roles_required(*ANALYSTS)
def run(code: str):
    """Compute the report now under the chosen quality policy."""
    from analysis.quality import QualityPolicy
    from analysis.report import write_report
    from survey.responses import export

    wave = _wave(code)
    form = RunForm()
    if not form.validate_on_submit():
        abort(400)
    responses = export.responses_frame(db.session, wave)
    if responses.empty:
        flash(_("Đợt khảo sát chưa có phiếu hoàn thành."), "error")
        return redirect(url_for(".wave", code=code))
    questionnaires, frameworks = export.documents(db.session, wave,
                                                  current_app.config["QUESTIONNAIRE_DIRS"])
    policy = QualityPolicy(exclude_speeders=form.exclude_speeders.data,
                           exclude_straightliners=form.exclude_straightliners.data)
    folder = report_dir(wave)
    shutil.rmtree(folder, ignore_errors=True)
    write_report(responses, export.strata_frame(db.session, wave), questionnaires, frameworks,
                 folder, policy=policy, wave=wave.code)
    record(db.session, "analysis.report", target=f"wave:{wave.code}", user=current_user,
           policy=policy.to_dict(), responses=len(responses))
    db.session.commit()
    flash(_("Đã tính xong báo cáo."), "status")
    return redirect(url_for(".wave", code=code))


@bp.get("/<code>/files/<name>")
@roles_required(*ANALYSTS)
def download(code: str, name: str):
    """Serve one file of the wave's latest report."""
    folder = report_dir(_wave(code))
    response = send_from_directory(folder, name, as_attachment=not name.endswith((".html", ".png")))
    if name.endswith(".html"):
        response.headers["Content-Security-Policy"] = REPORT_CSP
    return response
