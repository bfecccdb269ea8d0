"""Per-account lock-out after failed logins, counted where the rate limits are (Redis in production).

After ``LOGIN_LOCKOUT_THRESHOLD`` (5) failed logins for one e-mail address, further attempts for it
are refused without checking the password for ``LOGIN_LOCKOUT_SECONDS`` (60); each further failure
after a lock doubles the wait, up to ``LOGIN_LOCKOUT_MAX_SECONDS`` (3600). Failures are forgotten
a day after the first one, or at a successful login. Unknown e-mail addresses are counted and locked
the same way, so that a lock says nothing about whether an account exists. The counters live in the
limiter's storage (``RATELIMIT_STORAGE_URI``): shared by every worker when that is Redis.
The e-mail is stored only as a SHA-256 digest.
"""

import hashlib

from flask import Flask, current_app
from limits.storage import Storage, storage_from_string

FAILURE_WINDOW = 24 * 3600


class Lockout:
    """Failed-login counters and locks, by account."""

    def __init__(self, storage: Storage, prefix: str, threshold: int, seconds: int, max_seconds: int):
        self.storage, self.prefix = storage, prefix
        self.threshold, self.seconds, self.max_seconds = threshold, seconds, max_seconds

    def _keys(self, email: str) -> tuple[str, str]:
        """Return the failure-counter key and the lock key of an account."""
        digest = hashlib.sha256(email.encode("utf-8")).hexdigest()[:40]
        return f"{self.prefix}login-failures/{digest}", f"{self.prefix}login-lock/{digest}"

    def locked_for(self, email: str) -> int:
        """Return how many seconds the account stays locked (0 when it is not)."""
        _, lock = self._keys(email)
        if self.storage.get(lock) <= 0:
            return 0
        return max(1, round(self.storage.get_expiry(lock) - _now()))

    def failed(self, email: str) -> int:
        """Count a failed login; return the seconds of the lock it starts (0 for none)."""
        failures, lock = self._keys(email)
        count = self.storage.incr(failures, FAILURE_WINDOW)
        if count < self.threshold:
            return 0
        wait = min(self.seconds * 2 ** (count - self.threshold), self.max_seconds)
        self.storage.clear(lock)
        self.storage.incr(lock, wait)
        return wait

    def succeeded(self, email: str) -> None:
        """Forget the account's failures after a successful login."""
        for key in self._keys(email):
            self.storage.clear(key)


def _now() -> float:
    """The wall-clock time the storages compare expiry times with."""
    import time

    return time.time()


def init_app(app: Flask) -> None:
    """Open the lock-out storage of an app (the same store as the rate limits)."""
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"],
                                  **app.config.get("RATELIMIT_STORAGE_OPTIONS", {}))
    app.extensions["login_lockout"] = Lockout(
        storage, app.config.get("RATELIMIT_KEY_PREFIX") or "",
        int(app.config["LOGIN_LOCKOUT_THRESHOLD"]), int(app.config["LOGIN_LOCKOUT_SECONDS"]),
        int(app.config["LOGIN_LOCKOUT_MAX_SECONDS"]))


def current() -> Lockout:
    """Return the current app's lock-out."""
    return current_app.extensions["login_lockout"]
