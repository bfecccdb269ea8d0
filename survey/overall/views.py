"""The overall index page per year (units × fields, total, interval, grade, change, rank range).

Every figure is computed over all units of the year (ranks are among all of them); a user whose
scope is some units sees only those rows, and only those names among "not told apart from".
"""

import math

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from analysis.instruments import parse_framework
from analysis.overall import counted_leaves
from survey.auth.access import roles_required
from survey.auth.models import record
from survey.db import db
from survey.definitions.frameworks import build
from survey.overall.models import ExternalPoints
from survey.overall.service import compute_year, par_framework
from survey.sampling.models import Unit, Wave

bp = Blueprint("overall", __name__, url_prefix="/staff/index")
READERS = ("analyst", "coordinator", "approver")


def _in_scope(codes: set[str]) -> set[str] | None:
    """The unit codes the user may see among `codes`, or None for all."""
    scope = current_user.unit_scope
    if scope is None:
        return None
    return set(db.session.scalars(select(Unit.code).where(Unit.id.in_(scope)))) & codes


@bp.get("/")
@roles_required(*READERS)
def index():
    """List the years that have waves."""
    years = sorted(set(db.session.scalars(select(Wave.year))), reverse=True)
    return render_template("overall/index.html", years=years)


@bp.get("/<int:year>")
@roles_required(*READERS)
def year_view(year: int):
    """The overall index of every unit in the user's scope for one year."""
    computed = compute_year(db.session, year)
    visible = _in_scope({r.unit for r in computed.results})
    rows = [r for r in computed.results if visible is None or r.unit in visible]
    for r in rows:
        r.not_different_from = [u for u in r.not_different_from if visible is None or u in visible]
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(r.group, []).append(r)
    fields = rows[0].fields if rows else []
    grades = (computed.framework.definition.get("grades") or []) if computed.framework else []
    provisional = bool(computed.framework) and build(computed.framework.definition).is_provisional
    return render_template("overall/year.html", year=year, computed=computed, rows=rows, fields=fields,
                           groups=groups, grades=grades, scoped=visible is not None, isfinite=math.isfinite,
                           units=_units_for_entry(visible), provisional=provisional)


def _units_for_entry(visible: set[str] | None) -> list[Unit]:
    """Units external points can be entered for (those in scope)."""
    query = select(Unit).where(Unit.valid_to.is_(None)).order_by(Unit.code)
    units = db.session.scalars(query).all()
    return [u for u in units if visible is None or u.code in visible]


def _external_nodes(version) -> list:
    """The counted leaves of a framework version whose method is external."""
    fw = parse_framework(version.definition)
    return [fw.nodes[c] for c in counted_leaves(fw) if fw.nodes[c].method == "external"]


@bp.route("/<int:year>/external/<unit_code>", methods=["GET", "POST"])
@roles_required("coordinator")
def external(year: int, unit_code: str):
    """Enter the external points of one unit for the year (0 ≤ points ≤ max); every change is audited."""
    unit = db.session.scalar(select(Unit).filter_by(code=unit_code))
    if unit is None or not current_user.may_see_unit(unit.id):
        abort(404)
    version = par_framework(db.session, year)
    if version is None:
        abort(404)
    nodes = _external_nodes(version)
    stored = {
        e.node_code: e
        for e in db.session.scalars(
            select(ExternalPoints).filter_by(year=year, unit_id=unit.id, framework_id=version.framework_id)
        )
    }
    form = FlaskForm()
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        values = {}
        for node in nodes:
            raw = request.form.get(node.code, "").strip().replace(",", ".")
            if raw == "":
                continue
            try:
                value = float(raw)
            except ValueError:
                errors[node.code] = _("Không phải là số.")
                continue
            if not (math.isfinite(value) and 0 <= value <= (node.max_points or 0)):
                errors[node.code] = _("Điểm phải từ 0 đến %(max)s.", max=node.max_points)
                continue
            values[node.code] = value
        if not errors:
            note = request.form.get("note", "").strip()[:1000] or None
            for code, value in values.items():
                row = stored.get(code)
                previous = row.points if row is not None else None
                if row is None:
                    db.session.add(
                        ExternalPoints(
                            year=year,
                            unit_id=unit.id,
                            framework_id=version.framework_id,
                            node_code=code,
                            points=value,
                            note=note,
                            entered_by_id=current_user.id,
                        )
                    )
                elif row.points != value:
                    row.points, row.note, row.entered_by_id = value, note, current_user.id
                else:
                    continue
                record(
                    db.session,
                    "overall.external_points",
                    target=f"{unit.code}:{year}:{code}",
                    user=current_user,
                    points=value,
                    previous=previous,
                    note=note,
                )
            db.session.commit()
            flash(_("Đã lưu điểm số liệu bên ngoài."), "status")
            return redirect(url_for(".year_view", year=year))
    status = 422 if errors else 200
    page = render_template("overall/external.html", year=year, unit=unit, nodes=nodes, stored=stored,
                           errors=errors, form=form, values=request.form)
    return page, status
