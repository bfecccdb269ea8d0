"""`GET /healthz`: 200 when the database answers and its schema is at the Alembic head revision.

Pages and commands use the same check (`migrate.schema_state`): until the schema is ready, pages
answer 503 with the command to run instead of a SQL error.
"""

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_babel import gettext as _

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
    """Add `GET /_bench/bare` when BENCH_ENDPOINT is set (SURVEY_BENCH_ENDPOINT=1), never otherwise.

    The load benchmarks (benchmarks/load_benchmark.py) compare each respondent route with this
    trivial one on the same server in the same run: it passes every hook of the app (request id and
    log, schema check, language, limiter, security headers) and does nothing else, so the ratio of
    their throughputs is the cost of the route's own work. Off by default: production never has it.
    """
    if not app.config.get("BENCH_ENDPOINT"):
        return

    def bare():
        """Answer a short text and nothing else."""
        return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8"}

    app.add_url_rule("/_bench/bare", "bench_bare", bare, methods=["GET"])
