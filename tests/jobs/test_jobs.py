"""Jobs: run after the commit (synchronously in tests, in a thread, on an RQ worker over Redis),
progress written in short transactions, failures recorded, each job seen only by its owner."""

import logging
import os
import time
import uuid

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select, text

from survey.auth.models import UserRole
from survey.db import Database, db
from survey.jobs import JobRecord, JobRefused, Progress, enqueue, job, message
from tests.conftest import redis_reachable
from tests.factories import log_in, log_out, make_staff, make_wave

REDIS_URL = "redis://127.0.0.1:6379/9"


@job("test.count", label=_l("Đang chạy"))
def count_to(params: dict, progress) -> dict:
    """Count to params["n"], reporting each step; note what another connection sees of the row midway."""
    total = params["n"]
    progress(0, total, _l("Đang chờ"))
    for done in range(1, total + 1):
        progress(done, total)
    progress.flush()
    with Database.engine(progress.app).connect() as other:  # what the job page would read now
        seen = other.execute(text("SELECT done, total FROM jobs WHERE id = :id"),
                             {"id": progress.job_id}).one()
    return {"summary": message(_l("Hoàn thành")), "seen": list(seen), "counted": total}


@job("test.fail")
def fail_badly(params: dict, progress) -> dict:
    """Fail with an unexpected error after some progress."""
    progress(3, 10)
    raise ZeroDivisionError("secret internal detail\nsecond line of the error")


@job("test.refuse")
def refuse(params: dict, progress) -> dict:
    """Refuse with a message for the user."""
    raise JobRefused(_l("Không có đợt khảo sát %(code)s.", code=params["code"]))


def deliver(session, wave, channel: str, progress=None) -> dict:
    """A service as other packages write them (session and wave first, a progress callable)."""
    for done in range(1, 4):
        progress(done, 3)
    return {"sent": 3, "channel": channel, "wave": wave.code}


# Registering such a service as a job takes two lines:
@job("test.deliver", back=lambda params: ("staff.home", {}))
def deliver_job(params, progress): return deliver(db.session, progress.wave, progress=progress, **params)


def enqueue_in(app, kind: str, params: dict) -> int:
    """Enqueue a job (by nobody) in another app's context and commit, as its request would; return its id."""
    with app.app_context():
        started = enqueue(kind, params, None)
        db.session.commit()
        return started.id


def fetch(session, job_id: int) -> JobRecord:
    """Read a job row as it is in the database now."""
    session.expire_all()
    return session.get(JobRecord, job_id)


def test_sync_job_runs_after_commit_and_records_progress_and_result(app, session):
    """In tests a job runs right after the commit: done, with its progress, message and result."""
    user = make_staff(session, "analyst")
    started = enqueue("test.count", {"n": 25}, user)
    assert started.status == "queued"  # nothing runs before the commit
    session.commit()
    done = fetch(session, started.id)
    assert (done.status, done.done, done.total, done.error) == ("done", 25, 25, None)
    assert done.result["counted"] == 25 and done.result["seen"] == [25, 25]
    assert done.result["summary"] == {"msgid": "Hoàn thành", "params": {}}
    assert done.created_by == user.id and done.started_at is not None and done.finished_at is not None


def test_a_service_registered_in_two_lines_runs_on_its_wave(app, session, client):
    """A service taking (session, wave, ..., progress) runs as a job; its result is listed on the page."""
    user = log_in(client, session, "coordinator")
    started = enqueue("test.deliver", {"channel": "email"}, user, wave=make_wave(session))
    session.commit()
    done = fetch(session, started.id)
    assert (done.status, done.done, done.total) == ("done", 3, 3)
    page = client.get(f"/staff/jobs/{started.id}").text
    assert "<dt><code>sent</code></dt><dd>3</dd>" in page and "<dd>email</dd>" in page
    assert 'href="/staff/">Quay lại' in page


def test_rolled_back_job_never_runs(app, session):
    """A job whose transaction is rolled back leaves no row and runs nowhere."""
    enqueue("test.count", {"n": 1}, None)
    session.rollback()
    session.commit()
    assert session.scalar(select(JobRecord)) is None


