"""Logs without tokens: request paths are masked before any log line is written.

An invitation token in a log line is a key to that person's invitation: with the instance's key it
hashes to the invitation and its frame entry, and whoever reads the log can open an unfinished
invitation and submit it. So every path segment after `/r/`, every token-like segment (16 or more
URL-safe characters: tokens, draft ids) and every query string is replaced by `***` in what Flask,
Werkzeug's development server and gunicorn log. Gunicorn's access log keeps only the time (to the
second), method, masked path, status and size: no address, no user agent, no referrer, no duration.
"""

import logging
import re

MASK = "***"
_AFTER_R = re.compile(r"(/r/)[^/?#\s\"]+")
_TOKEN_LIKE = re.compile(r"(?<=/)[A-Za-z0-9_-]{16,}(?=[/?#\s\"]|$)")
_QUERY = re.compile(r"\?[^\s\"]*")

# Gunicorn's access-log atoms that are kept (masked); every other atom logs as "-".
KEPT_ATOMS = ("t", "m", "r", "U", "q", "s", "b", "B", "H", "p")


def mask(text: str) -> str:
    """Return text with tokens, token-like path segments and query strings replaced by ***."""
    text = _AFTER_R.sub(r"\1" + MASK, text)
    text = _TOKEN_LIKE.sub(MASK, text)
    return _QUERY.sub("?" + MASK, text)


class MaskingFilter(logging.Filter):
    """A logging filter that masks tokens in the formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message by its masked text; never drop a record."""
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install(*loggers: logging.Logger) -> None:
    """Attach one MaskingFilter to each logger (at most once)."""
    for logger in loggers:
        if not any(isinstance(f, MaskingFilter) for f in logger.filters):
            logger.addFilter(MaskingFilter())


def mask_app_logs(app) -> None:
    """Mask tokens in the Flask app's log ("Exception on /r/<token>/...") and the dev server's."""
    install(app.logger, logging.getLogger("werkzeug"))


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover - gunicorn is a dependency, but the app runs without it
    _GunicornLogger = None

if _GunicornLogger is not None:

    class GunicornLogger(_GunicornLogger):
        """Gunicorn's logger with masked paths and no address, user agent, referrer or duration."""

        def setup(self, cfg) -> None:
            """Set up gunicorn's loggers, then mask whatever they write (errors name the URI too)."""
            super().setup(cfg)
            install(self.error_log, self.access_log)

        def atoms(self, resp, req, environ, request_time) -> dict:
            """Return only the kept atoms, masked; headers and environ atoms are left out."""
            atoms = super().atoms(resp, req, environ, request_time)
            return {key: mask(value) if isinstance(value, str) else value
                    for key, value in atoms.items() if key in KEPT_ATOMS}
