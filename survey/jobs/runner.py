"""Running jobs: enqueue after commit, then run on RQ, in a thread or synchronously; record the outcome.

``enqueue(kind, params, user, wave=None)`` adds a ``jobs`` row to the caller's session (queued) and
starts the job only once that session commits, so that a job never runs for a row that was rolled
back. How it runs depends on the configuration (``survey.config.jobs_mode``):

- ``rq``: ``SURVEY_JOBS_REDIS_URL`` is set; the job is pushed to an RQ queue and a worker
  (``flask --app survey jobs worker``) runs ``perform(job_id)``, which looks the row up and runs it
  in an app context of its own (the worker's app, made by ``create_app`` from the same settings);
- ``thread``: no Redis; a background thread of the web process runs it, with its own app context
  and database session (so that ``make run`` stays one command);
- ``sync``: in tests (``TESTING``, or ``SURVEY_JOBS_MODE=sync``) it runs right after the commit,
  before the request answers, so that tests are deterministic.

The runner claims the row (queued → running) in a short transaction, calls the function with the
parameters and a ``Progress``, then writes ``done`` with the function's result in the same
transaction as the work the function flushed (one commit). A function that raises ``JobRefused``
ends ``failed`` with its message (a refusal, said to the user); any other exception ends ``failed``
with a one-line error, its traceback going to the log only.
"""

import dataclasses
import json
import logging
import threading
import time
from datetime import UTC, datetime

from flask import Flask, current_app, has_app_context
from sqlalchemy import event, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from survey.config import jobs_mode
from survey.db import SQLITE_BUSY_MS, Database, db
from survey.jobs import registry
from survey.jobs.models import JobRecord
from survey.jobs.texts import message, msgid

log = logging.getLogger("survey.jobs")
PENDING = "survey.jobs.pending"  # session.info key: (app, job id) to start after the commit
TASK = "survey.jobs.runner.perform"  # what the RQ worker imports and calls
PROGRESS_INTERVAL = 1.0  # seconds between two progress writes
ERROR_LENGTH = 500


class JobRefused(Exception):
    """A job that cannot do what was asked, for a reason to tell the user (nothing it did is kept).

    `message` is a lazy string (a Vietnamese msgid and its parameters); `result` adds what the job
    page should show with it, e.g. ``problems`` (see survey/templates/jobs/job.html).
    """

    def __init__(self, message, **result):
        super().__init__(str(message))
        self.message = message
        self.result = result


def _now() -> datetime:
    return datetime.now(UTC)


class Progress:
    """What a running job reports: done out of total and a short message; ``progress(done, total)`` works.

    Each write is its own short transaction on its own connection (the job's work stays uncommitted
    in ``db.session``): figures at most once a second, a new message (a new phase of the job) at
    once; ``flush()`` writes the latest values now. On SQLite a write
    that finds the database locked by the job's own pending work is skipped and retried at the next
    update (the final figures are written with the job's outcome).
    """

    def __init__(self, app: Flask, record: JobRecord, interval: float = PROGRESS_INTERVAL):
        self.app, self.interval = app, interval
        self.job_id, self.user_id, self.wave_id = record.id, record.created_by, record.wave_id
        self.done, self.total, self.message = record.done or 0, record.total, record.message
        self._written = 0.0

    def __call__(self, done: int | None = None, total: int | None = None, message=None) -> None:
        """Report progress (the ``progress(done, total)`` callable services take)."""
        self.update(done, total, message)

    def update(self, done: int | None = None, total: int | None = None, message=None) -> None:
        """Note new figures (None keeps a value); write them if the last write is a second old or the
        message is new."""
        if done is not None:
            self.done = max(0, int(done))
        if total is not None:
            self.total = max(0, int(total))
        new_phase = False
        if message is not None:
            text = msgid(message)[:255]
            new_phase, self.message = text != self.message, text
        if new_phase or time.monotonic() - self._written >= self.interval:
            self.flush()

    def step(self, count: int = 1) -> None:
        """Add `count` to the done figure."""
        self.update(self.done + count)

    def flush(self) -> None:
        """Write the current figures in a transaction of their own."""
        self._written = time.monotonic()
        with Database.engine(self.app).connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:  # never wait on the job's own write lock: skip this write instead
                connection.exec_driver_sql("PRAGMA busy_timeout=50")
            try:
                connection.execute(update(JobRecord).where(JobRecord.id == self.job_id)
                                   .values(done=self.done, total=self.total, message=self.message))
                connection.commit()
            except OperationalError as exc:
                connection.rollback()
                log.debug("job %s: progress not written (%s)", self.job_id, exc.orig)
            finally:
                if sqlite:
                    connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")

    @property
    def user(self):
        """The user who started the job (None for a command), in the job's session."""
        from survey.auth.models import User

        return db.session.get(User, self.user_id) if self.user_id is not None else None

    @property
    def wave(self):
        """The job's wave (None when it has none), in the job's session."""
        from survey.sampling.models import Wave

        return db.session.get(Wave, self.wave_id) if self.wave_id is not None else None


