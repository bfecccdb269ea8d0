"""Anonymity by construction: once k people of a cell have submitted, no response can be tied to them.

The tests submit through the real pages (and the services), then play the people who could try:
a database administrator with SQL access (foreign keys, every column, `xmin` and its time order,
`ctid`, SQLite's `rowid`), one with a copy of the database file or raw pages (dead rows), a reader
of the server's logs, and a reader of the audit log and the paradata. Each attack must leave every
response with either no candidate or at least k candidate invitations. They run on SQLite and,
with DATABASE_URL=postgresql://..., on PostgreSQL.
"""

import contextlib
import logging
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Date, DateTime, func, select, text
from sqlalchemy.engine import make_url

from survey.auth.models import AuditLog
from survey.db import Database, _sqlite_pragmas, make_engine
from survey.definitions import load
from survey.models import Base
from survey.responses import service
from survey.responses.models import DEVICE_CLASSES, Answer, DraftLink, HeldSubmission, Response
from survey.responses.release import release, vacuum
from survey.sampling.models import Invitation, InvitationUnit, WaveUnit
from tests.conftest import TEST_SECRET, on_postgresql
from tests.factories import (
    SMALL_QUESTIONNAIRE,
    csrf_token,
    log_in,
    make_group,
    make_invitation,
    make_stratum,
    make_unit,
    make_version,
    make_wave,
)

K = 5
PEOPLE = 2 * K  # two full batches of one cell
DEFINITION = load.from_document(SMALL_QUESTIONNAIRE)
IDENTITY_TABLES = ("invitations", "invitation_units", "frame_entries", "draft_links")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PHONE = "Mozilla/5.0 (Linux; Android 13; SM-A546E) AppleWebKit/537.36 Mobile Safari/537.36"
ROOT = Path(__file__).resolve().parent.parent


class Cohort:
    """People of one cell (wave, group, stratum, cluster, commune) who answered through the pages."""

    def __init__(self):
        self.invitations: list[Invitation] = []
        self.tokens: list[str] = []
        self.order: list[int] = []  # invitation ids in the order they submitted
        self.age: dict[int, int] = {}  # invitation id -> the age they answered (the ground truth)
        self.draft_ids: list[str] = []
        self.held_ids: list[str] = []


def _csrf(client, url):
    """Return the CSRF token of a respondent page, fetched by a phone."""
    return CSRF.search(client.get(url, headers={"User-Agent": PHONE}).text).group(1)


def answer_through_pages(client, session, invitation, token, age, cohort):
    """Start, answer page 1 ("not used": the last page) and submit, as a phone would."""
    unit_id = invitation.units[0].unit_id
    token_value = _csrf(client, f"/r/{token}")
    started = client.post(f"/r/{token}/u/{unit_id}/start", data={"csrf_token": token_value},
                          headers={"User-Agent": PHONE})
    assert started.status_code == 302
    page = started.headers["Location"]
    client.get(page, headers={"User-Agent": PHONE})
    cohort.draft_ids.append(session.scalar(select(DraftLink.response_id)
                                           .filter_by(invitation_id=invitation.id)))
    cohort.held_ids += [i for i in session.scalars(select(HeldSubmission.id)) if i not in cohort.held_ids]
    done = client.post(page, data={"csrf_token": token_value, "used": "n", "age": str(age),
                                   "action": "submit"}, headers={"User-Agent": PHONE})
    assert done.status_code == 302 and done.headers["Location"].endswith("/done")
    session.rollback()  # a fresh snapshot for the next look
    cohort.order.append(invitation.id)
    cohort.age[invitation.id] = age


@pytest.fixture
def cohort(app, session, client):
    """Ten people of one cell submit through the pages with k = 5: two batches are released."""
    app.config["RELEASE_BATCH"] = K
    wave, version = make_wave(session), make_version(session)
    commune, group = make_unit(session), make_group(session)
    stratum = make_stratum(session, wave, unit_id=commune.id)
    result = Cohort()
    for _ in range(PEOPLE):
        invitation, token = make_invitation(session, TEST_SECRET, wave=wave, stratum=stratum,
                                            version=version, group=group, units=[commune])
        result.invitations.append(invitation)
        result.tokens.append(token)
    session.commit()
    for n, (invitation, token) in enumerate(zip(result.invitations, result.tokens, strict=True)):
        answer_through_pages(client, session, invitation, token, 20 + n, result)
    return result


