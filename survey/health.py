"""`GET /healthz`: 200 when the database answers and its schema is at the Alembic head revision.

Connectivity alone is not health: a SQLite file replaced by an empty one answers `SELECT 1`, and a
database left behind by a failed deployment answers every query of the old schema. The check reads
the revision in `alembic_version` and compares it with the head of `survey/migrations`; otherwise it
answers 503 with a one-line reason.
"""

from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from survey.db import db
from survey.extensions import limiter
from survey.migrate import MIGRATIONS

bp = Blueprint("health", __name__)


@cache
def head_revisions() -> frozenset[str]:
    """Return the head revision(s) of the migrations shipped with the code (read once)."""
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def schema_problem() -> str | None:
    """Return why the database schema is not the one the code expects, or None when it is."""
    connection = db.session.connection()
    current = set(MigrationContext.configure(connection).get_current_heads())
    expected = head_revisions()
    if current == expected:
        return None
    if not current:
        return "no Alembic revision in the database (empty or never migrated): run `flask db upgrade`"
    return (f"schema at revision {', '.join(sorted(current))}, expected {', '.join(sorted(expected))}: "
            "run `flask db upgrade`")


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Report whether the app can reach its database and the schema is at the head revision."""
    try:
        problem = schema_problem()
    except SQLAlchemyError as exc:
        # The class of the error only: the message may name hosts or file paths.
        reason = f"database unreachable ({type(getattr(exc, 'orig', None) or exc).__name__})"
        return jsonify(status="unavailable", database="unreachable", reason=reason), 503
    finally:
        db.session.rollback()
    if problem is not None:
        return jsonify(status="unavailable", database="not_migrated", reason=problem), 503
    return jsonify(status="ok", database="ok")
