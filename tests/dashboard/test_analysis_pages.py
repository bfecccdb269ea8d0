"""Analyst pages: run a wave's report under a recorded policy, see intervals, download files."""

import re

import pytest
from sqlalchemy import select

from survey import demo
from survey.auth.models import AuditLog
from tests.factories import log_in_demo_coordinator, seed_demo

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def logged_in(app, session, client):
    """The demo province seeded and its coordinator (also an analyst) logged in."""
    seed_demo(app, session)
    log_in_demo_coordinator(client)
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
    assert done.status_code == 200 and "Kết quả tính lúc" in done.text and "ci_low" not in done.text
    assert "responses.sav" in client.get(f"/staff/analysis/{demo.WAVE_CODE}?section=files").text
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


def test_previous_report_stays_until_the_new_one_is_complete(app, logged_in, session, monkeypatch):
    """The report is computed by a job into a new folder: while it runs, and when it fails, the page
    serves the previous report; a complete one replaces it whole."""
    import analysis.report
    from survey.dashboard.views import report_dir
    from survey.jobs.models import JobRecord
    from survey.sampling.models import Wave

    client = logged_in
    wave = session.scalar(select(Wave).filter_by(code=demo.WAVE_CODE))

    def run_report():
        token = CSRF.search(client.get(f"/staff/analysis/{demo.WAVE_CODE}").text).group(1)
        started = client.post(f"/staff/analysis/{demo.WAVE_CODE}/run", data={"csrf_token": token})
        assert started.status_code == 302
        return client.get(started.headers["Location"])

    assert "Hoàn thành" in run_report().text
    folder = report_dir(wave, None)
    (folder / "earlier.txt").write_text("the previous report", encoding="utf-8")
    before = sorted(p.name for p in folder.iterdir())

    real = analysis.report.write_report

    def half_then_crash(responses, strata, questionnaires, frameworks, out, **options):
        out.mkdir(parents=True)
        (out / "index.html").write_text("half a report", encoding="utf-8")
        raise MemoryError("out of memory")

    monkeypatch.setattr(analysis.report, "write_report", half_then_crash)
    failed = run_report()
    assert "Không thành công" in failed.text and "MemoryError" in failed.text
    assert sorted(p.name for p in folder.iterdir()) == before
    assert (folder / "index.html").read_text(encoding="utf-8") != "half a report"
    assert [p.name for p in folder.parent.iterdir()] == ["all"]  # no half-written folder left

    user_id = session.scalars(select(JobRecord.created_by)).first()
    session.add(JobRecord(kind="analysis.report", parameters={"wave": wave.code}, status="running",
                          done=1, total=4, created_by=user_id, wave_id=wave.id))
    session.commit()
    page = client.get(f"/staff/analysis/{demo.WAVE_CODE}", query_string={"section": "files"}).text
    assert "Báo cáo mới đang được tính" in page and "earlier.txt" in page

    monkeypatch.setattr(analysis.report, "write_report", real)
    assert "Hoàn thành" in run_report().text
    after = sorted(p.name for p in folder.iterdir())
    assert "earlier.txt" not in after and "responses.sav" in after
    assert [p.name for p in folder.parent.iterdir()] == ["all"]


def test_report_with_replicate_weights(logged_in, session, tmp_path):
    """Bootstrap replicate weights put repw_1..repw_200 in the .dta, the instructions beside it."""
    import pyreadstat

    client = logged_in
    page = client.get(f"/staff/analysis/{demo.WAVE_CODE}")
    assert "Trọng số lặp trong tệp .sav/.dta" in page.text and "Bootstrap Rao–Wu, 200 bản lặp" in page.text
    token = CSRF.search(page.text).group(1)
    assert client.post(f"/staff/analysis/{demo.WAVE_CODE}/run",
                       data={"csrf_token": token, "replicates": "nonsense"}).status_code == 400
    started = client.post(f"/staff/analysis/{demo.WAVE_CODE}/run",
                          data={"csrf_token": token, "replicates": "bootstrap"})
    assert "Hoàn thành" in client.get(started.headers["Location"]).text
    done = client.get(f"/staff/analysis/{demo.WAVE_CODE}?section=files").text
    assert "files/replicate_weights.txt" in done and "files/replicate_weights.csv" in done
    text = client.get(f"/staff/analysis/{demo.WAVE_CODE}/files/replicate_weights.txt")
    assert "bsrweight(repw_1-repw_200) vce(bootstrap) mse" in text.get_data(as_text=True)
    text.close()
    dta = client.get(f"/staff/analysis/{demo.WAVE_CODE}/files/responses.dta")
    (tmp_path / "r.dta").write_bytes(dta.get_data())
    dta.close()
    frame, _ = pyreadstat.read_dta(str(tmp_path / "r.dta"))
    assert {"weight", "repw_1", "repw_200"} <= set(frame.columns)
    entry = session.scalars(select(AuditLog).filter_by(action="analysis.report")).one()
    assert entry.details["replicates"] == "bootstrap"


def test_jackknife_with_too_many_replicates_is_refused_clearly(logged_in, monkeypatch):
    """A jackknife over more PSUs than the export allows ends the job with the reason, no report."""
    import analysis.report

    monkeypatch.setattr(analysis.report, "MAX_EXPORTED_REPLICATES", 2)
    client = logged_in
    token = CSRF.search(client.get(f"/staff/analysis/{demo.WAVE_CODE}").text).group(1)
    started = client.post(f"/staff/analysis/{demo.WAVE_CODE}/run",
                          data={"csrf_token": token, "replicates": "jackknife"})
    job = client.get(started.headers["Location"]).text
    assert "Jackknife cần quá nhiều bản lặp" in job and "hãy chọn bootstrap" in job
    assert "files/replicate_weights.txt" not in client.get(f"/staff/analysis/{demo.WAVE_CODE}").text
