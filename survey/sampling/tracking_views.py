"""The fieldwork tracking page of a wave (/staff/waves/<code>/progress) and its CSV download.

Coordinators track and chase units (theo dõi tiến độ, đôn đốc); administrators too. Analysts and
clerks do not: the analyst pages count responses, this page is for running the fieldwork. Each
user sees only their units: the scope is applied in the queries (survey/sampling/tracking.py).
"""

import csv
import io
import re
from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from survey.auth.access import roles_required
from survey.db import db
from survey.sampling import tracking
from survey.sampling.views import wave_or_404

bp = Blueprint("tracking", __name__, url_prefix="/staff/waves")
TRACKERS = ("coordinator",)
PAGE = 50  # rows of the unit table per page, and strata shown (lagging first)
MODE_LABELS = {"online": _l("Trực tuyến"), "paper": _l("Phiếu giấy"), "phone": _l("Điện thoại"),
               "face_to_face": _l("Phỏng vấn trực tiếp")}


def mode_label(mode: str) -> str:
    """The Vietnamese (or translated) name of a response mode."""
    return str(MODE_LABELS.get(mode, mode))


def day_chart(days: list[tuple[date, int]], width: int = 640, height: int = 160) -> dict | None:
    """Bars of responses per submission day, as coordinates for an inline SVG (no script)."""
    if not days:
        return None
    first, last = days[0][0], days[-1][0]
    span = (last - first).days + 1
    top = max(n for _, n in days)
    step = width / span
    bars = [{"x": round((day - first).days * step, 1), "w": round(max(step - 1, 1), 1),
             "h": round(n / top * (height - 20), 1), "day": day, "n": n} for day, n in days]
    for bar in bars:
        bar["y"] = round(height - 20 - bar["h"], 1)
    return {"bars": bars, "width": width, "height": height, "top": top, "first": first, "last": last}


@bp.get("/<code>/progress")
@roles_required(*TRACKERS)
def progress(code: str):
    """The wave's progress: totals, the unit tree (drill down with ?unit=CODE), lagging units,
    strata, groups, modes and completions per day."""
    wave = wave_or_404(code)
    result = tracking.wave_progress(db.session, wave, current_user.unit_scope)
    parent = None
    path = []
    wanted = request.args.get("unit")
    if wanted:
        parent = next((u for u in result.tree if result.tree[u].code == wanted), None)
        if parent is None:
            abort(404)
        current = parent
        while current is not None and current in result.tree:
            path.insert(0, result.tree[current])
            info = result.unit_info.get(current)
            current = info.parent_id if info else None
    level = result.level(parent)
    pages = max(1, -(-len(level) // PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    strata = sorted(result.strata, key=lambda r: (r.lag, r.code))
    return render_template("tracking/progress.html", wave=wave, p=result,
                           level=level[(page - 1) * PAGE:page * PAGE], page=page, pages=pages,
                           strata=strata[:PAGE], more_strata=max(0, len(strata) - PAGE),
                           parent=result.units.get(parent) if parent is not None else None,
                           path=path, lagging=result.lagging(), chart=day_chart(result.days),
                           mode_label=mode_label, scoped=not current_user.sees_all_units)


CSV_COLUMNS = ("unit_code", "unit_name", "kind", "parent_code", "invited", "started", "completed",
               "response_rate", "target", "completed_vs_target", "walk_in_completed", "released_responses")


@bp.get("/<code>/progress.csv")
@roles_required(*TRACKERS)
def progress_csv(code: str):
    """Every counted unit of the user's scope, one line each, lagging first, as a download."""
    from analysis.outputs import escape_formula

    wave = wave_or_404(code)
    result = tracking.wave_progress(db.session, wave, current_user.unit_scope)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in result.lagging(limit=len(result.units)):
        info = result.unit_info.get(row.key)
        parent = result.unit_info.get(info.parent_id) if info and info.parent_id else None
        writer.writerow([escape_formula(v) for v in (
            row.code, row.label, row.kind, parent.code if parent else "", row.invited, row.started,
            row.completed, _ratio(row.rate), row.target or "", _ratio(row.attainment), row.walk_in,
            row.released)])
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", wave.code)
    response.headers["Content-Disposition"] = f'attachment; filename="tien-do-{name}.csv"'
    return response


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
