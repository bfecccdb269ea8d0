"""The JSON API's endpoints (/api/v1): waves, a wave's progress by unit, units, anonymised responses.

Who may use what follows the pages: coordinators see waves, their progress and units; analysts see
waves, units and responses; administrators everything. Every query keeps to the token user's unit
scope (``User.unit_scope``). Responses are exactly the rows and columns of the analysis export
(survey/responses/export.py): design codes, the submission day and the answers, never an invitation,
a time of day, or anything from the sampling frame. Nothing here returns a name, phone number or
e-mail address of a respondent.
"""

import json
from http import HTTPStatus

from flask import current_app
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from survey.api.auth import api_roles, api_user, auth_failed
from survey.db import db
from survey.extensions import limiter
from survey.responses import export
from survey.sampling import tracking
from survey.sampling.models import Unit, Wave, WaveUnit

bp = Blueprint("api", __name__, url_prefix="/api/v1",
               description="Waves, fieldwork progress, units and anonymised responses.")
# One counter per address over the whole API, counting only answers to a missing or wrong token
# (module level: the limiter keeps blueprint limits across apps, so this must run once).
limiter.shared_limit(lambda: current_app.config["API_AUTH_FAILURE_LIMIT"], scope="api-auth",
                     deduct_when=auth_failed)(bp)
WAVE_READERS = ("coordinator", "analyst")
TRACKERS = ("coordinator",)
RESPONSE_READERS = ("analyst",)
MAX_PAGE = 500


class UnitRefSchema(Schema):
    """A unit by code and name."""

    code = fields.String(required=True)
    name = fields.String(required=True)


class WaveSchema(Schema):
    """A survey wave, with how many of its assessed units are in the caller's scope."""

    code = fields.String(required=True)
    year = fields.Integer(required=True)
    name = fields.String(required=True)
    name_en = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={"enum": ["draft", "open", "closed"]})
    opens_on = fields.Date(required=True)
    closes_on = fields.Date(required=True)
    groups = fields.List(fields.String(), required=True, metadata={"description": "respondent group codes"})
    units_in_scope = fields.Integer(required=True)


class WaveDetailSchema(WaveSchema):
    """A wave with its assessed units in the caller's scope."""

    units = fields.List(fields.Nested(UnitRefSchema), required=True)


class ProgressRowSchema(Schema):
    """Forms invited, started and completed for one unit (or in total); rate = completed / invited."""

    unit = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    parent = fields.String(allow_none=True)
    invited = fields.Integer(required=True)
    opened = fields.Integer(required=True, metadata={"description": "invited forms whose link was opened"})
    started = fields.Integer(required=True)
    completed = fields.Integer(required=True)
    rate = fields.Float(allow_none=True)
    target = fields.Integer(required=True)
    walk_in = fields.Integer(required=True, metadata={"description": "completed open-link forms"})


class ProgressSchema(Schema):
    """A wave's fieldwork in the caller's scope: the total and each rated unit's own counts."""

    wave = fields.String(required=True)
    as_of = fields.Date(required=True)
    closes_on = fields.Date(required=True)
    days_left = fields.Integer(required=True)
    total = fields.Nested(ProgressRowSchema, required=True)
    units = fields.List(fields.Nested(ProgressRowSchema), required=True)


class UnitSchema(Schema):
    """A unit of the tree; `parent` is null at the top of the caller's scope."""

    code = fields.String(required=True)
    name = fields.String(required=True)
    name_en = fields.String(allow_none=True)
    kind = fields.String(required=True)
    parent = fields.String(allow_none=True)
    valid_from = fields.Date(allow_none=True)
    valid_to = fields.Date(allow_none=True)


class PageQuerySchema(Schema):
    """Cursor paging: the rows after a response id (random hexadecimal ids, in their order), at most
    `limit` of them."""

    after = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9a-f]{1,32}$"),
                          metadata={"description": "the last response_id of the previous page"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_PAGE))


class ResponsesPageSchema(Schema):
    """A page of complete responses, as the analysis export writes them (one object per response)."""

    wave = fields.String(required=True)
    limit = fields.Integer(required=True)
    items = fields.List(fields.Dict(keys=fields.String()), required=True)
    next_after = fields.String(allow_none=True, metadata={
        "description": "pass as `after` for the next page; null on the last page"})


def errors(*codes: int):
    """Document the error answers an endpoint gives (401 and 403 always), with the error schema."""

    def decorator(view):
        for code in (401, 403, *codes):
            view = bp.alt_response(code, response=HTTPStatus(code).name)(view)
        return view

    return decorator