def enqueue(kind: str, params: dict, user, wave=None) -> JobRecord:
    """Add a queued job to the current session; it starts when the session commits.

    `user` is the staff member who asks (None from a command); `wave` ties the job to a wave. The
    parameters must be JSON (names, codes, numbers), never objects.
    """
    if registry.find(kind) is None:
        raise ValueError(f"unknown job kind {kind!r}")
    json.dumps(params)  # refuse parameters that cannot be stored, before anything is written
    session = db.session
    record = JobRecord(kind=kind, parameters=params, status="queued", done=0, created_at=_now(),
                       created_by=user.id if user is not None else None,
                       wave_id=wave.id if wave is not None else None)
    session.add(record)
    session.flush()
    session.info.setdefault(PENDING, []).append((current_app._get_current_object(), record.id))
    return record


@event.listens_for(Session, "after_commit")
def _start_after_commit(session: Session) -> None:
    """Start the jobs a session added, now that their rows are committed."""
    for app, job_id in session.info.pop(PENDING, ()):
        try:
            dispatch(app, job_id)
        except Exception:  # the caller's work is committed: never turn that into an error page
            log.exception("job %s could not be started", job_id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction) -> None:
    """Forget the jobs of a rolled-back transaction: their rows are gone."""
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)


def dispatch(app: Flask, job_id: int) -> None:
    """Start a committed queued job the way the configuration says."""
    mode = jobs_mode(app.config)
    if mode == "sync":
        run(app, job_id)
    elif mode == "thread":
        threading.Thread(target=run, args=(app, job_id), name=f"survey-job-{job_id}", daemon=True).start()
    else:
        from redis.exceptions import RedisError

        try:
            queue(app).enqueue_call(TASK, args=(job_id,), timeout=app.config["JOBS_TIMEOUT"],
                                    description=f"survey job {job_id}")
        except RedisError as exc:
            log.error("job %s: could not reach the job queue: %s", job_id, exc)
            fail(app, job_id, "the job queue (Redis) could not be reached")


def queue(app: Flask):
    """Return the app's RQ queue."""
    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(app.config["JOBS_REDIS_URL"])
    return Queue(app.config["JOBS_QUEUE"], connection=connection,
                 default_timeout=app.config["JOBS_TIMEOUT"])


_worker_app: Flask | None = None


def perform(job_id: int) -> None:
    """The RQ task: run job `job_id` with the current app, or one made by ``create_app`` from the settings."""
    global _worker_app
    if has_app_context():
        app = current_app._get_current_object()
    else:
        if _worker_app is None:
            from survey import create_app

            _worker_app = create_app()
        app = _worker_app
    run(app, job_id)


def run(app: Flask, job_id: int) -> None:
    """Run a queued job in an app context of its own and record how it ended; never raises."""
    with app.app_context():
        session = db.session
        claim = (update(JobRecord).where(JobRecord.id == job_id, JobRecord.status == "queued")
                 .values(status="running", started_at=_now()))
        claimed = session.execute(claim).rowcount
        session.commit()
        if not claimed:
            log.warning("job %s: not found or not queued; not run", job_id)
            return
        record = session.get(JobRecord, job_id)
        kind = registry.find(record.kind)
        if kind is None:
            _finish(session, job_id, "failed", error=f"unknown job kind {record.kind!r}")
            return
        progress = Progress(app, record)
        log.info("job %s (%s): started", job_id, record.kind)
        try:
            value = kind.function(dict(record.parameters or {}), progress)
        except JobRefused as exc:
            session.rollback()
            log.info("job %s (%s): refused: %s", job_id, record.kind, exc)
            _finish(session, job_id, "failed", progress, error=_one_line(str(exc)),
                    result=_jsonable({"summary": message(exc.message), **exc.result}))
        except Exception as exc:
            session.rollback()
            log.exception("job %s (%s) failed", job_id, record.kind)
            _finish(session, job_id, "failed", progress, error=_one_line(f"{type(exc).__name__}: {exc}"))
        else:
            _finish(session, job_id, "done", progress, result=_jsonable(value))
            log.info("job %s (%s): done", job_id, record.kind)


def _finish(session: Session, job_id: int, status: str, progress: Progress | None = None,
            error: str | None = None, result: dict | None = None) -> None:
    """Write a job's outcome, with the job's own pending work, in one commit."""
    values = {"status": status, "finished_at": _now(), "error": error, "result": result}
    if progress is not None:
        done = progress.total if status == "done" and progress.total is not None else progress.done
        values |= {"done": max(done, progress.done), "total": progress.total, "message": progress.message}
    session.execute(update(JobRecord).where(JobRecord.id == job_id).values(**values))
    session.commit()


def fail(app: Flask, job_id: int, error: str) -> None:
    """Record a job as failed from outside its run (the queue unreachable, a worker killed)."""
    with app.app_context():
        session = db.session
        session.execute(update(JobRecord)
                        .where(JobRecord.id == job_id, JobRecord.status.in_(("queued", "running")))
                        .values(status="failed", finished_at=_now(), error=_one_line(error)))
        session.commit()


def _one_line(text: str) -> str:
    """Return the first line of an error, shortened: no traceback, no multi-line SQL."""
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return first[:ERROR_LENGTH]


def _jsonable(value) -> dict:
    """Turn what a job function returned into the JSON dict stored as its result."""
    if value is None:
        return {}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if not isinstance(value, dict):
        value = {"value": value}
    return json.loads(json.dumps(value, default=str))
