"""Fixtures: an app with a fresh database per test (SQLite, or PostgreSQL when DATABASE_URL is set)."""

import os
import uuid
from contextlib import contextmanager

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from survey import create_app, migrate
from survey.db import Database, db
from survey.models import Base

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def database_url(tmp_path) -> str:
    """Return the database the suite runs on: PostgreSQL from the environment, else a new SQLite file."""
    url = os.environ.get("SURVEY_DATABASE_URL") or os.environ.get("DATABASE_URL")
    return url or f"sqlite:///{tmp_path / 'test.db'}"


def on_postgresql() -> bool:
    """Tell whether the suite runs against PostgreSQL."""
    url = os.environ.get("SURVEY_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
    return url.startswith("postgres")


class RequestContextClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    Without this, requests would share the test's app context, and with it `g`: the database
    session, Flask-WTF's CSRF token and Flask-Babel's locale would leak from one request (or one
    simulated browser) to the next.
    """

    def open(self, *args, **kwargs):
        """Run the request in a fresh app context."""
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(tmp_path, monkeypatch):
    """Create an app on an empty schema; drop it afterwards."""
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url(tmp_path),
        "RATELIMIT_STORAGE_URI": "memory://",
        # Release every submission right after its commit, so that tests of answering can look at
        # `responses`; tests/test_anonymity.py sets a real batch size.
        "RELEASE_BATCH": 1,
        # Vacuum in the request, so that a test sees the database as the release left it.
        "RELEASE_VACUUM": True,
    })
    app.test_client_class = RequestContextClient
    create_schema(app)
    with app.app_context():
        yield app
        db.session.rollback()
        db.session.close()
    drop_schema(app)
    Database.engine(app).dispose()


def create_schema(app) -> None:
    """Create the tables from the models, marked as the newest revision."""
    engine = Database.engine(app)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    stamp_head(app)


def drop_schema(app) -> None:
    """Drop the tables and the revision mark."""
    engine = Database.engine(app)
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def stamp_head(app) -> None:
    """Record the tables made from the models as the newest revision (the drift test proves they are)."""
    from alembic import command

    with Database.engine(app).begin() as connection:
        command.stamp(migrate.alembic_config(app, connection), "head")


@pytest.fixture
def configured(app):
    """Make more apps on the test database with extra settings, as a deployment would configure them.

    Note that the rate limiter is one object: the app made last holds its storage.
    """
    made = []

    def make(**config):
        other = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET,
                            "DATABASE_URL": app.config["DATABASE_URL"],
                            "RATELIMIT_STORAGE_URI": "memory://"} | config)
        other.test_client_class = RequestContextClient
        made.append(other)
        return other

    yield make
    for other in made:
        Database.engine(other).dispose()


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner of the app."""
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    """The app's database session."""
    return db.session


def postgres_admin_url() -> str:
    """Return a URL to the server's maintenance database (for creating throwaway databases)."""
    url = make_url(os.environ.get("SURVEY_DATABASE_URL") or os.environ["DATABASE_URL"])
    return url.set(database="postgres").render_as_string(hide_password=False)


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An app on an empty database (setup migrates it itself)."""
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url(tmp_path),
                      "RATELIMIT_STORAGE_URI": "memory://"})
    engine = Database.engine(app)
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    yield app
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()


def redis_reachable(url: str) -> bool:
    """Tell whether a Redis server answers at the URL."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.exceptions.ConnectionError:
        return False


@contextmanager
def two_workers_on(url: str, tmp_path, monkeypatch):
    """Two app instances (as two gunicorn workers) sharing one Redis store; its keys removed after.

    Skipped without Redis, except in CI (or with REQUIRE_BROWSER=1), where Redis is required.
    """
    if not redis_reachable(url):
        if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"Redis is required in CI and is not reachable at {url}")
        pytest.skip(f"Redis is not running at {url}")
    import redis

    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "instance"))
    config = {"SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url(tmp_path),
              "RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex}
    apps = create_app(config), create_app(config)
    create_schema(apps[0])
    try:
        yield apps
    finally:
        drop_schema(apps[0])
        for app in apps:
            Database.engine(app).dispose()
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"*{config['RATELIMIT_KEY_PREFIX']}*"):
            client.delete(key)
        client.close()


@pytest.fixture
def empty_database_url(tmp_path):
    """Yield the URL of a brand-new empty database on the suite's backend."""
    if not on_postgresql():
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    name = f"migrate_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def empty_app(empty_database_url, tmp_path, monkeypatch):
    """An app on the empty database."""
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SECRET_KEY": TEST_SECRET, "DATABASE_URL": empty_database_url})
    yield app
    Database.engine(app).dispose()
