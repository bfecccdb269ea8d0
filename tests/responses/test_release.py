"""Held submissions and their release: the command, the counts staff see, settings, coarse paradata."""

import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url

from survey import create_app
from survey.auth.models import AuditLog
from survey.config import ConfigError
from survey.db import Database
from survey.definitions import load
from survey.logmask import mask
from survey.respond import flow
from survey.responses import service
from survey.responses.models import Answer, HeldSubmission, Response
from survey.responses.release import release, vacuum_after_release
from tests.conftest import TEST_SECRET, on_postgresql
from tests.factories import (
    SMALL_QUESTIONNAIRE,
    log_in,
    make_group,
    make_invitation,
    make_unit,
    make_version,
    make_wave,
)

DEFINITION = load.from_document(SMALL_QUESTIONNAIRE)


def hold(session, count, wave=None, unit=None):
    """Submit `count` people of one cell through the services (held, not released); return the wave."""
    wave, version = wave or make_wave(session), make_version(session)
    unit, group = unit or make_unit(session), make_group(session)
    for n in range(count):
        invitation, _ = make_invitation(session, TEST_SECRET, wave=wave, version=version,
                                        group=group, units=[unit])
        draft = service.start_draft(session, invitation, unit.id, version.id)
        draft.page_seconds = {"s1": 12.34}
        service.save_answers(session, draft, DEFINITION, {"used": "y", "age": float(40 + n),
                                                          "wish": ["a"], "m1_signs": "4"})
        service.submit(session, draft, invitation, today=date(2025, 11, 3))
    session.commit()
    return wave


def test_submission_is_held_with_typed_answers_and_coarse_paradata(session):
    """A submission becomes a held row; released, its answers come back typed, durations coarse."""
    hold(session, 1)
    held = session.scalars(select(HeldSubmission)).one()
    assert held.page_seconds == {"s1": 10}
    assert session.scalar(select(func.count()).select_from(Response)) == 0
    release(session, 1)
    session.commit()
    response = session.scalars(select(Response)).one()
    assert {a.item_id: a.value for a in response.answers} == {
        "used": "y", "age": 40.0, "wish": ["a"], "m1_signs": "4"}
    assert response.id != held.id and response.page_seconds == {"s1": 10}


def test_command_releases_full_cells_and_forces_the_rest_with_a_warning(app, runner, session):
    """`flask responses release` leaves cells under k; --force --wave releases them and warns."""
    app.config["RELEASE_BATCH"] = 3
    wave = hold(session, 2)
    result = runner.invoke(args=["responses", "release"])
    assert result.exit_code == 0, result.output
    assert "0 responses released" in result.output and "2 still held" in result.output
    refused = runner.invoke(args=["responses", "release", "--force"])
    assert refused.exit_code != 0 and "--wave" in refused.output
    forced = runner.invoke(args=["responses", "release", "--force", "--wave", wave.code])
    assert forced.exit_code == 0, forced.output
    assert "2 responses released in 1 batches" in forced.output
    assert "warning: 1 cells were released with fewer than 3 submissions (sizes 2)" in forced.output
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Response)) == 2
    assert session.scalar(select(func.count()).select_from(HeldSubmission)) == 0
    audit = session.scalars(select(AuditLog).filter_by(action="responses.released")).one()
    assert audit.details["responses"] == 2 and audit.target == f"wave:{wave.code}"


def test_staff_home_counts_pending_submissions(app, client, session):
    """Staff see how many submissions wait for release per wave and group, apart from responses."""
    app.config["RELEASE_BATCH"] = 5
    wave = hold(session, 2)
    log_in(client, session, "coordinator")
    page = client.get("/staff/").text
    assert "Đang chờ công bố" in page and "<td>0</td><td>2</td>" in page and wave.name in page
    assert "ít nhất 5 phiếu" in page


def test_analysis_page_says_how_many_wait(app, client, session):
    """The analysis page of a wave says how many submissions are not in the report yet, in English too."""
    app.config["RELEASE_BATCH"] = 5
    wave = hold(session, 3)
    log_in(client, session, "analyst")
    assert "3 phiếu đã gửi đang chờ công bố" in client.get(f"/staff/analysis/{wave.code}").text
    english = client.get(f"/staff/analysis/{wave.code}?lang=en").text
    assert "3 submitted forms are pending release" in english and "at least 5 forms" in english


