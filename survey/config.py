"""Configuration: defaults, the instance config file, SURVEY_* environment variables, the secret."""

import json
import math
import os
import secrets
from collections import Counter
from pathlib import Path

from survey import bundled

# Values that must never sign a production session: the usual placeholders people leave behind.
DEFAULT_SECRETS = frozenset({"", "dev", "change-me", "changeme", "secret", "development"})


# Settings for werkzeug's ProxyFix, with the keyword argument each one sets.
PROXY_FIX_SETTINGS = {
    "PROXY_FIX_X_FOR": "x_for",
    "PROXY_FIX_X_PROTO": "x_proto",
    "PROXY_FIX_X_HOST": "x_host",
    "PROXY_FIX_X_PORT": "x_port",
    "PROXY_FIX_X_PREFIX": "x_prefix",
}


class ConfigError(RuntimeError):
    """Raised when the app cannot start with the configuration it was given."""


def defaults(instance_path: str) -> dict:
    """Return the built-in settings; every one can be overridden."""
    return {
        "ENV": "development",
        "SECRET_KEY": None,
        "DATABASE_URL": "sqlite:///" + os.path.join(instance_path, "survey.db"),
        "QUESTIONNAIRE_DIRS": [str(bundled.QUESTIONNAIRES)],
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "LANGUAGES": ["vi", "en"],
        "WTF_CSRF_TIME_LIMIT": None,
        # Over HTTPS a form post must carry a same-origin Referer (pages send Referrer-Policy: same-origin).
        "WTF_CSRF_SSL_STRICT": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_SINGLE_PROCESS": False,  # production accepts memory:// only when one process serves
        "LOGIN_LOCKOUT_THRESHOLD": 5,  # failed logins of one account before it is locked
        "LOGIN_LOCKOUT_SECONDS": 60,  # the first lock; each further failure doubles it
        "LOGIN_LOCKOUT_MAX_SECONDS": 3600,
        "RATELIMIT_HEADERS_ENABLED": True,
        # While the limit storage (Redis) is unreachable, count in each worker's memory instead of
        # answering 500 (survey/auth/lockout.py does the same for login lock-outs); Redis is tried
        # again every few seconds. docs/deploy.md, "Redis".
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # How many reverse proxies in front of the app may set each X-Forwarded-* header
        # (werkzeug's ProxyFix). 0 trusts none: the headers are ignored, as a client can forge them.
        **{name: 0 for name in PROXY_FIX_SETTINGS},
        # An open-link answer not submitted this many hours after it started no longer holds a place
        # in the unit's quota, and its link says it has expired.
        "OPEN_LINK_DRAFT_HOURS": 2,
        # Submissions are released into `responses` per cell only when at least this many wait
        # (survey/responses/release.py); `flask responses release --force` releases the rest.
        "RELEASE_BATCH": 5,
        # VACUUM the tables holding traces of submissions after each release (PostgreSQL): in a
        # thread of the process right after the release ("background"), in the request (True) or
        # never (False); survey/responses/release.py, vacuum_after_release.
        "RELEASE_VACUUM": "background",
        # Long work (survey/jobs): with a Redis URL, jobs go to an RQ queue that `flask jobs worker`
        # runs; without one, to a thread of the web process. JOBS_MODE forces "rq", "thread" or "sync"
        # (run right after the commit, in the request: what tests use).
        "JOBS_REDIS_URL": None,
        "JOBS_MODE": None,
        "JOBS_QUEUE": "survey",
        "JOBS_TIMEOUT": 3600,  # seconds an RQ worker lets one job run
        # A sampling-frame file larger than this is checked and written by a job, with progress.
        "FRAME_JOB_BYTES": 1024 * 1024,
        # The public address of the site (https://khaosat.example.gov.vn), for links in e-mails,
        # letters, the links CSV and posters; in a request without it, the address the request came to.
        "PUBLIC_URL": None,
        # E-mail: "smtp" through MAIL_SERVER, or "console" (instance/outbox/*.eml and the log), the
        # default when no server is set.
        "MAIL_BACKEND": None,
        "MAIL_SERVER": None,
        "MAIL_PORT": 587,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_USE_TLS": True,  # STARTTLS
        "MAIL_SENDER": "khaosat@localhost",
        "MAIL_TIMEOUT": 30,
        # Reminders: at most this many per invitation, at least this many days after the previous e-mail.
        "REMINDER_MAX": 3,
        "REMINDER_INTERVAL_DAYS": 3,
        # Officials who rate units of the other tier (commune leaders rate provincial agencies) get this
        # many of them each, in rotation so that every unit is rated about as often.
        "RATED_UNITS_PER_PERSON": 3,
        # Requests to the JSON API (/api/v1) from one address whose bearer token is missing or wrong:
        # past this rate every API request from the address answers 429 until the window passes.
        "API_AUTH_FAILURE_LIMIT": "20 per 10 minutes",
        # The load benchmarks' trivial route GET /_bench/bare (survey/health.py); never in production.
        "BENCH_ENDPOINT": False,
        # Prometheus metrics at /metrics (survey/metrics.py): off unless METRICS is set; readable from
        # METRICS_ALLOW (addresses or networks; loopback by default, none in production) or with
        # `Authorization: Bearer <METRICS_TOKEN>`.
        "METRICS": False,
        "METRICS_TOKEN": None,
        "METRICS_ALLOW": None,
    }


