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
