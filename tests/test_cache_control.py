"""Pages with answers or personal data are never stored by a browser or a proxy; static files may be.

Walk-in respondents share the office's tablet: the back button or the cache must not show the
previous person's answers, nor the coordinator's or clerk's pages to the next user.
"""

import re

import pytest
from sqlalchemy import select

from survey.assessment import service as assessment_service
from survey.assessment.storage import storage_for
from survey.dashboard.jobs import REPORT_JOB
from survey.dashboard.views import report_dir
from survey.jobs.models import JobRecord
from survey.responses.models import Response
from survey.sampling.models import Unit, WaveGroup, WaveUnit
from tests.assessment.helpers import PDF
from tests.conftest import TEST_SECRET
from tests.factories import csrf_token, log_in, make_assessment, make_invitation

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class Recorder:
    """A test client that notes each response's endpoint, status and Cache-Control."""

    def __init__(self, app, client):
        self.app, self.client, self.seen = app, client, []

    def __call__(self, method: str, path: str, **kwargs):
        response = self.client.open(path, method=method, **kwargs)
        endpoint = self.app.url_map.bind("localhost").match(path.split("?")[0], method=method)[0]
        self.seen.append((endpoint, method, path, response.status_code,
                          response.headers.get("Cache-Control")))
        response.close()
        return response


@pytest.fixture
def survey_setup(session):
    """An invitation of a wave with an open link, the wave's unit assessed; returns (invitation, token)."""
    invitation, token = make_invitation(session, TEST_SECRET)
    session.add(WaveUnit(wave_id=invitation.wave_id, unit_id=invitation.units[0].unit_id))
    session.scalar(select(WaveGroup).filter_by(wave_id=invitation.wave_id)).open_link = True
    session.commit()
    return invitation, token


