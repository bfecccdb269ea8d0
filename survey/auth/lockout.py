"""Per-account lock-out after failed logins, counted where the rate limits are (Redis in production).

After ``LOGIN_LOCKOUT_THRESHOLD`` (5) failed logins for one e-mail address, further attempts for it
are refused without checking the password for ``LOGIN_LOCKOUT_SECONDS`` (60); each further failure
after a lock doubles the wait, up to ``LOGIN_LOCKOUT_MAX_SECONDS`` (3600). Failures are forgotten
a day after the first one, or at a successful login. Unknown e-mail addresses are counted and locked
the same way, so that a lock says nothing about whether an account exists. The counters live in the
limiter's storage (``RATELIMIT_STORAGE_URI``): shared by every worker when that is Redis.
The e-mail is stored only as a SHA-256 digest.

While that storage cannot be reached (Redis stopped), the counters are kept in the worker's memory,
as the rate limits are (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED): logins go on working and are still
locked after five failures, counted per worker, and the shared storage is tried again after
``RETRY_SECONDS``. Counts made during the outage are not carried over.
"""

import hashlib
import logging
import time

from flask import Flask, current_app
from limits.storage import MemoryStorage, Storage, storage_from_string

FAILURE_WINDOW = 24 * 3600
RETRY_SECONDS = 5.0  # after a failure of the shared storage, use memory this long before trying again
log = logging.getLogger(__name__)


class FallbackStorage:
    """The shared storage, or this worker's memory while the shared one fails."""

    def __init__(self, storage: Storage):
        self.shared, self.memory, self.down_until = storage, MemoryStorage(), 0.0

    def call(self, method: str, *args):
        """Call a storage method on the shared storage, or on memory while it is down."""
        if time.monotonic() >= self.down_until:
            try:
                return getattr(self.shared, method)(*args)
            except self.shared.base_exceptions as exc:
                self.down_until = time.monotonic() + RETRY_SECONDS
                log.warning("login lock-out storage unreachable, counting in memory for %.0f s: %s",
                            RETRY_SECONDS, exc.__class__.__name__)
        return getattr(self.memory, method)(*args)

    def __getattr__(self, method: str):
        """Storage methods (get, incr, clear, get_expiry) through `call`."""
        return lambda *args: self.call(method, *args)


class Lockout:
    """Failed-login counters and locks, by account."""

    def __init__(self, storage: Storage, prefix: str, threshold: int, seconds: int, max_seconds: int):
        self.storage, self.prefix = FallbackStorage(storage), prefix
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