def test_unknown_kind_and_non_json_parameters_are_refused(app, session):
    """Enqueueing an unknown kind or parameters that are not JSON raises before anything is written."""
    with pytest.raises(ValueError, match="unknown job kind"):
        enqueue("test.nothing", {}, None)
    with pytest.raises(TypeError):
        enqueue("test.count", {"n": object()}, None)
    assert session.scalar(select(JobRecord)) is None


def test_failing_job_is_recorded_without_traceback_on_the_page(app, session, client, caplog):
    """An exception: status failed, a one-line error; the traceback is in the log, not on the page."""
    user = log_in(client, session, "coordinator")
    with caplog.at_level(logging.ERROR, logger="survey.jobs"):
        started = enqueue("test.fail", {}, user)
        session.commit()
    failed = fetch(session, started.id)
    assert (failed.status, failed.done, failed.total) == ("failed", 3, 10)
    assert failed.error == "ZeroDivisionError: secret internal detail"
    assert any(r.exc_info and "Traceback" not in r.getMessage() for r in caplog.records)
    assert "fail_badly" in caplog.text  # the traceback names the function
    page = client.get(f"/staff/jobs/{started.id}")
    assert page.status_code == 200 and "Không thành công" in page.text
    assert "Traceback" not in page.text and "second line" not in page.text and "fail_badly" not in page.text
    assert 'http-equiv="refresh"' not in page.text


def test_refused_job_says_why_in_the_readers_language(app, session, client):
    """JobRefused: failed, with the message rendered in the language of whoever reads the page."""
    user = log_in(client, session, "coordinator")
    started = enqueue("test.refuse", {"code": "KS-9"}, user)
    session.commit()
    assert fetch(session, started.id).error == "Không có đợt khảo sát KS-9."
    assert "Không có đợt khảo sát KS-9." in client.get(f"/staff/jobs/{started.id}").text
    assert "There is no survey wave KS-9." in client.get(f"/staff/jobs/{started.id}?lang=en").text


def test_job_page_shows_progress_and_refreshes_while_running(app, session, client):
    """A running job: a <progress> bar with its figures and a meta refresh; no script."""
    user = log_in(client, session, "analyst")
    running = JobRecord(kind="test.count", parameters={"n": 8}, status="running", done=2, total=8,
                        message="Đang kiểm tra từng dòng", created_by=user.id)
    session.add(running)
    session.commit()
    page = client.get(f"/staff/jobs/{running.id}").text
    assert '<meta http-equiv="refresh" content="2">' in page
    assert '<progress max="8" value="2">25%</progress>' in page and "Đã xong 2 / 8 (25%)" in page
    assert "Đang kiểm tra từng dòng" in page and "<script" not in page
    english = client.get(f"/staff/jobs/{running.id}?lang=en").text
    assert "2 of 8 done (25%)" in english and "Checking every row" in english
    listing = client.get("/staff/jobs/?lang=vi").text
    assert f'href="/staff/jobs/{running.id}"' in listing and "Đang chạy" in listing


def test_only_the_owner_and_administrators_see_a_job(app, session, client):
    """Another staff member gets 404 on the page and does not see the job listed; an admin sees both."""
    owner = make_staff(session, "analyst", email="owner@example.vn")
    started = enqueue("test.count", {"n": 2}, owner)
    session.commit()
    path = f"/staff/jobs/{started.id}"
    assert client.get(path).status_code == 302  # anonymous: to the login page
    log_in(client, session, "analyst", email="other@example.vn")
    assert client.get(path).status_code == 404
    assert path not in client.get("/staff/jobs/").text
    log_out(client)
    admin = log_in(client, session, "coordinator", email="admin@example.vn")
    session.add(UserRole(user_id=admin.id, role="admin"))
    session.commit()
    assert client.get(path).status_code == 200
    assert path in client.get("/staff/jobs/").text