def truth(session, cohort) -> dict[str, int]:
    """Return response id -> invitation id, known to the test through the answered ages."""
    by_age = {age: invitation_id for invitation_id, age in cohort.age.items()}
    rows = session.execute(select(Answer.response_id, Answer.value_number)
                           .where(Answer.item_id == "age")).all()
    return {response_id: by_age[int(age)] for response_id, age in rows}


def assert_no_singling_out(candidates: dict[str, set[int]], what: str, cell: set[int]) -> None:
    """Every response has no candidate invitation, or all the cell's (at least k of them)."""
    assert len(cell) >= K
    for response_id, found in candidates.items():
        assert not found or found == cell, (what, response_id, found)


# --- the schema -------------------------------------------------------------------------------

def test_no_foreign_key_from_responses_to_identity():
    """The schema has no foreign key from responses, answers or held submissions to the identity side."""
    for name in ("responses", "answers", "held_submissions"):
        targets = {fk.column.table.name for fk in Base.metadata.tables[name].foreign_keys}
        assert targets.isdisjoint(IDENTITY_TABLES), (name, targets)


def test_no_timestamp_on_responses():
    """Responses, answers and held submissions carry no time of day."""
    for name in ("responses", "answers", "held_submissions"):
        for column in Base.metadata.tables[name].columns:
            assert not isinstance(column.type, DateTime), column
    assert isinstance(Base.metadata.tables["responses"].c.submitted_on.type, Date)


# --- what is stored ------------------------------------------------------------------------------

def test_released_in_two_batches_nothing_left(session, cohort):
    """Ten submissions with k = 5 are released as two batches; no draft, link or held row is left."""
    assert len(truth(session, cohort)) == PEOPLE
    assert session.scalar(select(DraftLink).limit(1)) is None
    assert session.scalar(select(HeldSubmission).limit(1)) is None
    ids = set(session.scalars(select(Response.id)))
    assert ids.isdisjoint(cohort.draft_ids) and ids.isdisjoint(cohort.held_ids)
    assert {u.status for u in session.scalars(select(InvitationUnit))} == {"done"}
    assert len({r.submitted_on for r in session.scalars(select(Response))}) == 1


def test_below_k_nothing_reaches_responses(app, session, client):
    """While a cell holds fewer than k submissions, `responses` has nothing of it."""
    app.config["RELEASE_BATCH"] = K
    wave, version = make_wave(session), make_version(session)
    commune, group = make_unit(session), make_group(session)
    people = [make_invitation(session, TEST_SECRET, wave=wave, version=version, group=group,
                              units=[commune]) for _ in range(K - 1)]
    session.commit()
    cohort = Cohort()
    for n, (invitation, token) in enumerate(people):
        answer_through_pages(client, session, invitation, token, 30 + n, cohort)
    assert session.scalar(select(Response).limit(1)) is None
    assert len(session.scalars(select(HeldSubmission)).all()) == K - 1


def test_response_id_appears_nowhere_else(session, cohort):
    """No column of any table except answers.response_id holds a released response's id."""
    ids = set(truth(session, cohort))
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)).all():
            for column, value in zip(table.columns, row, strict=True):
                if (table.name, column.name) in {("responses", "id"), ("answers", "response_id")}:
                    continue
                assert not any(i in str(value) for i in ids), (table.name, column.name)


def test_joining_on_every_shared_column_finds_the_whole_cell(session, cohort):
    """A join of responses to completed invitations on every shared column returns all ten people."""
    rows = session.execute(text(
        "SELECT r.id, i.id FROM responses r JOIN invitations i"
        " ON i.wave_id = r.wave_id AND i.group_id = r.group_id AND i.stratum_id = r.stratum_id"
        " AND i.cluster_code = r.cluster_code AND i.language = r.language"
        " JOIN invitation_units iu ON iu.invitation_id = i.id AND iu.unit_id = r.unit_id"
        " WHERE r.status = 'complete' AND iu.status = 'done'")).all()
    candidates: dict[str, set[int]] = {}
    for response_id, invitation_id in rows:
        candidates.setdefault(response_id, set()).add(invitation_id)
    assert set(candidates) == set(truth(session, cohort))
    assert all(found == set(cohort.order) for found in candidates.values())


