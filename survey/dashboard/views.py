"""Analyst pages: run a wave's report with a recorded quality policy, show it, serve its files.

Unit scope: a user with ``all_units`` sees the whole wave; any other user sees, in every page,
table, chart, ranking and file, only the units in their scope. Each scope has its own report
folder (``reports/<wave>/all`` or ``reports/<wave>/units-<digest of the unit codes>``), written by
``analysis.report.write_report(..., units=...)``, which computes on the whole wave and then keeps
only the scope's units (see its docstring for why); pages and downloads read only the folder of the
logged-in user's scope, so no URL reaches another scope's files.
"""

import csv
import hashlib
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
from survey.sampling.models import Unit, Wave

bp = Blueprint("dashboard", __name__, url_prefix="/staff/analysis")
ANALYSTS = ("analyst", "coordinator")
# The generated report is static HTML with inline styles and images, and never scripts.
REPORT_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'"


class RunForm(FlaskForm):
    """The quality policy a report is computed under (recorded in the audit log and policy.json)."""

    exclude_speeders = BooleanField(_l("Loại phiếu trả lời quá nhanh"))
    exclude_straightliners = BooleanField(_l("Loại phiếu chọn một kiểu cho cả bảng"))


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
    units = scope_units(current_user)
    folder = report_dir(wave, units)
    files = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    tables = {name: _table(folder / name) for name in files
              if name.endswith(".csv") and name.startswith(("sipas_", "ranking_", "par_"))}
    held = sum(n for (wave_id, _), n in release.held_counts(db.session, current_user.unit_scope).items()
               if wave_id == wave.id)
    return render_template("dashboard/wave.html", wave=wave, files=files, tables=tables,
                           form=RunForm(), provisional=provisional_frameworks(wave), scope=units,
                           held=held)


def provisional_frameworks(wave: Wave) -> list[str]:
    """Return the frameworks of the wave (the versions it is pinned to) that hold provisional numbers."""
    from survey.responses import export

    found = export.documents(db.session, wave, current_app.config["QUESTIONNAIRE_DIRS"])
    return sorted(code for code, document in found.frameworks.items()
                  if fw.build(document).is_provisional)


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
    units = scope_units(current_user)
    if responses.empty or (units is not None and not responses["unit"].isin(units).any()):
        flash(_("Đợt khảo sát chưa có phiếu hoàn thành."), "error")
        return redirect(url_for(".wave", code=code))
    found = export.documents(db.session, wave, current_app.config["QUESTIONNAIRE_DIRS"])
    if found.unpinned:
        flash(_("Đợt khảo sát chưa gắn với một phiên bản đã công bố của khung chỉ số %(frameworks)s; "
                "báo cáo dùng phiên bản mới nhất.", frameworks=", ".join(found.unpinned)), "status")
    policy = QualityPolicy(exclude_speeders=form.exclude_speeders.data,
                           exclude_straightliners=form.exclude_straightliners.data)
    folder = report_dir(wave, units)
    shutil.rmtree(folder, ignore_errors=True)
    write_report(responses, export.strata_frame(db.session, wave), found.questionnaires,
                 found.frameworks, folder, policy=policy, wave=wave.code, units=units)
    record(db.session, "analysis.report", target=f"wave:{wave.code}", user=current_user,
           policy=policy.to_dict(), responses=len(responses), units=units)
    db.session.commit()
    flash(_("Đã tính xong báo cáo."), "status")
    return redirect(url_for(".wave", code=code))


@bp.get("/<code>/files/<name>")
@roles_required(*ANALYSTS)
def download(code: str, name: str):
    """Serve one file of the wave's latest report for the user's scope."""
    folder = report_dir(_wave(code), scope_units(current_user))
    response = send_from_directory(folder, name, as_attachment=not name.endswith((".html", ".png")))
    if name.endswith(".html"):
        response.headers["Content-Security-Policy"] = REPORT_CSP
    return response
