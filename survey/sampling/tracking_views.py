"""The fieldwork tracking page of a wave (/staff/waves/<code>/progress) and its CSV download.

A "remind this unit" button posts to `invitations.remind` (POST /staff/waves/<code>/reminders with
repeated `unit` fields of unit codes, survey/sampling/invitation_views.py), shown while the wave is
open.

Coordinators track and chase units (theo dõi tiến độ, đôn đốc); administrators too. Analysts and
clerks do not: the analyst pages count responses, this page is for running the fieldwork. Each
user sees only their units: the scope is applied in the queries (survey/sampling/tracking.py).
"""

import csv
import io
import re
from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from survey.auth.access import roles_required
from survey.db import db
from survey.responses.modes import mode_label
from survey.sampling import focal, focal_views, tracking
from survey.sampling.views import wave_or_404

bp = Blueprint("tracking", __name__, url_prefix="/staff/waves")
TRACKERS = ("coordinator",)
PAGE = 50  # rows of the unit table per page, and strata shown (lagging first)
LAGGING = 20  # lagging units shown with their focal officials (all of them are in the CSV)


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


def _page_number(total: int, name: str = "page") -> tuple[int, int]:
    """The page asked for (clamped) and the number of pages of `total` rows, PAGE a page."""
    pages = max(1, -(-total // PAGE))
    return min(max(request.args.get(name, 1, type=int), 1), pages), pages


@bp.get("/<code>/progress")
@roles_required(*TRACKERS)
def progress(code: str):
    """The wave's progress: totals, milestones, lagging units with their focal officials, the unit
    tree a level at a time (drill down with ?unit=CODE, PAGE rows a page, lagging first), strata,
    groups, modes and completions per day. Every list is sorted and cut in SQL."""
    wave = wave_or_404(code)
    scope = current_user.unit_scope
    result = tracking.wave_progress(db.session, wave, scope)
    parent, path, own = None, [], None
    wanted = request.args.get("unit")
    if wanted:
        unit = tracking.unit_by_code(db.session, wanted)
        if unit is None:
            abort(404)
        own = result.unit(unit.id)
        if own is None and not result.level_count(unit.id):
            abort(404)  # nothing of the scope there: not even its name is shown
        parent, path = unit.id, result.path(unit.id)
    page, pages = _page_number(result.level_count(parent))
    level = result.level(parent, PAGE, (page - 1) * PAGE)
    lagging = result.lagging(LAGGING)
    shown = [row.key for row in lagging]
    strata_page, strata_pages = _page_number(result.strata_count(), "strata_page")
    return render_template(
        "tracking/progress.html", wave=wave, p=result, level=level, page=page, pages=pages,
        strata=result.strata(PAGE, (strata_page - 1) * PAGE), strata_page=strata_page,
        strata_pages=strata_pages, parent=own, path=path, lagging=lagging,
        lagging_total=result.lagging_count(), chart=day_chart(result.days), mode_label=mode_label,
        scoped=not current_user.sees_all_units,
        officials=_by_unit(focal.contacts(db.session, scope, unit_ids=shown)),
        overdue=focal.overdue_units(db.session, wave, result.today, shown),
        milestones=focal.milestones(db.session, wave, result.today, scope),
        remind=wave.status == "open",
        role_names=focal_views.ROLE_NAMES, display_phone=focal.display_phone)


def _by_unit(contacts: list) -> dict[int, list]:
    found: dict[int, list] = {}
    for contact in contacts:
        found.setdefault(contact.unit_id, []).append(contact)
    return found


CSV_COLUMNS = ("unit_code", "unit_name", "kind", "parent_code", "invited", "opened", "started", "completed",
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
    for row in result.all_units():
        writer.writerow([escape_formula(v) for v in (
            row.code, row.label, row.kind, row.parent_code, row.invited, row.opened, row.started,
            row.completed, _ratio(row.rate), row.target or "", _ratio(row.attainment), row.walk_in,
            row.released)])
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", wave.code)
    response.headers["Content-Disposition"] = f'attachment; filename="tien-do-{name}.csv"'
    return response


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
