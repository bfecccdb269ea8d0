"""Sending e-mail: SMTP (STARTTLS when configured) or, for development, an outbox folder.

`MAIL_BACKEND` chooses: "smtp" sends through `MAIL_SERVER:MAIL_PORT` (login when a user name is set,
STARTTLS when `MAIL_USE_TLS`), "console" writes each message to `instance/outbox/*.eml` and one log
line (the file and the subject, never the address or the link). Without a backend set, "smtp" when a
server is configured and "console" otherwise, so that `make run` never needs a mail server.

A `Mailer` is opened once for a batch (one SMTP connection for thousands of messages).
"""

import logging
import smtplib
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from pathlib import Path

from survey.config import ConfigError

log = logging.getLogger(__name__)
BACKENDS = ("smtp", "console")


def backend(config) -> str:
    """Return the backend the configuration chooses; production never falls back to the outbox."""
    if not config.get("MAIL_BACKEND") and not config.get("MAIL_SERVER") and config.get("ENV") == "production":
        raise ConfigError("production sends e-mail only through SURVEY_MAIL_SERVER (or set "
                          "SURVEY_MAIL_BACKEND=console on purpose)")
    chosen = config.get("MAIL_BACKEND") or ("smtp" if config.get("MAIL_SERVER") else "console")
    if chosen not in BACKENDS:
        raise ConfigError(f"MAIL_BACKEND must be one of {', '.join(BACKENDS)}, not {chosen!r}")
    if chosen == "smtp" and not config.get("MAIL_SERVER"):
        raise ConfigError("MAIL_BACKEND=smtp needs SURVEY_MAIL_SERVER")
    return chosen


def message(config, to: str, subject: str, text: str, html: str | None = None,
            headers: dict[str, str] | None = None) -> EmailMessage:
    """Build a message from the configured sender: plain text, with an HTML alternative."""
    msg = EmailMessage()
    msg["From"] = config.get("MAIL_SENDER") or "khaosat@localhost"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = datetime.now(UTC)
    sender_domain = str(msg["From"]).rsplit("@", 1)[-1].strip(">") or "localhost"
    msg["Message-ID"] = make_msgid(domain=sender_domain)
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def named(name: str | None, address: str) -> str:
    """Return an address with a display name (encoded as RFC 2047 when not ASCII)."""
    return formataddr((name, address)) if name else address


class Mailer:
    """Sends messages through the configured backend; use as a context manager for a batch."""

    def __init__(self, config, instance_path: str):
        self.config = config
        self.kind = backend(config)
        self.outbox = Path(instance_path) / "outbox"
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "Mailer":
        if self.kind == "smtp":
            c = self.config
            self._smtp = smtplib.SMTP(c["MAIL_SERVER"], int(c.get("MAIL_PORT") or 25),
                                      timeout=c.get("MAIL_TIMEOUT") or 30)
            if c.get("MAIL_USE_TLS"):
                self._smtp.starttls()
            if c.get("MAIL_USERNAME"):
                self._smtp.login(c["MAIL_USERNAME"], c.get("MAIL_PASSWORD") or "")
        else:
            self.outbox.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except smtplib.SMTPException:
                self._smtp.close()
            self._smtp = None

    def send(self, msg: EmailMessage) -> None:
        """Send one message (raises smtplib's errors when the server refuses it)."""
        if self.kind == "smtp":
            if self._smtp is None:
                raise RuntimeError("use the Mailer as a context manager")
            self._smtp.send_message(msg)
            return
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.outbox / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
        path.write_bytes(bytes(msg))
        log.info("mail written to %s: %s", path, msg["Subject"])


def check_config(config) -> None:
    """Refuse a mail backend that is set but unusable when the app starts (a missing one at use)."""
    if config.get("MAIL_BACKEND"):
        backend(config)