def test_physical_order_is_not_submission_order(session, cohort):
    """rowid (SQLite) / ctid (PostgreSQL) order of responses and answers is not the order of submission.

    The attacker knows who submitted when (say, from watching the respondents) and guesses that the
    n-th response in physical order is the n-th submitter's. Within a batch the order is a random
    permutation: the guess can be right by chance, but not for all ten (chance 1 in 120 * 120).
    """
    position = "rowid" if not on_postgresql() else "ctid"
    answer_rows = session.execute(text(
        f"SELECT response_id FROM answers WHERE item_id = 'age' ORDER BY {position}")).scalars().all()
    response_rows = session.execute(text(
        f"SELECT id FROM responses ORDER BY {position}")).scalars().all()
    actual = truth(session, cohort)
    for physical in (answer_rows, response_rows):
        guessed = dict(zip(physical, cohort.order, strict=True))
        assert sum(guessed[r] == actual[r] for r in physical) < PEOPLE
    by_id = sorted(actual)  # ids are random: their order says nothing either
    assert sum(i == actual[r] for r, i in zip(by_id, cohort.order, strict=True)) < PEOPLE


@pytest.mark.skipif(not on_postgresql(), reason="xmin is a PostgreSQL system column")
def test_xmin_join_and_order_do_not_single_anyone_out(session, cohort):
    """`r.xmin = iu.xmin` (the issue's join), on units and invitations, and xid order, find whole cells.

    A batch's responses share the release's transaction id, and each release rewrote every done
    unit and completed invitation of the cell, so the join finds either nobody or all the cell's
    completions; no unit keeps the transaction id of its own submission, so the time order of
    transaction ids cannot place a person between two releases (in one batch) either: the best
    a look at the database gives is the whole cell.
    """
    actual = truth(session, cohort)
    cell = set(cohort.order)
    for table in ("invitation_units", "invitations"):
        key = "iu.invitation_id" if table == "invitation_units" else "iu.id"
        rows = session.execute(text(
            f"SELECT r.id, {key} FROM responses r JOIN {table} iu ON r.xmin = iu.xmin")).all()
        candidates = {r: set() for r in actual}
        for response_id, invitation_id in rows:
            candidates[response_id].add(invitation_id)
        assert_no_singling_out(candidates, f"xmin join on {table}", cell)
    xid = "xmin::text::bigint"
    response_xids = dict(session.execute(text(f"SELECT id, {xid} FROM responses")).all())
    releases = sorted(set(response_xids.values()))
    assert len(releases) == 2  # one transaction per batch
    # The units whose transaction id lies between the release before a response's and its own.
    candidates = {}
    for response_id, upper in response_xids.items():
        lower = max([x for x in releases if x < upper], default=0)
        candidates[response_id] = set(session.execute(text(
            f"SELECT invitation_id FROM invitation_units WHERE {xid} > :lo AND {xid} <= :hi"),
            {"lo": lower, "hi": upper}).scalars())
    assert_no_singling_out(candidates, "xid order", cell)


@pytest.mark.skipif(not on_postgresql(), reason="dead row versions: PostgreSQL")
def test_no_dead_rows_after_release(app, session, cohort):
    """After release and vacuum, no dead version of a held row, draft or draft link is left.

    pg_stat_user_tables says so for anyone; with pageinspect (superuser) the raw pages are read:
    every tuple with storage in them is a live row.
    """
    session.commit()
    engine = Database.engine(app)
    vacuum(engine)  # again, in case a snapshot was open during the release's own vacuum
    with engine.connect() as connection:
        dead = dict(connection.execute(text(
            "SELECT relname, n_dead_tup FROM pg_stat_user_tables WHERE relname IN"
            " ('held_submissions', 'draft_links', 'responses', 'answers')")).all())
    assert dead == {"held_submissions": 0, "draft_links": 0, "responses": 0, "answers": 0}
    with engine.connect() as connection:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
        connection.commit()
        for table in ("held_submissions", "draft_links", "responses", "answers",
                      "invitation_units", "invitations"):
            stored = connection.execute(text(
                f"SELECT count(*) FROM generate_series(0, pg_relation_size('{table}') / 8192 - 1) b,"
                f" LATERAL heap_page_items(get_raw_page('{table}', b::int)) WHERE lp_flags = 1"
            )).scalar()
            live = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
            assert stored == live, (table, stored, live)


@pytest.mark.skipif(on_postgresql(), reason="the SQLite database file")
def test_database_file_keeps_no_deleted_rows(app, session, cohort):
    """secure_delete and the release's checkpoint: neither the file nor its write-ahead log holds a
    draft id, held id or held answer list after release (read while the app's connections are open,
    as a copy of the folder taken then would be; then again once they are closed)."""
    session.commit()
    path = Path(make_url(app.config["DATABASE_URL"]).database)
    wal = path.with_name(path.name + "-wal")
    assert cohort.draft_ids and cohort.held_ids
    with Database.engine(app).connect() as connection:  # the log stays while a connection is open
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        for raw in (path.read_bytes(), wal.read_bytes() if wal.exists() else b""):
            _assert_no_trace(raw, cohort)
    Database.engine(app).dispose()
    _assert_no_trace(path.read_bytes(), cohort)


