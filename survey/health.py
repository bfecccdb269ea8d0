"""`GET /healthz`: 200 when the database answers and its schema is at the Alembic head revision.

Pages and commands use the same check (`migrate.schema_state`): until the schema is ready, pages
answer 503 with the command to run instead of a SQL error.
"""

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy import Column, Integer, MetaData, Table, Text
from sqlalchemy.exc import DBAPIError

from survey import migrate
from survey.extensions import limiter

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    """Report whether the app can reach its database and the schema is at the head revision."""
    state, reason = migrate.schema_state(current_app)
    if state != "ok":
        return jsonify(status="unavailable", database=state, reason=reason), 503
    return jsonify(status="ok", database="ok")


def require_schema():
    """Answer 503 with the command to run, instead of a SQL error, until the schema is at head.

    Checked on every request until it succeeds once, so that running the command is enough;
    afterwards the app trusts the schema until it restarts.
    """
    exempt = ("static", "favicon", "health.healthz")
    if current_app.extensions.get("survey.schema_ready") or request.endpoint in exempt:
        return None
    problem = migrate.schema_problem(current_app)
    if problem is None:
        current_app.extensions["survey.schema_ready"] = True
        return None
    current_app.logger.error(problem)
    return render_template(
        "errors/error.html", title=_("Hệ thống chưa sẵn sàng"),
        message=_("Cơ sở dữ liệu chưa được cài đặt hoặc chưa được nâng cấp. "
                  "Người quản trị hệ thống cần chạy lệnh dưới đây."),
        detail=problem,
    ), 503


def register_bench_endpoint(app) -> None:
    """Add `GET /_bench/bare` and `GET /_bench/write` when BENCH_ENDPOINT is set
    (SURVEY_BENCH_ENDPOINT=1), never otherwise.

    The load benchmarks (benchmarks/load_benchmark.py) compare each respondent route with the bare
    one on the same server in the same run: it passes every hook of the app (request id and log,
    schema check, language, limiter, security headers) and does nothing else, so the ratio of their
    throughputs is the cost of the route's own work. The write route adds to that the least any
    acknowledged submission must do: one row of about a submission's size inserted and committed
    (synced to disk) through the app's session and, on SQLite, its write gate. It writes to a table
    of its own (`bench_writes`), made on its first call. Off by default: production never has them.
    """
    if not app.config.get("BENCH_ENDPOINT"):
        return

    def bare():
        """Answer a short text and nothing else."""
        return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}

    def durable_write():
        """Write one row of a submission's size and commit it, as a submission's transaction ends."""
        from survey.db import db, wait_to_write

        if not app.extensions.get("bench_writes"):
            try:
                BENCH_WRITES.create(db.session.get_bind(), checkfirst=True)
            except DBAPIError:  # the other worker made it first
                db.session.rollback()
            app.extensions["bench_writes"] = True
        wait_to_write(db.session)  # the write gate every respondent post passes on SQLite
        db.session.execute(BENCH_WRITES.insert().values(body="x" * 1000))
        db.session.commit()
        return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}

    app.add_url_rule("/_bench/bare", "bench_bare", bare, methods=["GET"])
    app.add_url_rule("/_bench/write", "bench_write", durable_write, methods=["GET"])


# The floor route's table (GET /_bench/write): outside the app's models and migrations, made on the
# first write of a benchmark server's database.
BENCH_WRITES = Table("bench_writes", MetaData(), Column("id", Integer, primary_key=True),
                     Column("body", Text, nullable=False))
