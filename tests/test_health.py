"""The health check: reachable database, schema at the Alembic head revision."""

import uuid

import pytest
from sqlalchemy import create_engine, text

from survey import create_app, migrate
from survey.db import Database
from tests.conftest import TEST_SECRET, on_postgresql, postgres_admin_url


@pytest.fixture
def fresh_url(tmp_path):
    """Yield the URL of a brand-new empty database on the suite's backend."""
    if not on_postgresql():
        yield f"sqlite:///{tmp_path / 'health.db'}"
        return
    name = f"health_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def fresh_app(fresh_url, tmp_path, monkeypatch):
    """An app on the empty database (nothing migrated yet)."""
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SECRET_KEY": TEST_SECRET, "DATABASE_URL": fresh_url})
    yield app
    Database.engine(app).dispose()


def test_healthz_ok_at_head(fresh_app):
    """With the database migrated to the head revision, /healthz answers 200."""
    migrate.upgrade(fresh_app)
    response = fresh_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_refuses_an_empty_database(fresh_app):
    """An empty database (a SQLite file replaced by an empty one) answers SELECT 1 but is not healthy."""
    response = fresh_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "not_migrated"
    assert "no Alembic revision" in response.json["reason"] and "\n" not in response.json["reason"]


def test_healthz_refuses_a_schema_behind_head(fresh_app):
    """A database left at an older revision answers 503 naming both revisions."""
    migrate.upgrade(fresh_app, "0001")
    response = fresh_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "not_migrated"
    assert "schema at revision 0001, expected" in response.json["reason"]


def test_healthz_unavailable(tmp_path, monkeypatch):
    """With the database unreachable, /healthz answers 503 without naming the path."""
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SECRET_KEY": TEST_SECRET,
                      "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/x.db"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
    assert str(tmp_path) not in response.json["reason"]


def test_security_headers(client):
    """Every page keeps referrers on the site, forbids framing and carries a script-tight CSP."""
    headers = client.get("/healthz").headers
    assert headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