def _assert_no_trace(raw: bytes, cohort) -> None:
    """The bytes hold no draft id, held id or held answer list of the cohort."""
    for identifier in cohort.draft_ids + cohort.held_ids:
        assert identifier.encode() not in raw, identifier
    assert b'["used", "value_text"' not in raw  # the held rows' JSON answers
    assert b'"age", "value_number"' not in raw


@pytest.mark.skipif(on_postgresql(), reason="the SQLite write-ahead log")
def test_write_ahead_log_holds_drafts_until_the_release_checkpoint(app, session, client):
    """Without the checkpoint the log still holds a submitted draft's id: the checkpoint is what
    removes it (this is why each release ends with one)."""
    app.config["RELEASE_BATCH"] = 2
    wave, version = make_wave(session), make_version(session)
    commune, group = make_unit(session), make_group(session)
    people = [make_invitation(session, TEST_SECRET, wave=wave, version=version, group=group,
                              units=[commune]) for _ in range(2)]
    session.commit()
    found = Cohort()
    answer_through_pages(client, session, *people[0], 30, found)  # one held: nothing released yet
    path = Path(make_url(app.config["DATABASE_URL"]).database)
    wal = path.with_name(path.name + "-wal")
    assert found.draft_ids[0].encode() in wal.read_bytes()
    answer_through_pages(client, session, *people[1], 31, found)  # the batch is released
    assert wal.stat().st_size == 0
    released = select(func.count()).select_from(Response).where(Response.status == "complete")
    assert session.scalar(released) == 2


# --- paradata, audit, logs ----------------------------------------------------------------------

def test_paradata_are_coarse(session, cohort):
    """Page durations are whole steps of five seconds and the device is a class, nothing more."""
    for response in session.scalars(select(Response)):
        assert response.device_class in DEVICE_CLASSES
        assert all(isinstance(v, int) and v % service.PARADATA_STEP == 0
                   for v in (response.page_seconds or {}).values()), response.page_seconds
    columns = {c.name for c in Response.__table__.columns}
    assert not columns & {"user_agent", "ip", "started_at", "submitted_at", "created_at"}


def test_clerk_audit_rows_name_no_response_and_no_exact_time(app, client, session):
    """A clerk's forms are audited as "entered one form for wave W" at the hour, never by id."""
    app.config["RELEASE_BATCH"] = 2
    invitation, _ = make_invitation(session, TEST_SECRET)
    session.add(WaveUnit(wave_id=invitation.wave_id, unit_id=invitation.units[0].unit_id))
    session.commit()
    log_in(client, session, "data_entry")
    start_url = f"/staff/entry/{invitation.wave.code}/{invitation.group.code}"
    for age in (44, 45):
        token = csrf_token(client, start_url)
        page = client.post(start_url, data={"csrf_token": token, "mode": "paper", "form_number": str(age),
                                            "unit_code": invitation.units[0].unit.code}).headers["Location"]
        client.post(page, data={"csrf_token": token, "used": "n", "age": str(age), "action": "submit"})
    session.rollback()
    ids = set(session.scalars(select(Response.id)))
    assert len(ids) == 2
    entered = session.scalars(select(AuditLog).where(AuditLog.action == "response.entered")).all()
    assert len(entered) == 2
    for row in entered:
        assert row.target == f"wave:{invitation.wave.code}"
        assert (row.at.minute, row.at.second, row.at.microsecond) == (0, 0, 0)
    for row in session.scalars(select(AuditLog)):
        assert not any(i in f"{row.target} {row.details}" for i in ids)


def _free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> None:
    """GET a URL as a phone would, with a referrer; error statuses are fine."""
    request = urllib.request.Request(url, headers={"User-Agent": PHONE, "Referer": url})
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10).read()


@contextlib.contextmanager
def gunicorn_serving(app, tmp_path, **environment):
    """Serve the test database with gunicorn and survey/gunicorn_config.py on a free loopback port.

    Yields the base URL and a dict that holds gunicorn's "out" and "err" once it has stopped.
    """
    port = _free_port()
    env = os.environ | {"SURVEY_DATABASE_URL": app.config["DATABASE_URL"],
                        "SURVEY_SECRET_KEY": TEST_SECRET,
                        "SURVEY_INSTANCE_PATH": str(tmp_path / "gunicorn-instance")} | environment
    env.pop("DATABASE_URL", None)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:survey.gunicorn_config",
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    output = {}
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield base, output
    finally:
        server.send_signal(signal.SIGTERM)
        output["out"], output["err"] = (stream.decode() for stream in server.communicate(timeout=30))


