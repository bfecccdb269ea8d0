"""Prometheus metrics at /metrics (prometheus-flask-exporter), off unless SURVEY_METRICS is set.

What is measured, and nothing that could identify a respondent or a unit:

- `survey_http_request_duration_seconds` (histogram) and `survey_http_request_total`: by HTTP method,
  status and *endpoint name* (`respond.page`, `api.waves`), never the path, which carries invitation
  tokens and draft ids; requests with an unusual method are not measured (no label from the client);
- `survey_submissions_total{mode}`: forms submitted (online, paper, phone, face_to_face), counted after
  their commit; no unit, wave or person label;
- `survey_job_queue_depth{backend}`: jobs waiting to run, read when scraped: the RQ queue's length with
  SURVEY_JOBS_REDIS_URL, else the thread backlog (jobs queued or running in the web processes,
  from the `jobs` table);
- `survey_jobs{status}`: jobs queued and running (the `jobs` table), whatever runs them.

Who may read it: a request from an address in METRICS_ALLOW (addresses or networks; loopback by
default outside production, none in production), or one carrying `Authorization: Bearer
<METRICS_TOKEN>`. Others get 404, as if there were no such page. Production refuses to start with
metrics on and neither a token nor an allowed address, and checks the token as it checks secrets.

Several gunicorn workers: set PROMETHEUS_MULTIPROC_DIR (an empty folder, emptied at each start) in
the environment of gunicorn; each worker writes its figures there and a scrape of any worker adds
them up (prometheus_client's multiprocess mode; see docs/deploy.md, "Metrics").
"""

import hmac
import ipaddress
import os

from flask import Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily

from survey.config import ConfigError, secret_problem

EXTENSION = "survey.metrics"
PATH = "/metrics"
MODES = ("online", "paper", "phone", "face_to_face")
MEASURED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LOOPBACK = ("127.0.0.1", "::1")


def enabled(config) -> bool:
    """Tell whether metrics are on (SURVEY_METRICS=1, true or yes)."""
    value = config.get("METRICS")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def allowed_networks(config) -> list:
    """Return the networks whose requests may read /metrics (METRICS_ALLOW: a list or comma-separated)."""
    value = config.get("METRICS_ALLOW")
    if value is None:
        value = [] if config.get("ENV") == "production" else list(LOOPBACK)
    if isinstance(value, str):
        value = [part for part in value.replace(",", " ").split() if part]
    try:
        return [ipaddress.ip_network(str(part), strict=False) for part in value]
    except ValueError as error:
        raise ConfigError(f"METRICS_ALLOW must list addresses or networks: {error}") from None


def check_config(config) -> None:
    """Refuse metrics settings that would expose them or make them unreachable in production."""
    if not enabled(config):
        return
    networks = allowed_networks(config)
    token = config.get("METRICS_TOKEN")
    if config.get("ENV") != "production":
        return
    if token:
        problem = secret_problem(token, "SURVEY_METRICS_TOKEN")
        if problem:
            raise ConfigError(problem)
    elif not networks:
        raise ConfigError("SURVEY_METRICS=1 in production needs SURVEY_METRICS_TOKEN (a bearer token for "
                          "the Prometheus server) or SURVEY_METRICS_ALLOW (its address)")


def endpoint(req) -> str:
    """The label requests are grouped by: the endpoint's name, never the path (it carries tokens)."""
    return req.endpoint or "unmatched"


def multiprocess_dir() -> str | None:
    """Return prometheus_client's multiprocess folder when gunicorn workers share their figures."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class JobQueueCollector:
    """Job figures read at each scrape (in the scraping request's app context)."""

    def describe(self):
        """The metrics this collector yields, without reading them (the registry asks when it is added)."""
        return [GaugeMetricFamily("survey_jobs", "", labels=["status"]),
                GaugeMetricFamily("survey_job_queue_depth", "", labels=["backend"])]

    def collect(self):
        """Yield the queue depth and the jobs queued and running."""
        from sqlalchemy import func, select

        from survey.config import jobs_mode
        from survey.db import db
        from survey.jobs.models import JobRecord

        counts = dict(db.session.execute(
            select(JobRecord.status, func.count()).where(JobRecord.status.in_(("queued", "running")))
            .group_by(JobRecord.status)).all())
        jobs = GaugeMetricFamily("survey_jobs", "Jobs queued and running (the jobs table)", labels=["status"])
        for status in ("queued", "running"):
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs
        depth = GaugeMetricFamily("survey_job_queue_depth",
                                  "Jobs waiting: the RQ queue's length, or the thread backlog",
                                  labels=["backend"])
        if jobs_mode(current_app.config) == "rq":
            from redis.exceptions import RedisError

            from survey.jobs.runner import queue

            try:
                depth.add_metric(["rq"], queue(current_app).count)
            except RedisError:
                current_app.logger.warning("metrics: the job queue (Redis) could not be reached")
        else:
            depth.add_metric(["thread"], counts.get("queued", 0) + counts.get("running", 0))
        yield depth


class Metrics:
    """One app's metrics: its registry, the exporter's request metrics, the submissions counter."""

    def __init__(self, app: Flask):
        from prometheus_flask_exporter import PrometheusMetrics

        # A registry per app (tests make many apps in one process; each exporter registers its metrics).
        self.registry = CollectorRegistry(auto_describe=True)
        self.exporter = PrometheusMetrics(
            app, path=None, registry=self.registry, group_by=endpoint, defaults_prefix="survey",
            excluded_paths=[f"^{PATH}$", "^/static/", "^/favicon"])
        self.submissions = Counter("survey_submissions", "Forms submitted, by mode", ["mode"],
                                   registry=self.registry)
        for mode in MODES:
            self.submissions.labels(mode=mode)  # every mode shows, at 0, from the start
        self.registry.register(JobQueueCollector())

    def exposition(self) -> bytes:
        """The text format of every metric: this process's, or all workers' in multiprocess mode."""
        folder = multiprocess_dir()
        if not folder:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
        registry.register(JobQueueCollector())
        return generate_latest(registry)


def submitted(mode: str) -> None:
    """Count one submitted form (after its commit); nothing happens while metrics are off."""
    metrics = current_app.extensions.get(EXTENSION)
    if metrics is not None and mode in MODES:
        metrics.submissions.labels(mode=mode).inc()


def _may_read() -> bool:
    """Tell whether this request may read the metrics: an allowed address, or the bearer token."""
    token = current_app.config.get("METRICS_TOKEN")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    bearer = bool(token) and scheme.lower() == "bearer"
    if bearer and hmac.compare_digest(given.strip().encode(), str(token).encode()):
        return True
    return _allowed_address()


def _allowed_address() -> bool:
    """Tell whether the request comes from an address in METRICS_ALLOW."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in allowed_networks(current_app.config))


def _skip_unusual_methods():
    """Leave requests with an unusual method unmeasured: the client would choose a label value."""
    if request.method not in MEASURED_METHODS:
        request.prom_do_not_track = True


def metrics_view():
    """The metrics in Prometheus's text format, for allowed addresses or the bearer token; 404 otherwise."""
    if not _may_read():
        abort(404)
    return Response(current_app.extensions[EXTENSION].exposition(), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Measure requests and serve /metrics when SURVEY_METRICS is on; do nothing otherwise."""
    check_config(app.config)
    if not enabled(app.config):
        return
    app.before_request(_skip_unusual_methods)
    app.extensions[EXTENSION] = Metrics(app)
    from survey.extensions import limiter

    app.add_url_rule(PATH, endpoint="metrics", view_func=limiter.exempt(metrics_view))