def _wave(code: str) -> Wave:
    """Return the wave with this code, or answer 404."""
    wave = db.session.scalar(select(Wave).filter_by(code=code))
    if wave is None:
        abort(404, message="No such wave.")
    return wave


def _scoped(query, column):
    """Keep a query to the token user's units."""
    scope = api_user().unit_scope
    return query if scope is None else query.where(column.in_(scope))


def _wave_dict(wave: Wave, units_in_scope: int) -> dict:
    """A wave as WaveSchema dumps it."""
    return {"code": wave.code, "year": wave.year, "name": wave.name, "name_en": wave.name_en,
            "status": wave.status, "opens_on": wave.opens_on, "closes_on": wave.closes_on,
            "groups": sorted(g.group.code for g in wave.groups), "units_in_scope": units_in_scope}


@bp.route("/waves")
@api_roles(*WAVE_READERS)
@errors()
@bp.response(200, WaveSchema(many=True))
def waves():
    """List the waves, newest first, with the number of their units in the caller's scope."""
    waves = db.session.scalars(select(Wave).order_by(Wave.year.desc(), Wave.code)).all()
    counts = dict(db.session.execute(_scoped(
        select(WaveUnit.wave_id, func.count()), WaveUnit.unit_id).group_by(WaveUnit.wave_id)).all())
    return [_wave_dict(w, counts.get(w.id, 0)) for w in waves]


@bp.route("/waves/<code>")
@api_roles(*WAVE_READERS)
@errors(404)
@bp.response(200, WaveDetailSchema)
def wave(code: str):
    """A wave with its assessed units in the caller's scope."""
    wave = _wave(code)
    units = db.session.execute(_scoped(
        select(Unit.code, Unit.name).join(WaveUnit, WaveUnit.unit_id == Unit.id)
        .where(WaveUnit.wave_id == wave.id), Unit.id).order_by(Unit.code)).all()
    return _wave_dict(wave, len(units)) | {"units": [{"code": c, "name": n} for c, n in units]}


def _progress_row(row: tracking.Row) -> dict:
    """A tracking row (a unit's, or the wave's total) as ProgressRowSchema dumps it."""
    unit = isinstance(row.key, int)
    return {"unit": row.code if unit else None, "name": row.label if unit else None,
            "kind": row.kind if unit else None, "parent": row.parent_code or None,
            "invited": row.invited, "opened": row.opened, "started": row.started, "completed": row.completed,
            "rate": row.rate, "target": row.target, "walk_in": row.walk_in}


@bp.route("/waves/<code>/progress")
@api_roles(*TRACKERS)
@errors(404)
@bp.response(200, ProgressSchema)
def progress(code: str):
    """Invited, started and completed forms and the response rate, in total and by rated unit
    (each unit's own counts; roll them up the tree with `parent`)."""
    wave = _wave(code)
    result = tracking.wave_progress(db.session, wave, api_user().unit_scope)
    units = sorted(result.all_units(), key=lambda r: r.code)  # counted and ordered in SQL, then by code
    return {"wave": wave.code, "as_of": result.today, "closes_on": wave.closes_on,
            "days_left": result.days_left, "total": _progress_row(result.total),
            "units": [_progress_row(r) for r in units]}


@bp.route("/units")
@api_roles(*WAVE_READERS)
@errors()
@bp.response(200, UnitSchema(many=True))
def units():
    """The units in the caller's scope, by code, each with its parent's code (the tree)."""
    units = db.session.scalars(_scoped(select(Unit), Unit.id).order_by(Unit.code)).all()
    codes = {u.id: u.code for u in units}
    return [{"code": u.code, "name": u.name, "name_en": u.name_en, "kind": u.kind,
             "parent": codes.get(u.parent_id), "valid_from": u.valid_from, "valid_to": u.valid_to}
            for u in units]


@bp.route("/waves/<code>/responses")
@api_roles(*RESPONSE_READERS)
@errors(404)
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, ResponsesPageSchema)
def responses(page: dict, code: str):
    """Complete responses of the caller's units, ordered by response_id, a page at a time: the
    design columns and answers of the analysis export (responses.csv), one object each."""
    wave = _wave(code)
    limit = page["limit"]
    frame = export.responses_frame(db.session, wave, units=api_user().unit_scope, after=page["after"],
                                   limit=limit + 1)
    items = json.loads(frame.head(limit).to_json(orient="records", force_ascii=False))
    more = len(frame) > limit
    return {"wave": wave.code, "limit": limit, "items": items,
            "next_after": items[-1]["response_id"] if more else None}