def test_gunicorn_access_log_has_no_token_agent_or_address(app, session, tmp_path):
    """Gunicorn run with survey/gunicorn_config.py logs masked paths, no user agent, no address."""
    invitation, token = make_invitation(session, TEST_SECRET)
    session.commit()
    unit_id = invitation.units[0].unit_id
    with gunicorn_serving(app, tmp_path) as (base, output):
        for path in (f"/r/{token}", f"/r/{token}?lang=en", f"/r/{token}/u/{unit_id}/p/1",
                     f"/r/{token}/u/{unit_id}/done", "/r/" + "x" * 24 + "/u/1", "/healthz"):
            _get(base + path)
    log, err = output["out"], output["err"]
    lines = [line for line in log.splitlines() if '"GET ' in line]
    assert len(lines) >= 7, (log, err)
    assert f'"GET /r/***/u/{unit_id}/p/1 HTTP/1.1"' in log
    assert '"GET /r/*** HTTP/1.1"' in log and '"GET /r/***?*** HTTP/1.1"' in log
    for secret in (token, "x" * 24, "Android", "SM-A546E", "127.0.0.1", "lang=en"):
        assert secret not in log, secret
    assert token not in err


def test_dev_server_and_flask_logs_mask_tokens(app, session, caplog):
    """Werkzeug's development server and Flask's error log never write a token."""
    from werkzeug.serving import make_server

    invitation, token = make_invitation(session, TEST_SECRET)
    session.commit()
    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    caplog.set_level(logging.INFO)
    try:
        _get(f"http://127.0.0.1:{server.server_port}/r/{token}/u/{invitation.units[0].unit_id}?lang=en")
    finally:
        server.shutdown()
        thread.join()
    with app.test_request_context(f"/r/{token}/u/1/p/2", method="POST"):
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            app.log_exception(sys.exc_info())
    text_logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/r/***/u/" in text_logged and "Exception on /r/***/u/1/p/2 [POST]" in text_logged
    assert token not in text_logged and "lang=en" not in text_logged


# --- the service layer, and a second cell ------------------------------------------------------

def test_service_submissions_of_two_cells_released_separately(session):
    """k submissions of one cell are released; a second cell with fewer waits, then --force frees it."""
    wave, version = make_wave(session), make_version(session)
    group = make_group(session)
    big, small = make_unit(session), make_unit(session)
    stratum = make_stratum(session, wave)
    people = [(make_invitation(session, TEST_SECRET, wave=wave, stratum=stratum, version=version,
                               group=group, units=[unit])[0], unit)
              for unit in [big] * K + [small] * 2]
    for n, (invitation, unit) in enumerate(people):
        draft = service.start_draft(session, invitation, unit.id, version.id)
        service.save_answers(session, draft, DEFINITION, {"used": "n", "age": float(30 + n)})
        service.submit(session, draft, invitation, today=date(2025, 11, 3 + n))
    session.commit()
    first = release(session, K)
    session.commit()
    assert (first.responses, first.batches, first.held, first.short) == (K, 1, 2, [])
    assert {r.unit_id for r in session.scalars(select(Response))} == {big.id}
    assert {r.submitted_on for r in session.scalars(select(Response))} == {date(2025, 11, 7)}
    forced = release(session, K, force=True)
    session.commit()
    assert (forced.responses, forced.short) == (2, [2])
    assert len(session.scalars(select(Response)).all()) == K + 2


def test_sqlite_connections_get_secure_delete(tmp_path):
    """The app's SQLite connections turn secure_delete on, even where the library's default is off.

    (Debian builds SQLite with secure_delete on by default; python.org and macOS builds do not.)
    """
    connection = sqlite3.connect(tmp_path / "pragma.db")
    connection.execute("PRAGMA secure_delete=OFF")
    assert connection.execute("PRAGMA secure_delete").fetchone() == (0,)
    _sqlite_pragmas(connection, None)
    assert connection.execute("PRAGMA secure_delete").fetchone() == (1,)
    connection.close()
    engine = make_engine(f"sqlite:///{tmp_path / 'engine.db'}")
    with engine.connect() as pooled:
        assert pooled.execute(text("PRAGMA secure_delete")).scalar() == 1
        # a write-ahead log synced at every commit: an acknowledged submission survives a power cut
        assert pooled.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert pooled.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    engine.dispose()