def test_release_batch_setting_is_checked(tmp_path, monkeypatch):
    """RELEASE_BATCH must be a whole number >= 1, and >= 2 in production."""
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path))
    base = {"SECRET_KEY": TEST_SECRET, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    for bad in (0, "5", 2.5, True):
        with pytest.raises(ConfigError, match="RELEASE_BATCH"):
            create_app(base | {"RELEASE_BATCH": bad})
    with pytest.raises(ConfigError, match="production"):
        create_app(base | {"RELEASE_BATCH": 1, "ENV": "production"})
    assert create_app(base).config["RELEASE_BATCH"] == 5
    with pytest.raises(ConfigError, match="RELEASE_VACUUM"):
        create_app(base | {"RELEASE_VACUUM": "later"})
    assert create_app(base).config["RELEASE_VACUUM"] == "background"


@pytest.mark.skipif(not on_postgresql(), reason="VACUUM and its dead row counts: PostgreSQL")
def test_background_vacuum_removes_dead_rows_soon_after_the_release(app, session):
    """The default: the release returns at once and this process's vacuum thread removes the held
    rows' dead versions within seconds; two releases in a row are covered."""
    wave = hold(session, 3)
    session.commit()
    engine = Database.engine(app)
    for _ in range(2):
        release(session, 1)
        session.commit()
        vacuum_after_release(engine, "background")
    with engine.connect() as connection:
        for _ in range(150):
            dead = connection.execute(text(
                "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'held_submissions'")).scalar()
            if dead == 0:
                break
            connection.rollback()
            time.sleep(0.1)
    assert dead == 0
    assert session.scalar(select(func.count()).select_from(Response).where(Response.wave_id == wave.id)) == 3


@pytest.mark.skipif(on_postgresql(), reason="the SQLite write-ahead log")
def test_sqlite_checkpoint_runs_in_the_request_whatever_the_setting(app, session):
    """SQLite's checkpoint is cheap: "background" still empties the log before returning."""
    hold(session, 2)
    session.commit()
    release(session, 1)
    session.commit()
    path = Path(make_url(app.config["DATABASE_URL"]).database)
    wal = path.with_name(path.name + "-wal")
    assert wal.stat().st_size > 0
    vacuum_after_release(Database.engine(app), "background")
    assert wal.stat().st_size == 0


def test_paradata_step():
    """Durations are added up and kept in steps of five seconds."""
    draft = Response(page_seconds=None)
    flow.add_paradata(draft, "s1", 7.2, "phone")
    flow.add_paradata(draft, "s1", 4.9, None)
    flow.add_paradata(draft, "s2", 1.0, None)
    assert draft.page_seconds == {"s1": 10, "s2": 0} and draft.device_class == "phone"


@pytest.mark.parametrize(("line", "masked"), [
    ('"GET /r/AbC-123_xyzAbC-123_xyzAB HTTP/1.1" 200', '"GET /r/*** HTTP/1.1" 200'),
    ("POST /r/short/u/12/p/3", "POST /r/***/u/12/p/3"),
    ("GET /r/abcdefabcdefabcdefabcdef?lang=en", "GET /r/***?***"),
    ("GET /staff/entry/d/0123456789abcdef0123456789abcdef/p/2", "GET /staff/entry/d/***/p/2"),
    ("GET /o/CCHC-DEMO/nguoi_dan", "GET /o/CCHC-DEMO/nguoi_dan"),
    ("GET /healthz", "GET /healthz"),
])
def test_mask(line, masked):
    """Tokens after /r/, token-like segments and query strings are masked; other paths stay."""
    assert mask(line) == masked


def test_answers_of_a_release_are_not_grouped_by_response(session):
    """Answers of a batch are inserted in one random order across responses (not response by response).

    Checked on the rows' order of insertion: with 6 responses of 4 answers each, answers grouped by
    response would come in 6 runs; a random order has more (grouped by chance: about 1 in 10^13).
    """
    hold(session, 6)
    release(session, 6)
    session.commit()
    position = "ctid" if session.get_bind().dialect.name == "postgresql" else "rowid"
    order = session.execute(text(f"SELECT response_id FROM answers ORDER BY {position}")).scalars().all()
    runs = 1 + sum(a != b for a, b in zip(order, order[1:], strict=False))
    assert len(order) == 24 and runs > 6
    assert session.scalar(select(func.count()).select_from(Answer)) == 24


def test_completions_are_rewritten_only_where_rows_carry_a_transaction_id(app, session):
    """The release rewrites the cell's completions on PostgreSQL (xmin) and not on SQLite, where
    it would only cost a write of every completion of the cell at each release."""
    hold(session, 2)
    session.commit()
    statements = []
    engine = Database.engine(app)
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert release(session, 1).responses == 2
        session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    rewrites = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(rewrites) == (2 if on_postgresql() else 0), rewrites
