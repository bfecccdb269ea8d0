"""Request ids and structured (JSON) logs.

Every request gets an id: the `X-Request-Id` header when it is 1 to 64 characters of
[A-Za-z0-9._-] (a load balancer's id, so that its log and ours can be joined), else a new random
one; the response returns it in `X-Request-Id`.

`SURVEY_LOG_FORMAT=json` (the default in production; `text` elsewhere) writes the app's log and
gunicorn's error log as one JSON object per line with `time`, `level`, `logger`, `message`, and for
lines written during a request `request_id`, `method` and `path`; the app then writes one line per
request (logger `survey.request`, message `request`) that adds `status` and `duration_ms` (except
a load balancer's successful `/healthz` probes, every few seconds from each balancer), and
gunicorn's own access log is switched off (survey/gunicorn_config.py) so that a request is logged
once. Paths never carry a query string, and every message goes through survey/logmask.py's mask, so
no token reaches the log. Times are to the second, as in gunicorn's text access log; no address,
user agent or referrer is logged.
"""

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, current_app, g, has_request_context, request
from flask.logging import default_handler

from survey import logmask
from survey.config import ConfigError

HEADER = "X-Request-Id"
VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
FORMATS = ("text", "json")
REQUEST_LOGGER = "survey.request"


def log_format(config) -> str:
    """Return "json" or "text": LOG_FORMAT when set, else json in production and text elsewhere."""
    value = config.get("LOG_FORMAT") or ("json" if config.get("ENV") == "production" else "text")
    if value not in FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {value!r}")
    return value


def request_id() -> str | None:
    """Return the current request's id (None outside a request)."""
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the request's id, method and path when there is a request."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a line of JSON (an exception's traceback goes into `exception`)."""
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds"),
                "level": record.levelname, "logger": record.name,
                "message": logmask.mask(record.getMessage())}
        if has_request_context():
            line.update(request_id=g.get("request_id"), method=request.method,
                        path=logmask.mask(request.path))
        for name in ("request_id", "method", "path", "status", "duration_ms"):
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = logmask.mask(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def json_handler(stream=None) -> logging.Handler:
    """Return a handler writing JSON lines to the stream (stderr by default), masking every message."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(logmask.MaskingFilter())
    return handler


def init_app(app: Flask) -> None:
    """Give every request an id, and with LOG_FORMAT=json log the app as JSON, one line per request."""
    fmt = log_format(app.config)
    app.before_request(_start)
    app.after_request(_finish)
    if fmt == "json":
        app.logger.removeHandler(default_handler)
        if not any(isinstance(h.formatter, JsonFormatter) for h in app.logger.handlers):
            app.logger.addHandler(json_handler())
        app.logger.setLevel(logging.INFO)
        app.extensions["survey.log_requests"] = True


def _start() -> None:
    """Take the request id from the header when it is well-formed, else make one; start the clock."""
    given = request.headers.get(HEADER, "")
    g.request_id = given if VALID_ID.match(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    """Return the id in the response; with JSON logs, write the request's line."""
    rid = g.get("request_id")
    if rid is None:  # a request refused before _start ran (another before_request answered)
        _start()
        rid = g.request_id
    response.headers[HEADER] = rid
    healthy_probe = request.endpoint == "health.healthz" and response.status_code == 200
    if current_app.extensions.get("survey.log_requests") and not healthy_probe:
        duration = (time.perf_counter() - g.request_started) * 1000
        logging.getLogger(REQUEST_LOGGER).info("request", extra={
            "status": response.status_code, "duration_ms": round(duration, 1)})
    return response

