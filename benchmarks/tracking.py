"""Tracking benchmark: the progress page of a wave with 1,000,000 invitations over 3,300 units.

Not a test: it fills a database, times the page and prints the medians. Run from the project root:

    python benchmarks/tracking.py [--invitations 1000000] [--repeat 15]            # SQLite file
    DATABASE_URL=postgresql://postgres@127.0.0.1/bench python benchmarks/tracking.py  # PostgreSQL

The database (a new SQLite file in a temporary folder, or the given PostgreSQL database, whose
tables are dropped first) is migrated to head, then filled in bulk: 1 province, 33 agencies and
3,266 communes (3,300 units); a stratum of citizens per commune and one of officials per agency;
the invitations (citizens in their commune, officials rating their agency) with random statuses
(45% completed, 10% started, 45% pending), their invitation units, a released response for most
completed ones (random mode and day) and some held submissions. Rows go in with executemany
(SQLite) or COPY (PostgreSQL) with the count triggers dropped; the counts are then filled by the
same GROUP BY statements as migrations 0006 and 0011 and the triggers created again.
With `--keep DIR` the filled database is kept (SQLite in DIR; PostgreSQL not dropped) and reused
by later runs; `--profile` prints a cProfile of one whole-wave page view.

Budget (issue 10): under 300 ms server time for the page, on SQLite and on PostgreSQL, from
indexed aggregate queries. Timed: `tracking.wave_progress` for every unit and for a coordinator
scoped to ten communes, and the page and its CSV through the test client (server time in
process, as the respondent benchmark measures it).
"""

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import text  # noqa: E402

from survey import create_app, migrate  # noqa: E402
from survey.db import Database, db  # noqa: E402
from survey.models import Base  # noqa: E402
from survey.sampling import progress, tracking  # noqa: E402
from survey.sampling.models import Wave  # noqa: E402

KEY = "benchmark-secret-key-that-is-long-enough-0123456789"
PASSWORD = "mật-khẩu-đủ-dài-để-đo"
BUDGET_MS = 300.0
OPENS = date(2026, 9, 1)
MODES = ("online",) * 8 + ("paper", "phone")


