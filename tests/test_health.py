"""The health check."""

from survey import create_app
from tests.conftest import TEST_SECRET


def test_healthz_ok(client):
    """With the database reachable, /healthz answers 200."""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_unavailable(tmp_path, monkeypatch):
    """With the database unreachable, /healthz answers 503."""
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SECRET_KEY": TEST_SECRET,
                      "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/x.db"})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_security_headers(client):
    """Every page keeps referrers on the site, forbids framing and carries a script-tight CSP."""
    headers = client.get("/healthz").headers
    assert headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
