"""Analyst pages: run a wave's report under a recorded policy, see intervals, download files."""

import re

import pytest
from sqlalchemy import select

from survey import demo
from survey.auth.models import AuditLog
from survey.definitions import load
from survey.instruments import service

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def logged_in(app, session, client):
    """The demo province seeded and its coordinator (also an analyst) logged in."""
    good, _ = load.load_paths(app.config["QUESTIONNAIRE_DIRS"])
    for definition in good:
        service.publish(session, definition)
    demo.seed(session, app.config["TOKEN_KEY"])
    session.commit()
    token = CSRF.search(client.get("/staff/login").text).group(1)
    client.post("/staff/login", data={"csrf_token": token, "email": demo.COORDINATOR_EMAIL,
                                      "password": demo.COORDINATOR_PASSWORD})
    return client


def test_run_show_and_download(logged_in, session):
    """Running the report records the policy, shows estimates with CIs and serves the files."""
    client = logged_in
    page = client.get(f"/staff/analysis/{demo.WAVE_CODE}")
    assert "Tính báo cáo" in page.text
    assert "Khung chỉ số tạm thời" in page.text and "par-province-2024" in page.text
    token = CSRF.search(page.text).group(1)
    started = client.post(f"/staff/analysis/{demo.WAVE_CODE}/run",
                          data={"csrf_token": token, "exclude_speeders": "y"})
    assert started.status_code == 302 and "/staff/jobs/" in started.headers["Location"]
    job = client.get(started.headers["Location"])  # a job, run right after the commit in tests
    assert "Hoàn thành" in job.text and 'http-equiv="refresh"' not in job.text
    assert f'href="/staff/analysis/{demo.WAVE_CODE}">Xem báo cáo' in job.text
    done = client.get(f"/staff/analysis/{demo.WAVE_CODE}")
    assert done.status_code == 200 and "ci_low" in done.text and "responses.sav" in done.text
    entry = session.scalars(select(AuditLog).filter_by(action="analysis.report")).one()
    assert entry.details["policy"]["exclude_speeders"] is True
    sav = client.get(f"/staff/analysis/{demo.WAVE_CODE}/files/responses.sav")
    assert sav.status_code == 200 and "attachment" in sav.headers["Content-Disposition"]
    sav.close()
    html = client.get(f"/staff/analysis/{demo.WAVE_CODE}/files/index.html")
    assert html.status_code == 200 and "script-src" not in html.headers["Content-Security-Policy"]
    html.close()


def test_files_outside_the_report_are_not_served(logged_in):
    """Path tricks in the file name answer 404."""
    client = logged_in
    assert client.get(f"/staff/analysis/{demo.WAVE_CODE}/files/..%2F..%2Fsecret_key").status_code == 404


def test_analysis_needs_login(client):
    """Anonymous visitors are sent to the login page."""
    assert client.get("/staff/analysis/").status_code == 302
