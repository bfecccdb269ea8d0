"""Configuration: defaults, the instance config file, SURVEY_* environment variables, the secret."""

import json
import os
import secrets
from pathlib import Path

# Values that must never sign a production session: the usual placeholders people leave behind.
DEFAULT_SECRETS = frozenset({"", "dev", "change-me", "changeme", "secret", "development"})


class ConfigError(RuntimeError):
    """Raised when the app cannot start with the configuration it was given."""


def defaults(instance_path: str) -> dict:
    """Return the built-in settings; every one can be overridden."""
    return {
        "ENV": "development",
        "SECRET_KEY": None,
        "DATABASE_URL": "sqlite:///" + os.path.join(instance_path, "survey.db"),
        "QUESTIONNAIRE_DIRS": [str(Path(__file__).resolve().parent.parent / "questionnaires")],
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "LANGUAGES": ["vi", "en"],
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # Submissions are released into `responses` per cell only when at least this many wait
        # (survey/responses/release.py); `flask responses release --force` releases the rest.
        "RELEASE_BATCH": 5,
        # VACUUM the tables holding traces of submissions after each release (PostgreSQL).
        "RELEASE_VACUUM": True,
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


def check_release_batch(config: dict) -> int:
    """Return the release batch size k: at least 1, and at least 2 in production."""
    batch = config.get("RELEASE_BATCH")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ConfigError(f"RELEASE_BATCH must be a whole number of at least 1, not {batch!r}")
    if config.get("ENV") == "production" and batch < 2:
        raise ConfigError("production needs RELEASE_BATCH of at least 2: one per batch releases "
                          "each response in its own transaction")
    return batch


def _parse(value: str):
    """Read JSON values (lists, numbers, booleans) as Flask's from_prefixed_env does."""
    try:
        return json.loads(value)
    except ValueError:
        return value
