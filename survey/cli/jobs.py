"""`flask jobs ...`: run the RQ worker that performs queued jobs, and list recent jobs."""

import os

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from survey.auth.models import User
from survey.config import jobs_mode
from survey.db import Database, db
from survey.jobs import runner
from survey.jobs.models import JOB_STATUSES, JobRecord
from survey.sampling.models import Wave


@click.group("jobs", cls=AppGroup)
def jobs():
    """Long work run outside the request: the worker, and the list of jobs."""


@jobs.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then stop.")
def worker_command(burst):
    """Run an RQ worker on SURVEY_JOBS_REDIS_URL (one process next to gunicorn)."""
    if jobs_mode(current_app.config) != "rq":
        raise click.ClickException("set SURVEY_JOBS_REDIS_URL=redis://... first: without it the web "
                                   "processes run jobs themselves, in threads")
    app = current_app._get_current_object()
    # Each job runs in a forked work horse: it must open its own database connections, never use the
    # parent's (two processes on one socket).
    engine = Database.engine(app)
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    worker = make_worker(app)
    click.echo(f"worker {worker.name}: queue {app.config['JOBS_QUEUE']} on {_safe_url(app)}")
    worker.work(burst=burst)


def make_worker(app, simple: bool = False):
    """Return an RQ worker on the app's queue; a work horse killed (out of memory) fails its job."""
    from rq import SimpleWorker, Worker

    queue = runner.queue(app)

    def horse_killed(job, _pid, _status, _rusage):
        """Record a job whose work horse died without reporting (killed, out of memory)."""
        if job is not None and job.args:
            runner.fail(app, job.args[0], "the worker process running the job was killed")

    if simple:
        return SimpleWorker([queue], connection=queue.connection)
    return Worker([queue], connection=queue.connection, work_horse_killed_handler=horse_killed)


def _safe_url(app) -> str:
    """The Redis URL without a password."""
    from redis.connection import parse_url

    parts = parse_url(app.config["JOBS_REDIS_URL"])
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 6379)}/{parts.get('db', 0)}"


@jobs.command("list")
@click.option("--limit", default=20, show_default=True, help="How many jobs, newest first.")
@click.option("--status", type=click.Choice(JOB_STATUSES), default=None, help="Only jobs in this status.")
def list_command(limit, status):
    """List recent jobs: id, kind, status, progress, wave, who asked, when, and the error of a failed one."""
    query = (select(JobRecord, User.email, Wave.code).outerjoin(User, User.id == JobRecord.created_by)
             .outerjoin(Wave, Wave.id == JobRecord.wave_id)
             .order_by(JobRecord.created_at.desc(), JobRecord.id.desc()).limit(limit))
    if status:
        query = query.where(JobRecord.status == status)
    for job, email, wave in db.session.execute(query):
        progress = f"{job.done}/{job.total}" if job.total is not None else str(job.done)
        line = (f"{job.id}\t{job.kind}\t{job.status}\t{progress}\twave: {wave or '-'}\tby: {email or '-'}\t"
                f"{job.created_at:%Y-%m-%d %H:%M:%S}")
        if job.error:
            line += f"\terror: {job.error}"
        click.echo(line)