def from_environment(environ=None) -> dict:
    """Collect SURVEY_* variables and the conventional DATABASE_URL."""
    environ = os.environ if environ is None else environ
    found = {}
    if environ.get("DATABASE_URL"):
        found["DATABASE_URL"] = environ["DATABASE_URL"]
    for key, value in environ.items():
        if key.startswith("SURVEY_") and value != "":
            found[key.removeprefix("SURVEY_")] = _parse(value)
    return found


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgresql:// URLs (as Heroku-style hosts give them)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


MIN_SECRET_LENGTH = 32
# A random 32-character hex secret has ~14 distinct characters and ~3.6 bits per character (URL-safe
# base64: ~24 and ~4.5); these floors refuse "aaaa…", "abab…" or "1234…1234" and let any generated
# secret through.
MIN_SECRET_DISTINCT = 8
MIN_SECRET_BITS = 80


def secret_problem(value, name: str) -> str | None:
    """Return why a value cannot key production secrets (None when it can).

    A secret must be text (an all-digit SURVEY_* value is parsed as JSON into a number), not a
    known placeholder, at least 32 characters, with at least 8 distinct characters and an
    estimated 80 bits (length x the Shannon entropy of its characters), and not one short
    pattern repeated.
    """
    if value is None or value == "":
        return f"production needs {name}"
    if not isinstance(value, str):
        return (f"{name} must be text, not a {type(value).__name__}: an all-digit value is read as a "
                "number; use e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'")
    if value.strip().lower() in DEFAULT_SECRETS:
        return f"{name} is a default placeholder"
    if len(value) < MIN_SECRET_LENGTH:
        return f"{name} must have at least {MIN_SECRET_LENGTH} characters"
    counts = Counter(value)
    bits = len(value) * -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    repeated = any(value == (value[:period] * len(value))[:len(value)]
                   for period in range(1, len(value) // 2 + 1))
    if len(counts) < MIN_SECRET_DISTINCT or bits < MIN_SECRET_BITS or repeated:
        return f"{name} is not random enough (too few distinct characters)"
    return None


def ensure_secret_key(config: dict, instance_path: str) -> str:
    """Return the secret key, generating one into the instance folder outside production."""
    key = config.get("SECRET_KEY")
    if config.get("ENV") == "production":
        problem = secret_problem(key, "SURVEY_SECRET_KEY")
        if problem:
            raise ConfigError(f"{problem}: at least {MIN_SECRET_LENGTH} random characters, not a default")
        return key
    if key is not None and not isinstance(key, str):
        raise ConfigError(secret_problem(key, "SURVEY_SECRET_KEY"))
    if key:
        return key
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Create with owner-only permissions: the key signs sessions and hashes tokens.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def proxy_fix_counts(config) -> dict:
    """Return ProxyFix's keyword arguments: how many proxies to trust for each X-Forwarded-* header."""
    counts = {}
    for name, keyword in PROXY_FIX_SETTINGS.items():
        value = config.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{name} must be a whole number of trusted proxies (0 or more), not {value!r}")
        counts[keyword] = value
    return counts


def check_production(config: dict) -> None:
    """Refuse production settings that would make the app unsafe: a weak token key, per-worker limits."""
    if config.get("ENV") != "production":
        return
    if "TOKEN_KEY" in config:
        problem = secret_problem(config["TOKEN_KEY"], "SURVEY_TOKEN_KEY")
        if problem:
            raise ConfigError(f"{problem}: set a random value of at least {MIN_SECRET_LENGTH} characters "
                              "or leave it unset to use the secret key")
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "")
    if storage.startswith("memory://") and not config.get("RATELIMIT_SINGLE_PROCESS"):
        raise ConfigError("production needs SURVEY_RATELIMIT_STORAGE_URI=redis://...: with memory:// "
                          "every worker counts logins and lock-outs on its own (set "
                          "SURVEY_RATELIMIT_SINGLE_PROCESS=true when only one process serves)")


JOBS_MODES = ("rq", "thread", "sync")


def jobs_mode(config) -> str:
    """Return how jobs run: JOBS_MODE when set, else "rq" with a Redis URL, "sync" in tests, else "thread"."""
    mode = config.get("JOBS_MODE")
    if mode:
        if mode not in JOBS_MODES:
            raise ConfigError(f"JOBS_MODE must be one of {', '.join(JOBS_MODES)}, not {mode!r}")
        if mode == "rq" and not config.get("JOBS_REDIS_URL"):
            raise ConfigError("JOBS_MODE=rq needs SURVEY_JOBS_REDIS_URL=redis://...")
        return mode
    if config.get("JOBS_REDIS_URL"):
        return "rq"
    return "sync" if config.get("TESTING") else "thread"


def check_release_batch(config: dict) -> int:
    """Return the release batch size k: at least 1, and at least 2 in production."""
    batch = config.get("RELEASE_BATCH")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"RELEASE_BATCH must be a whole number of at least 1, not {batch!r}")
    if config.get("ENV") == "production" and batch < 2:
        raise ConfigError("production needs RELEASE_BATCH of at least 2: one per batch releases "
                          "each response in its own transaction")
    if config.get("RELEASE_VACUUM") not in RELEASE_VACUUM_MODES:
        raise ConfigError(f"RELEASE_VACUUM must be \"background\", true or false, not "
                          f"{config.get('RELEASE_VACUUM')!r}")
    return batch


RELEASE_VACUUM_MODES = ("background", True, False)


def _parse(value: str):
    """Read JSON values (lists, numbers, booleans) as Flask's from_prefixed_env does."""
    try:
        return json.loads(value)
    except ValueError:
        return value