class Client(FlaskClient):
    """A test client whose every request runs in its own app context, as a server would."""

    def open(self, *args, **kwargs):
        """Run the request in a fresh app context."""
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_app(directory: Path, url: str | None, empty: bool = True):
    """Create the app on an empty database (or, with `empty` false, the filled one) migrated to head."""
    os.environ["SURVEY_INSTANCE_PATH"] = str(directory / "instance")
    url = url or f"sqlite:///{directory / 'tracking.db'}"
    app = create_app({"SECRET_KEY": KEY, "DATABASE_URL": url, "RATELIMIT_ENABLED": False,
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_STORAGE_URI": "memory://"})
    app.test_client_class = Client
    engine = Database.engine(app)
    if not empty:
        migrate.upgrade(app)
        return app
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    migrate.upgrade(app)
    return app


def fill(app, invitations: int, seed: int = 2026) -> dict:
    """Fill the wave in bulk; return what was made."""
    from survey.auth.models import User, UserRole, UserUnit
    from tests.factories import make_version

    rng = random.Random(seed)
    with app.app_context():
        session = db.session
        version = make_version(session)
        wave = Wave(code="BENCH-2026", year=2026, name="Đợt đo tốc độ", status="open", opens_on=OPENS,
                    closes_on=OPENS + timedelta(days=60))
        session.add(wave)
        session.flush()
        engine = Database.engine(app)
        dialect = engine.dialect.name
        units = [(1, "P", "Tỉnh Đo", "province", None)]
        units += [(1 + i, f"A{i:02d}", f"Sở {i}", "agency", 1) for i in range(1, 34)]
        units += [(34 + i, f"X{i:04d}", f"Xã {i}", "commune", 1) for i in range(1, 3267)]
        communes = [u[0] for u in units if u[3] == "commune"]
        agencies = [u[0] for u in units if u[3] == "agency"]
        groups = [(1, "citizens", "Người dân", "citizen"), (2, "officials", "Cán bộ, công chức", "official")]
        strata, invitation_rows, unit_rows, response_rows, held_rows = [], [], [], [], []
        stratum_of = {}
        officials = invitations // 50
        per_commune = (invitations - officials) / len(communes)
        for unit in communes + agencies:
            group = 1 if unit in communes else 2
            stratum_of[unit] = len(strata) + 1
            size = round(per_commune) if group == 1 else officials // len(agencies)
            strata.append((len(strata) + 1, wave.id, f"S{unit}", unit, group, size * 4, size))
        for ids, i in enumerate(range(invitations), start=1):
            unit = communes[i % len(communes)] if i >= officials else agencies[i % len(agencies)]
            group = 1 if unit in communes else 2
            roll = rng.random()
            status, unit_status = (("completed", "done") if roll < 0.45 else
                                   ("started", "in_progress") if roll < 0.55 else ("pending", "not_started"))
            invitation_rows.append((ids, wave.id, group, stratum_of[unit], "C1", f"{ids:064x}", "vi", status,
                                    "frame"))
            unit_rows.append((ids, unit, 0, unit_status))
            if status == "completed":
                row = (wave.id, version.id, unit, group, stratum_of[unit], "C1", rng.choice(MODES), "vi")
                if rng.random() < 0.995:
                    day = OPENS + timedelta(days=rng.randrange(40))
                    response_rows.append((f"{rng.getrandbits(128):032x}", *row, "complete", day, 0))
                else:
                    held_rows.append((f"{rng.getrandbits(128):032x}", *row, OPENS + timedelta(days=40), "[]"))
        started = time.perf_counter()
        session.commit()
        with engine.begin() as connection:
            for statement in progress.drop_ddl(dialect) + progress.unit_drop_ddl(dialect):
                connection.exec_driver_sql(statement)
            raw = connection.connection.driver_connection
            tables = {
                "units": ("id, code, name, kind, parent_id, valid_from", [u + (OPENS,) for u in units]),
                "respondent_groups": ("id, code, name, kind", groups),
                "strata": ("id, wave_id, code, unit_id, group_id, population_size, sample_size", strata),
                "invitations": ("id, wave_id, group_id, stratum_id, cluster_code, token_hash, language, "
                                "status, source", invitation_rows),
                "invitation_units": ("invitation_id, unit_id, position, status", unit_rows),
                "responses": ("id, wave_id, questionnaire_version_id, unit_id, group_id, stratum_id, "
                              "cluster_code, mode, language, status, submitted_on, current_page",
                              response_rows),
                "held_submissions": ("id, wave_id, questionnaire_version_id, unit_id, group_id, stratum_id, "
                                     "cluster_code, mode, language, submitted_on, answers", held_rows),
            }
            for table, (columns, rows) in tables.items():
                _load(raw, dialect, table, columns, rows)
            connection.exec_driver_sql(
                "INSERT INTO wave_groups (wave_id, group_id, questionnaire_version_id, open_link) "
                f"SELECT {wave.id}, id, {version.id}, false FROM respondent_groups WHERE id IN (1, 2)")
            for statement in progress.BACKFILL + progress.unit_backfill():
                connection.exec_driver_sql(statement)
            if dialect == "postgresql":
                ddl = progress.postgresql_ddl() + progress.unit_postgresql_ddl()
            else:
                ddl = progress.sqlite_ddl() + progress.unit_sqlite_ddl()
            for statement in ddl:
                connection.exec_driver_sql(statement)
            if dialect == "postgresql":
                for table in ("units", "respondent_groups", "strata", "invitations"):
                    connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                               f"(SELECT MAX(id) FROM {table}))")
            connection.exec_driver_sql("ANALYZE")
        loaded = time.perf_counter() - started
        users = {}
        for email, scope in (("admin@bench.vn", None), ("coordinator@bench.vn", communes[:10])):
            user = User(email=email, name="Cán bộ đo", all_units=scope is None,
                        roles=[UserRole(role="admin" if scope is None else "coordinator")])
            user.set_password(PASSWORD)
            session.add(user)
            session.flush()
            for unit in scope or []:
                session.add(UserUnit(user_id=user.id, unit_id=unit))
            users[email] = scope
        session.commit()
        return {"wave": wave.code, "wave_id": wave.id, "invitations": len(invitation_rows),
                "responses": len(response_rows), "held": len(held_rows), "units": len(units),
                "strata": len(strata), "load_s": loaded, "scope": communes[:10]}


def _load(raw, dialect: str, table: str, columns: str, rows: list[tuple]) -> None:
    """Bulk-load rows: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    if dialect == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in columns.split(","))
        raw.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def timed(function, repeat: int, warmup: int = 2) -> list[float]:
    """Milliseconds of each of `repeat` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        function()
    found = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        found.append((time.perf_counter() - start) * 1000)
    return found


def measure(app, made: dict, repeat: int) -> dict:
    """Median and maximum milliseconds of each timed step."""
    results = {}
    with app.app_context():
        wave = db.session.get(Wave, made["wave_id"])
        whole = tracking.wave_progress(db.session, wave)
        total = db.session.scalar(text("SELECT COUNT(*) FROM invitations WHERE wave_id = :w"),
                                  {"w": wave.id})
        assert whole.persons.invited == total == made["invitations"], (whole.persons.invited, total)
        assert whole.total.invited == made["invitations"]
        assert whole.total.released == made["responses"] and whole.held == made["held"]
        results["queries, every unit"] = timed(lambda: tracking.wave_progress(db.session, wave), repeat)
        results["queries, 10 communes"] = timed(
            lambda: tracking.wave_progress(db.session, wave, made["scope"]), repeat)
    for email, label in (("admin@bench.vn", "every unit"), ("coordinator@bench.vn", "10 communes")):
        client = app.test_client()
        answer = client.post("/staff/login", data={"email": email, "password": PASSWORD})
        assert answer.status_code == 302, answer.status_code
        path = f"/staff/waves/{made['wave']}/progress"

        def get(url, client=client):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            response.close()

        results[f"page, {label}"] = timed(lambda p=path: get(p), repeat)
        results[f"page drilled to the province, {label}"] = timed(lambda p=path: get(p + "?unit=P"), repeat)
        results[f"CSV, {label}"] = timed(lambda p=path: get(p + ".csv"), repeat)
    return results


def profile(app, made: dict) -> None:
    """Print where the time of one whole-wave page view goes (cProfile, top 25 by cumulative time)."""
    import cProfile
    import pstats

    client = app.test_client()
    client.post("/staff/login", data={"email": "admin@bench.vn", "password": PASSWORD})
    path = f"/staff/waves/{made['wave']}/progress"
    client.get(path).close()
    profiler = cProfile.Profile()
    profiler.enable()
    client.get(path).close()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15, help="timed repetitions per step")
    parser.add_argument("--keep", type=Path, help="fill the database once (SQLite: in this folder) and reuse "
                        "it on later runs, migrated to head each time; the folder notes what was made")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one page view")
    args = parser.parse_args(argv)
    url = os.environ.get("SURVEY_DATABASE_URL") or os.environ.get("DATABASE_URL")
    app = None
    kept = args.keep is not None
    directory = args.keep if kept else Path(tempfile.mkdtemp(prefix="tracking-bench-"))
    made_file = directory / "made.json"
    try:
        start = time.perf_counter()
        if kept and made_file.exists():
            app = make_app(directory, url, empty=False)
            made = json.loads(made_file.read_text())
        else:
            directory.mkdir(parents=True, exist_ok=True)
            app = make_app(directory, url)
            made = fill(app, args.invitations)
            if kept:
                made_file.write_text(json.dumps(made))
        backend = Database.engine(app).dialect.name
        print(f"{backend}: {made['invitations']:,} invitations, {made['responses']:,} released responses, "
              f"{made['held']:,} held, {made['units']:,} units, {made['strata']:,} strata; bulk load "
              f"{made['load_s']:.1f} s, set-up in all {time.perf_counter() - start:.0f} s")
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
              f"load average {os.getloadavg()[0]:.2f}")
        if args.profile:
            profile(app, made)
        worst = 0.0
        for step, times in measure(app, made, args.repeat).items():
            median = statistics.median(times)
            if step.startswith("page"):
                worst = max(worst, median)
            print(f"  {step:45s} median {median:7.1f} ms   max {max(times):7.1f} ms   (n={len(times)})")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        print(f"budget {BUDGET_MS:.0f} ms for the page: {'met' if worst < BUDGET_MS else 'MISSED'} "
              f"(slowest page median {worst:.1f} ms)")
        return 0 if worst < BUDGET_MS else 1
    finally:
        if app is not None:
            if url and not kept:
                Base.metadata.drop_all(Database.engine(app))
                with Database.engine(app).begin() as connection:
                    connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            Database.engine(app).dispose()
        if not kept:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
