"""The health check: reachable database, schema at the Alembic head revision."""



from survey import create_app, migrate
from tests.conftest import TEST_SECRET


def test_healthz_ok_at_head(empty_app):
    """With the database migrated to the head revision, /healthz answers 200."""
    migrate.upgrade(empty_app)
    response = empty_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_refuses_an_empty_database(empty_app):
    """An empty database (a SQLite file replaced by an empty one) answers SELECT 1 but is not healthy."""
    response = empty_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "not_migrated"
    assert "no Alembic revision" in response.json["reason"] and "\n" not in response.json["reason"]


def test_healthz_refuses_a_schema_behind_head(empty_app):
    """A database left at an older revision answers 503 naming both revisions."""
    migrate.upgrade(empty_app, "0001")
    response = empty_app.test_client().get("/healthz")
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