def test_every_page_is_no_store_except_static_files(app, client, session, survey_setup):
    """Every route answers Cache-Control: no-store (respondent, open link, data entry, staff, errors)."""
    invitation, token = survey_setup
    unit = invitation.units[0].unit_id
    wave, group = invitation.wave.code, invitation.group.code
    get = Recorder(app, client)

    # A respondent: landing, start, a page with an error, both pages, thanks, resume.
    get("GET", f"/r/{token}")
    form = csrf_token(client, f"/r/{token}")
    first = get("POST", f"/r/{token}/u/{unit}/start", data={"csrf_token": form}).headers["Location"]
    get("GET", first)
    assert get("POST", f"{first}/autosave", data={"csrf_token": form, "age": "70"}).status_code == 200
    assert get("POST", first, data={"csrf_token": form, "age": "7", "action": "next"}).status_code == 422
    second = get("POST", first, data={"csrf_token": form, "used": "y", "action": "next"}).headers["Location"]
    get("GET", f"/r/{token}/u/{unit}")
    done = get("POST", second, data={"csrf_token": form, "m1_signs": "5", "action": "submit"})
    assert get("GET", done.headers["Location"]).status_code == 200
    get("GET", f"/r/{'q' * 24}")  # unknown token: 404

    # A walk-in respondent on the open link.
    get("GET", f"/o/{wave}/{group}")
    walk_in = get("POST", f"/o/{wave}/{group}", data={"csrf_token": csrf_token(client, f"/o/{wave}/{group}"),
                                                      "unit": unit})
    assert walk_in.status_code == 302
    get("GET", walk_in.headers["Location"])

    # Staff: login, home, poster, data entry, analysis, questionnaires, errors, logout.
    get("GET", "/staff/login")
    coordinator = log_in(client, session, "coordinator")
    for path in ("/staff/", f"/staff/waves/{wave}/{group}/poster", f"/staff/waves/{wave}/frame",
                 "/staff/entry/",
                 f"/staff/entry/{wave}/{group}", "/staff/analysis/", f"/staff/analysis/{wave}",
                 "/staff/questionnaires", "/staff/questionnaires/small/1/print",
                 "/staff/questionnaires/small/1/xlsform", "/staff/analysis/NO-SUCH-WAVE", "/healthz",
                 f"/staff/waves/{wave}/progress", f"/staff/waves/{wave}/progress.csv",
                 f"/staff/waves/{wave}/draw",
                 "/staff/frameworks", "/staff/frameworks/par-province-2024/2024.1.xlsx", "/staff/index/",
                 f"/staff/index/{invitation.wave.year}",
                 f"/staff/index/{invitation.wave.year}/external/{invitation.units[0].unit.code}"):
        get("GET", path)
    unit_code = invitation.units[0].unit.code
    entry = get("POST", f"/staff/entry/{wave}/{group}", data={
        "csrf_token": csrf_token(client, f"/staff/entry/{wave}/{group}"), "unit_code": unit_code,
        "form_number": "1", "mode": "paper"})
    page = entry.headers["Location"]
    get("GET", page)
    saved = get("POST", page, data={"csrf_token": csrf_token(client, page), "used": "n", "action": "submit"})
    get("GET", saved.headers["Location"])
    # Entered forms: the list, one form, a correction; a draft's discard page; double entry.
    entered = session.scalar(select(Response.id).where(Response.form_number == "1"))
    for path in (f"/staff/entry/w/{wave}/forms", f"/staff/entry/w/{wave}/forms/{entered}",
                 f"/staff/entry/w/{wave}/double/NO-SUCH-FORM"):
        get("GET", path)
    get("POST", f"/staff/entry/w/{wave}/forms/{entered}", data={
        "csrf_token": csrf_token(client, f"/staff/entry/w/{wave}/forms/{entered}"), "item": "age",
        "value": "40", "reason": "nhập sai so với phiếu gốc"})
    draft = get("POST", f"/staff/entry/{wave}/{group}", data={
        "csrf_token": csrf_token(client, f"/staff/entry/{wave}/{group}"), "unit_code": unit_code,
        "form_number": "2", "mode": "paper"}).headers["Location"].split("/")[-3]
    get("GET", f"/staff/entry/d/{draft}/discard")
    get("POST", f"/staff/entry/d/{draft}/discard", data={"csrf_token": csrf_token(client, "/staff/entry/")})
    form_token = csrf_token(client, "/staff/entry/")
    get("POST", f"/staff/entry/w/{wave}/double-entry", data={"csrf_token": form_token, "on": "1"})
    reports = report_dir(invitation.wave, None)  # the coordinator sees every unit
    reports.mkdir(parents=True)
    (reports / "responses.csv").write_text("response_id,used\nabc,n\n", encoding="utf-8")
    assert get("GET", f"/staff/analysis/{wave}/files/responses.csv").status_code == 200
    # Jobs: the list, a job of the user's, another user's (404).
    own = JobRecord(kind=REPORT_JOB, parameters={"wave": wave}, status="running", done=1, total=4,
                    created_by=coordinator.id)
    other = JobRecord(kind=REPORT_JOB, parameters={"wave": wave}, status="done", done=0)
    session.add_all([own, other])
    session.commit()
    for path in ("/staff/jobs/", f"/staff/jobs/{own.id}"):
        assert get("GET", path).status_code == 200
    assert get("GET", f"/staff/jobs/{other.id}").status_code == 404
    # Wave set-up: the list, the wave page, a confirmation, then a post that works and a refused one.
    for path in ("/staff/waves/", f"/staff/waves/{wave}", f"/staff/waves/{wave}/status/closed"):
        get("GET", path)
    switched = get("POST", f"/staff/waves/{wave}/groups/{group}/open-link", data={
        "csrf_token": csrf_token(client, f"/staff/waves/{wave}"), f"g{invitation.group_id}-enabled": "y"})
    assert switched.status_code == 303
    contact = get("POST", f"/staff/waves/{wave}/contact", data={
        "csrf_token": csrf_token(client, f"/staff/waves/{wave}"), "contact_phone": "1900 1234",
        "contact_email": "cchc@snv.example.vn"})
    assert contact.status_code == 303
    refused = get("POST", f"/staff/waves/{wave}/units", data={
        "csrf_token": csrf_token(client, f"/staff/waves/{wave}"), "root": unit})
    assert refused.status_code == 422  # the wave is open: its units no longer change
    previewed = get("POST", f"/staff/waves/{wave}/draw", data={
        "csrf_token": csrf_token(client, f"/staff/waves/{wave}/draw"), "method": "srs", "size": "5",
        "preview": "y"})
    assert previewed.status_code == 422  # the wave is open: its sample is no longer drawn
    # Invitations: the page, issuing, the links file, letters, slips, previews of e-mails, a poster of a unit.
    invitations = f"/staff/waves/{wave}/invitations"
    for path in (invitations, f"{invitations}/links.csv", f"{invitations}/letters", f"{invitations}/slips",
                 f"/staff/waves/{wave}/{group}/poster?unit={invitation.units[0].unit.code}"):
        assert get("GET", path).status_code == 200, path
    for path in (invitations, f"{invitations}/send", f"/staff/waves/{wave}/reminders"):
        posted = get("POST", path, data={"csrf_token": csrf_token(client, invitations)})
        assert posted.status_code in (200, 303), path
    # A respondent stops the e-mails.
    get("GET", f"/r/{token}/opt-out")
    get("POST", f"/r/{token}/opt-out", data={"csrf_token": csrf_token(client, f"/r/{token}/opt-out")})
    # Focal officials, milestones, closing: pages, the ministry's XLSX, unknown rows (404), refused forms.
    for path in ("/staff/focal/", "/staff/focal/danh-sach-dau-moi.xlsx", "/staff/focal/999",
                 f"/staff/waves/{wave}/milestones", f"/staff/waves/{wave}/close"):
        get("GET", path)
    for path in ("/staff/focal/", "/staff/focal/999/delete", f"/staff/waves/{wave}/milestones",
                 f"/staff/waves/{wave}/milestones/999/done", f"/staff/waves/{wave}/milestones/999/delete",
                 f"/staff/waves/{wave}/close"):
        get("POST", path)  # without a form token: refused or re-shown, nothing written
    # Staff accounts (403 for a coordinator), the coordinator's own API tokens, and the API with one.
    for path in ("/staff/users/", "/staff/users/new", "/staff/users/1", "/staff/tokens/"):
        get("GET", path)
    made = get("POST", "/staff/tokens/", data={"csrf_token": csrf_token(client, "/staff/tokens/"),
                                               "name": "cache", "days": "1"})
    assert made.status_code == 201
    secret = re.search(r'class="secret">([^<]+)<', made.text).group(1)
    bearer = {"Authorization": f"Bearer {secret}"}
    for path in ("/api/v1/openapi.json", "/api/v1/waves", f"/api/v1/waves/{wave}",
                 f"/api/v1/waves/{wave}/progress", "/api/v1/units", f"/api/v1/waves/{wave}/responses",
                 "/api/v1/waves/NOPE"):
        get("GET", path, headers=bearer)
    get("GET", "/api/v1/units")  # no token: 401
    # Self-assessment: the list, a unit's page, an evidence file; every form without its token.
    assessment = make_assessment(session, unit=session.get(Unit, unit))
    document = assessment_service.add_document(
        session, storage_for(app), assessment, coordinator, PDF, "a.pdf", assessment_service.DocumentInput(),
        [("par.1.1.1", None)])
    session.commit()
    base = f"/staff/assessments/{assessment.id}"
    for path in ("/staff/assessments/", base, f"{base}/documents/{document.id}", f"{base}/table.xlsx",
                 f"{base}/evidence.zip", f"{base}/print"):
        get("GET", path)
    node = f"{base}/items/par.1.1.1"
    for path in (node, f"{node}/evidence", f"{node}/link", f"{base}/links/1/remove", f"{base}/move/submitted",
                 f"{node}/appraisal", f"{base}/deadlines", f"{base}/remind", f"{base}/report",
                 f"{base}/documents/{document.id}", f"{base}/documents/{document.id}/remove",
                 "/staff/assessments/"):
        get("POST", path)
    for path in ("/staff/analysis/X/run", "/staff/questionnaires/import", "/staff/waves/",
                 "/staff/frameworks/import", "/staff/frameworks/apply", f"/staff/index/{invitation.wave.year}"
                 f"/external/{invitation.units[0].unit.code}",
                 "/staff/users/new", "/staff/users/1", "/staff/users/1/active", "/staff/users/1/password",
                 "/staff/tokens/1/revoke",
                 f"/staff/waves/{wave}/groups", f"/staff/waves/{wave}/units/{unit}/remove",
                 f"/staff/waves/{wave}/status/closed", "/staff/logout"):
        get("POST", path)  # without a form token: the 400 page, from the route itself

    not_stored = [s for s in app.url_map.iter_rules() if s.endpoint not in ("static", "favicon")]
    assert {s.endpoint for s in not_stored} <= {endpoint for endpoint, *_ in get.seen}
    assert {status for *_, status, _ in get.seen} >= {200, 302, 400, 404, 422}
    wrong = [(method, path, status, cache) for _, method, path, status, cache in get.seen
             if cache != "no-store"]
    assert wrong == []


def test_static_files_keep_their_caching(client):
    """Static files are not no-store: the browser may keep and revalidate them."""
    for path in ("/static/respond.js", "/static/app.css", "/favicon.ico"):
        response = client.get(path)
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")
        response.close()
