"""Gunicorn settings that keep invitation tokens and respondents' devices out of the logs.

Use: `gunicorn -c python:survey.gunicorn_config --bind 127.0.0.1:8000 --workers 2 wsgi:app`.
The access log (stdout) has the time to the second, the method, the path with tokens masked
(`/r/***/u/12/p/2`), the status and the size; see survey/logmask.py. A reverse proxy in front
(nginx, Caddy) logs full URLs by default and must be given an equivalent format.

With SURVEY_LOG_FORMAT=json (the default when SURVEY_ENV=production) the error log is written as
JSON lines and the access log is off: the app writes one JSON line per request with its id, status
and duration instead (survey/requestlog.py). Both settings are read from the environment here.
"""

from survey import requestlog
from survey.config import from_environment
from survey.logmask import GunicornLogger


class JsonGunicornLogger(GunicornLogger):
    """Gunicorn's masked logger writing JSON lines (one object per line, as the app's)."""

    def setup(self, cfg) -> None:
        """Set gunicorn's loggers up, then format them as JSON."""
        super().setup(cfg)
        for handler in self.error_log.handlers + self.access_log.handlers:
            handler.setFormatter(requestlog.JsonFormatter())


JSON_LOGS = requestlog.log_format(from_environment()) == "json"
logger_class = JsonGunicornLogger if JSON_LOGS else GunicornLogger
accesslog = None if JSON_LOGS else "-"
access_log_format = '%(t)s "%(r)s" %(s)s %(b)s'


def child_exit(server, worker) -> None:
    """With metrics in multiprocess mode (PROMETHEUS_MULTIPROC_DIR), drop a dead worker's live gauges."""
    from survey.metrics import multiprocess_dir

    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
