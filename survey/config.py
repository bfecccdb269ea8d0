"""Configuration: defaults, the instance config file, SURVEY_* environment variables, the secret."""

import json
import os
import secrets
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
        "RATELIMIT_HEADERS_ENABLED": True,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # How many reverse proxies in front of the app may set each X-Forwarded-* header
        # (werkzeug's ProxyFix). 0 trusts none: the headers are ignored, as a client can forge them.
        **{name: 0 for name in PROXY_FIX_SETTINGS},
        # An open-link answer not submitted this many hours after it started no longer holds a place
        # in the unit's quota, and its link says it has expired.
        "OPEN_LINK_DRAFT_HOURS": 2,
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


def ensure_secret_key(config: dict, instance_path: str) -> str:
    """Return the secret key, generating one into the instance folder outside production."""
    key = config.get("SECRET_KEY")
    if config.get("ENV") == "production":
        if not key or key in DEFAULT_SECRETS or len(key) < 32:
            raise ConfigError(
                "production needs SURVEY_SECRET_KEY: at least 32 random characters, not a default"
            )
        return key
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


def _parse(value: str):
    """Read JSON values (lists, numbers, booleans) as Flask's from_prefixed_env does."""
    try:
        return json.loads(value)
    except ValueError:
        return value
