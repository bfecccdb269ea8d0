"""Request ids (X-Request-Id) and JSON logs: one object per line, request fields, never a token."""

import io
import json
import logging
import urllib.request

import pytest

from survey.config import ConfigError
from survey.requestlog import JsonFormatter, log_format
from tests.conftest import TEST_SECRET
from tests.factories import make_invitation
from tests.test_anonymity import gunicorn_serving

FIELDS = {"time", "level", "logger", "message", "request_id", "method", "path", "status", "duration_ms"}


def test_request_id_is_taken_when_valid_and_made_otherwise(client):
    """A well-formed X-Request-Id comes back as it is; a missing or malformed one is replaced."""
    given = client.get("/healthz", headers={"X-Request-Id": "lb-42.a_B"})
    assert given.headers["X-Request-Id"] == "lb-42.a_B"
    made = {client.get("/healthz").headers["X-Request-Id"] for _ in range(3)}
    assert len(made) == 3 and all(len(value) == 32 for value in made)
    for bad in ("x" * 65, "has space", "<script>", "a/b", "ü"):
        returned = client.get("/healthz", headers={"X-Request-Id": bad}).headers["X-Request-Id"]
        assert returned != bad and len(returned) == 32
    assert client.get("/no-such-page", headers={"X-Request-Id": "r1"}).headers["X-Request-Id"] == "r1"


def test_log_format_defaults_and_refuses_unknown():
    """JSON in production, text elsewhere, unless LOG_FORMAT says; another value is refused."""
    assert log_format({"ENV": "production"}) == "json"
    assert log_format({"ENV": "development"}) == "text"
    assert log_format({"ENV": "production", "LOG_FORMAT": "text"}) == "text"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        log_format({"LOG_FORMAT": "xml"})


def json_lines(text: str) -> list[dict]:
    """Parse every line as one JSON object (failing on any other line)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_logs_of_the_app(configured, session):
    """One line per request with every field, masked paths without query; app records get the id."""
    _, token = make_invitation(session, TEST_SECRET)
    session.commit()
    app = configured(LOG_FORMAT="json")
    stream = io.StringIO()
    handlers = [h for h in app.logger.handlers if isinstance(h.formatter, JsonFormatter)]
    assert len(handlers) == 1
    handlers[0].setStream(stream)
    client = app.test_client()
    client.get(f"/r/{token}?lang=en", headers={"X-Request-Id": "lb-7"})
    client.get("/healthz")
    with app.test_request_context(f"/r/{token}/u/1/p/2", headers={"X-Request-Id": "lb-8"}):
        app.preprocess_request()
        app.logger.error("Exception on /r/%s/u/1/p/2 [GET]", token)
    text = stream.getvalue()
    assert token not in text and "lang=en" not in text
    lines = json_lines(text)
    requests = [line for line in lines if line["logger"] == "survey.request"]
    assert len(requests) == 1  # the healthy /healthz probe is not logged
    first = requests[0]
    assert set(first) == FIELDS
    assert (first["request_id"], first["method"], first["path"]) == ("lb-7", "GET", "/r/***")
    assert first["level"] == "INFO" and first["message"] == "request" and first["time"].endswith("+00:00")
    assert isinstance(first["status"], int) and 0 <= first["duration_ms"] < 10_000
    error = next(line for line in lines if line["level"] == "ERROR")
    assert error["request_id"] == "lb-8" and error["path"] == "/r/***/u/1/p/2"
    assert error["message"] == "Exception on /r/***/u/1/p/2 [GET]"


def test_text_logs_write_no_request_lines(client, caplog):
    """In development (text) the app writes no per-request lines: gunicorn's access log does that."""
    caplog.set_level(logging.INFO)
    client.get("/healthz")
    assert not [r for r in caplog.records if r.name == "survey.request"]


def test_gunicorn_writes_json_lines(app, session, tmp_path):
    """Gunicorn with SURVEY_LOG_FORMAT=json: every line of its output is JSON; no access-log duplicate."""
    _, token = make_invitation(session, TEST_SECRET)
    session.commit()
    with gunicorn_serving(app, tmp_path, SURVEY_LOG_FORMAT="json") as (base, output):
        request = urllib.request.Request(f"{base}/r/{token}?lang=en", headers={"X-Request-Id": "edge-1"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["X-Request-Id"] == "edge-1"
    output = output["out"] + output["err"]
    assert token not in output and "lang=en" not in output
    lines = json_lines(output)
    assert any("Booting worker" in line["message"] for line in lines)
    ours = [line for line in lines if line.get("request_id") == "edge-1"]
    assert len(ours) == 1 and ours[0]["path"] == "/r/***" and ours[0]["status"] == 200
    assert set(ours[0]) == FIELDS
