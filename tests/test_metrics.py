"""Prometheus metrics at /metrics: off by default, readable only from allowed addresses or with the token,
request latency by endpoint name (never a path with a token), submissions by mode, job queue depth."""

import re

import pytest

from survey.config import ConfigError
from survey.jobs.models import JobRecord
from survey.sampling.models import WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import log_in, make_invitation

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
TOKEN = "metrics-token-Zq8VvK2mP4xR7tY1wN3bL6cD9fH0jG5s"


@pytest.fixture
def measured(configured):
    """An app with metrics on, on the test database."""
    return configured(METRICS=True, METRICS_TOKEN=TOKEN)


def scrape(app, address="127.0.0.1", headers=None):
    """GET /metrics from an address."""
    return app.test_client().get("/metrics", headers=headers or {}, environ_base={"REMOTE_ADDR": address})


def sample(text: str, name: str, **labels) -> float | None:
    """The value of one sample in the text format, or None when absent."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_are_off_by_default(app, client):
    """Without SURVEY_METRICS there is no /metrics and nothing is measured."""
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 404
    assert "survey.metrics" not in app.extensions


def test_only_allowed_addresses_or_the_token_read_them(measured):
    """Loopback (the default outside production) or the bearer token: 200; anyone else 404."""
    assert scrape(measured).status_code == 200
    assert scrape(measured, "::1").status_code == 200
    assert scrape(measured, "203.0.113.9").status_code == 404
    assert scrape(measured, "203.0.113.9", {"Authorization": "Bearer wrong"}).status_code == 404
    assert scrape(measured, "203.0.113.9", {"Authorization": f"Bearer {TOKEN}x"}).status_code == 404
    allowed = scrape(measured, "203.0.113.9", {"Authorization": f"Bearer {TOKEN}"})
    assert allowed.status_code == 200 and allowed.mimetype == "text/plain"
    assert allowed.headers["Cache-Control"] == "no-store"


def test_allowed_networks_are_settings(configured):
    """METRICS_ALLOW replaces loopback with the listed addresses and networks."""
    app = configured(METRICS=True, METRICS_ALLOW="10.1.0.0/16, 192.0.2.7")
    assert scrape(app, "10.1.200.3").status_code == 200
    assert scrape(app, "192.0.2.7").status_code == 200
    assert scrape(app, "127.0.0.1").status_code == 404
    with pytest.raises(ConfigError):
        configured(METRICS=True, METRICS_ALLOW="not-an-address")


def test_production_needs_a_token_or_an_address(configured):
    """In production metrics are never public by default: no loopback, and a strong token or addresses."""
    production = {"ENV": "production", "RATELIMIT_SINGLE_PROCESS": True, "METRICS": True}
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        configured(**production)
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        configured(**production, METRICS_TOKEN="secret")
    app = configured(**production, METRICS_TOKEN=TOKEN)
    assert scrape(app, "127.0.0.1").status_code == 404
    assert scrape(app, "127.0.0.1", {"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def answer_one(client, token, unit_id):
    """Answer the small questionnaire through the invitation link ('no': one page) and submit."""
    csrf = CSRF.search(client.get(f"/r/{token}").text).group(1)
    first = client.post(f"/r/{token}/u/{unit_id}/start", data={"csrf_token": csrf}).headers["Location"]
    done = client.post(first, data={"csrf_token": csrf, "used": "n", "age": "40", "action": "submit"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/done")


def test_requests_submissions_and_jobs_are_measured_without_tokens(measured, session):
    """After a respondent's submission and a clerk's form: latency by endpoint name, submissions by mode,
    job figures; no invitation token, path or unit in any label."""
    invitation, token = make_invitation(session, TEST_SECRET)
    unit_id = invitation.units[0].unit_id
    session.add(WaveUnit(wave_id=invitation.wave_id, unit_id=unit_id))
    session.add(JobRecord(kind="report", parameters={}, status="queued"))
    session.commit()
    client = measured.test_client()
    answer_one(client, token, unit_id)
    clerk = measured.test_client()
    log_in(clerk, session, "data_entry")
    start = f"/staff/entry/{invitation.wave.code}/{invitation.group.code}"
    csrf = CSRF.search(clerk.get(start).text).group(1)
    unit_code = invitation.units[0].unit.code
    page = clerk.post(start, data={"csrf_token": csrf, "unit_code": unit_code, "form_number": "7",
                                   "mode": "phone"}).headers["Location"]
    entered = clerk.post(page, data={"csrf_token": csrf, "used": "n", "age": "52", "action": "submit"})
    assert entered.status_code == 302
    client.open(f"/r/{token}", method="BREW")  # a method the client makes up: not a label

    text = scrape(measured).text
    assert sample(text, "survey_submissions_total", mode="online") == 1
    assert sample(text, "survey_submissions_total", mode="phone") == 1
    assert sample(text, "survey_submissions_total", mode="paper") == 0
    assert sample(text, "survey_http_request_duration_seconds_count", endpoint="respond.page",
                  method="POST", status="302") == 1
    assert sample(text, "survey_http_request_duration_seconds_bucket", endpoint="respond.landing",
                  method="GET", status="200", le="+Inf") >= 1
    assert sample(text, "survey_jobs", status="queued") == 1
    assert sample(text, "survey_job_queue_depth", backend="thread") == 1
    assert token not in text and "/r/" not in text and "BREW" not in text
    assert invitation.units[0].unit.code not in text and invitation.wave.code not in text
    labels = set(re.findall(r'(\w+)="', text))
    assert labels <= {"endpoint", "method", "status", "le", "mode", "backend", "version"}, labels


def test_multiprocess_mode_adds_up_the_workers(configured, session, tmp_path, monkeypatch):
    """With PROMETHEUS_MULTIPROC_DIR (gunicorn's workers), a scrape reads every worker's files."""
    from prometheus_client import values

    folder = tmp_path / "prometheus"
    folder.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    monkeypatch.setattr(values, "ValueClass", values.get_value_class())  # read at import in a real worker
    app = configured(METRICS=True)
    app.test_client().get("/healthz")
    assert list(folder.glob("*.db")), "no multiprocess files written"
    text = scrape(app).text
    assert sample(text, "survey_http_request_duration_seconds_count", endpoint="health.healthz",
                  method="GET", status="200") == 1
    assert sample(text, "survey_job_queue_depth", backend="thread") == 0
