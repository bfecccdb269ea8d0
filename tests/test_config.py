"""Configuration: environment, instance config file, the secret key."""

import subprocess
import sys
from pathlib import Path

import pytest

from survey import create_app
from survey.config import ConfigError, normalise_database_url

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """Point the app at an empty instance folder with a SQLite database in it."""
    folder = tmp_path / "instance"
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(folder))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SURVEY_DATABASE_URL", raising=False)
    monkeypatch.delenv("SURVEY_SECRET_KEY", raising=False)
    return folder


def test_secret_generated_once_into_instance(instance):
    """Without a configured secret, one is generated into instance/ and reused."""
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (instance / "secret_key").read_text().strip() == first
    assert (instance / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("secret", [None, "dev", "change-me", "short"])
def test_production_refuses_missing_or_default_secret(instance, monkeypatch, secret):
    """Production mode does not start with a missing, default or short secret."""
    monkeypatch.setenv("SURVEY_ENV", "production")
    if secret:
        monkeypatch.setenv("SURVEY_SECRET_KEY", secret)
    with pytest.raises(ConfigError):
        create_app()


def test_production_with_real_secret_sets_secure_cookies(instance, monkeypatch):
    """Production mode starts with a real secret and marks cookies Secure."""
    monkeypatch.setenv("SURVEY_ENV", "production")
    monkeypatch.setenv("SURVEY_SECRET_KEY", "oV3kq9Zt-Lw2pX7yBn4RcH8sJd1Ue6Gm")
    monkeypatch.setenv("SURVEY_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/6")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert not (instance / "secret_key").exists()


def test_environment_and_instance_file(instance, monkeypatch):
    """SURVEY_* variables override the instance config file, which overrides defaults."""
    instance.mkdir()
    (instance / "config.py").write_text("LANGUAGES = ['vi']\nRATELIMIT_STORAGE_URI = 'memory://x'\n")
    monkeypatch.setenv("SURVEY_RATELIMIT_STORAGE_URI", "memory://")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    app = create_app()
    assert app.config["LANGUAGES"] == ["vi"]
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert app.config["DATABASE_URL"] == "postgresql+psycopg://u@h/db"


def test_survey_database_url_wins_over_database_url(instance, monkeypatch):
    """SURVEY_DATABASE_URL takes precedence over DATABASE_URL."""
    monkeypatch.setenv("DATABASE_URL", "sqlite:///a.db")
    monkeypatch.setenv("SURVEY_DATABASE_URL", "sqlite:///b.db")
    assert create_app().config["DATABASE_URL"] == "sqlite:///b.db"


def test_postgres_urls_use_psycopg():
    """Both postgres:// spellings get the psycopg 3 driver; others are left alone."""
    assert normalise_database_url("postgres://h/d") == "postgresql+psycopg://h/d"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_importing_creates_nothing(tmp_path):
    """Importing the packages creates no app, no instance folder and no database."""
    folder = tmp_path / "instance"
    code = (
        "import survey, survey.models, survey.cli, survey.extensions, survey.demo, flask;"
        "from survey.db import db;"
        "assert flask.current_app.__class__.__name__ == 'LocalProxy';"
        "assert not flask.has_app_context()"
    )
    env = {"SURVEY_INSTANCE_PATH": str(folder), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    assert not folder.exists()


GOOD_SECRET = "oV3kq9Zt-Lw2pX7yBn4RcH8sJd1Ue6Gm"


@pytest.fixture
def production(instance, monkeypatch):
    """Production mode with a shared (Redis) limiter store and a real secret, each test changing one."""
    monkeypatch.setenv("SURVEY_ENV", "production")
    monkeypatch.setenv("SURVEY_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("SURVEY_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/6")
    monkeypatch.delenv("SURVEY_TOKEN_KEY", raising=False)
    return monkeypatch


@pytest.mark.parametrize("secret", ["a" * 40, "ab" * 20, "0123456789" * 4, "Dev"])
def test_production_refuses_low_entropy_secret(production, secret):
    """Long but guessable secrets (one character, a short pattern repeated) are refused."""
    production.setenv("SURVEY_SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SURVEY_SECRET_KEY"):
        create_app()


def test_all_digit_secret_is_a_clear_error(production):
    """An all-digit secret, which the JSON parsing of SURVEY_* turns into a number, is a ConfigError."""
    production.setenv("SURVEY_SECRET_KEY", "1234567890" * 4)
    with pytest.raises(ConfigError, match="must be text"):
        create_app()
    production.setenv("SURVEY_ENV", "development")
    with pytest.raises(ConfigError, match="must be text"):
        create_app()


@pytest.mark.parametrize("token_key", ["dev", "short-token-key", "k" * 48, "12345"])
def test_production_refuses_default_or_weak_token_key(production, token_key):
    """SURVEY_TOKEN_KEY=dev (or short, repetitive, a number) stops a production start."""
    production.setenv("SURVEY_TOKEN_KEY", token_key)
    with pytest.raises(ConfigError, match="SURVEY_TOKEN_KEY"):
        create_app()


def test_production_accepts_random_keys(production):
    """Generated secrets of either usual shape start; the token key defaults to the secret key."""
    import secrets

    production.setenv("SURVEY_SECRET_KEY", secrets.token_hex(16))
    production.setenv("SURVEY_TOKEN_KEY", secrets.token_urlsafe(32))
    assert create_app().config["ENV"] == "production"
    production.delenv("SURVEY_TOKEN_KEY")
    app = create_app()
    assert app.config["TOKEN_KEY"] == app.config["SECRET_KEY"]


def test_production_refuses_per_worker_limits(production):
    """memory:// counts logins per worker: production needs Redis, unless one process serves."""
    production.setenv("SURVEY_RATELIMIT_STORAGE_URI", "memory://")
    with pytest.raises(ConfigError, match="redis"):
        create_app()
    production.setenv("SURVEY_RATELIMIT_SINGLE_PROCESS", "true")
    assert create_app().config["RATELIMIT_SINGLE_PROCESS"] is True