def test_progress_writes_at_most_once_a_second(app, session):
    """A thousand updates within a second make one write, in its own committed transaction; a new
    message (a new phase) is written at once."""
    started = enqueue("test.count", {"n": 1}, None)
    session.commit()
    writes = []

    def note(_conn, _cursor, statement, *_args):
        if statement.startswith("UPDATE jobs"):
            writes.append(statement)

    engine = Database.engine(app)
    event.listen(engine, "before_cursor_execute", note)
    try:
        progress = Progress(app, fetch(session, started.id))
        for done in range(1000):
            progress(done, 1000)
        assert len(writes) == 1
        assert (fetch(session, started.id).done, fetch(session, started.id).total) == (0, 1000)
        progress(1000, message=_l("Đang kiểm tra từng dòng"))  # a new phase is written at once
        progress(1000, message=_l("Đang kiểm tra từng dòng"))
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert len(writes) == 2
    row = fetch(session, started.id)
    assert (row.done, row.message) == (1000, "Đang kiểm tra từng dòng")


def test_thread_mode_runs_in_the_background(configured, session):
    """Without Redis (and outside tests) a job runs in a thread of the web process; the row reaches done."""
    job_id = enqueue_in(configured(JOBS_MODE="thread"), "test.count", {"n": 40})
    deadline = time.monotonic() + 30
    while fetch(session, job_id).status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
    done = fetch(session, job_id)
    assert (done.status, done.done, done.total, done.result["counted"]) == ("done", 40, 40, 40)


@pytest.fixture
def rq_app(configured):
    """An app whose jobs go to a fresh queue on Redis DB 9; the queue's keys removed afterwards."""
    if not redis_reachable(REDIS_URL):
        if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"Redis is required in CI and is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not running at {REDIS_URL}")
    import redis

    name = f"test-{uuid.uuid4().hex}"
    yield configured(JOBS_REDIS_URL=REDIS_URL, JOBS_QUEUE=name)
    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter(f"*{name}*"):
        connection.delete(key)
    connection.close()


def test_rq_worker_runs_the_job_and_records_its_progress(rq_app, session):
    """With SURVEY_JOBS_REDIS_URL a job waits in Redis until an RQ worker (in-process, burst) runs it."""
    from rq import SimpleWorker

    from survey.jobs import runner

    with rq_app.app_context():
        user = make_staff(db.session, "analyst")
        started = enqueue("test.count", {"n": 12}, user)
        db.session.commit()
        job_id = started.id
        queue = runner.queue(rq_app)
        assert queue.count == 1
    assert fetch(session, job_id).status == "queued"  # nothing ran in the request
    with rq_app.app_context():
        assert SimpleWorker([queue], connection=queue.connection).work(burst=True)
    done = fetch(session, job_id)
    assert (done.status, done.done, done.total, done.result["seen"]) == ("done", 12, 12, [12, 12])
    with rq_app.app_context():
        failed = enqueue("test.fail", {}, user)
        db.session.commit()
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert fetch(session, failed.id).status == "failed"
    assert fetch(session, failed.id).error == "ZeroDivisionError: secret internal detail"


def test_rq_worker_command_runs_queued_jobs(rq_app, session):
    """`flask jobs worker --burst` runs the waiting jobs in forked work horses; `jobs list` shows them."""
    job_id = enqueue_in(rq_app, "test.count", {"n": 5})
    runner = rq_app.test_cli_runner()
    with rq_app.app_context():  # commands use the current app (the test's otherwise)
        result = runner.invoke(args=["jobs", "worker", "--burst"])
        assert result.exit_code == 0, result.output
        listed = runner.invoke(args=["jobs", "list"])
    assert fetch(session, job_id).status == "done"
    assert f"{job_id}\ttest.count\tdone\t5/5" in listed.output


def test_unreachable_redis_fails_the_job(configured, session):
    """A queue that cannot be reached: the job is recorded as failed at once, not left queued forever."""
    job_id = enqueue_in(configured(JOBS_REDIS_URL="redis://127.0.0.1:9/9"), "test.count", {"n": 1})
    failed = fetch(session, job_id)
    assert failed.status == "failed" and "Redis" in failed.error


def test_worker_command_needs_redis(runner):
    """Without SURVEY_JOBS_REDIS_URL the worker command says what to set."""
    result = runner.invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code != 0 and "SURVEY_JOBS_REDIS_URL" in result.output
