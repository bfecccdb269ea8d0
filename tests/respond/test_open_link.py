"""Open links for walk-in respondents, closed politely at a per-unit quota."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from survey.responses.models import Response
from survey.sampling.models import Invitation, WaveGroup, WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import log_in, make_invitation
from tests.respond.test_concurrency import in_parallel

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def open_wave(session, quota=None):
    """A wave whose group has an open link, with one assessed unit; returns the open URL and unit id."""
    invitation, _ = make_invitation(session, TEST_SECRET)
    assignment = session.scalar(select(WaveGroup).filter_by(wave_id=invitation.wave_id))
    assignment.open_link, assignment.open_quota = True, quota
    unit_id = invitation.units[0].unit_id
    session.add(WaveUnit(wave_id=invitation.wave_id, unit_id=unit_id))
    session.commit()
    return f"/o/{invitation.wave.code}/{invitation.group.code}", unit_id


def walk_in(client, url, unit_id):
    """Choose the unit on the open link and return the response."""
    token = CSRF.search(client.get(url).text).group(1)
    return client.post(url, data={"csrf_token": token, "unit": unit_id})


def test_open_link_starts_an_anonymous_personal_link(client, session):
    """Choosing a unit creates a self-made invitation without frame or stratum and opens page 1."""
    url, unit_id = open_wave(session)
    response = walk_in(client, url, unit_id)
    assert response.status_code == 302 and re.search(r"/r/[\w-]+/u/\d+/p/1$", response.headers["Location"])
    invitation = session.scalars(select(Invitation).filter_by(source="open")).one()
    assert invitation.frame_entry_id is None and invitation.stratum_id is None
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "Phần 1/" in page.text


def test_open_link_closes_at_quota(client, session):
    """After the quota of answers for a unit, the open link says so politely and starts nothing."""
    url, unit_id = open_wave(session, quota=1)
    first = walk_in(client, url, unit_id)
    token = CSRF.search(client.get(first.headers["Location"]).text).group(1)
    client.post(first.headers["Location"], data={"csrf_token": token, "used": "n", "age": "33",
                                                 "action": "submit"})
    second = walk_in(client.application.test_client(), url, unit_id)
    assert second.status_code == 200 and "Đã đủ số phiếu" in second.text
    assert session.query(Invitation).filter_by(source="open").count() == 1
    assert session.query(Response).filter_by(status="complete").count() == 1


def test_open_link_is_404_unless_enabled(client, session):
    """A wave group without an open link does not answer on /o/."""
    invitation, _ = make_invitation(session, TEST_SECRET)
    session.commit()
    assert client.get(f"/o/{invitation.wave.code}/{invitation.group.code}").status_code == 404


def test_poster_has_qr_code_of_the_open_link(client, session):
    """The coordinator's poster shows the open link and an inline SVG QR code."""
    url, _ = open_wave(session)
    log_in(client, session, "coordinator")
    wave_code, group_code = url.split("/")[2:4]
    poster = client.get(f"/staff/waves/{wave_code}/{group_code}/poster")
    assert poster.status_code == 200
    assert f"http://localhost{url}" in poster.text and poster.text.count("<svg") == 1


def test_parallel_starts_never_pass_the_quota(app, session):
    """20 walk-ins choosing one unit at the same moment, quota 3: exactly 3 drafts, 17 polite refusals."""

    url, unit_id = open_wave(session, quota=3)
    browsers = [app.test_client() for _ in range(20)]
    tokens = [CSRF.search(b.get(url).text).group(1) for b in browsers]
    replies = in_parallel([lambda b=b, t=t: b.post(url, data={"csrf_token": t, "unit": unit_id})
                           for b, t in zip(browsers, tokens, strict=True)])
    started = [r for r in replies if r.status_code == 302]
    refused = [r for r in replies if r.status_code == 200 and "Đã đủ số phiếu" in r.text]
    assert (len(started), len(refused)) == (3, 17), [r.status_code for r in replies]
    assert session.query(Invitation).filter_by(source="open").count() == 3
    assert session.query(Response).filter_by(status="draft").count() == 3


def test_abandoned_drafts_expire_and_free_their_place(client, session):
    """A draft started longer ago than OPEN_LINK_DRAFT_HOURS no longer counts, and its link has expired."""
    url, unit_id = open_wave(session, quota=1)
    first = walk_in(client, url, unit_id)
    assert first.status_code == 302
    assert "Đã đủ số phiếu" in walk_in(client.application.test_client(), url, unit_id).text
    hours = client.application.config.get("OPEN_LINK_DRAFT_HOURS", 2)
    session.execute(update(Invitation).where(Invitation.source == "open").values(
        created_at=datetime.now(UTC) - timedelta(hours=hours, minutes=1)))
    session.commit()
    expired = client.get(first.headers["Location"])
    assert expired.status_code == 410 and "hết hạn" in expired.text
    second = walk_in(client.application.test_client(), url, unit_id)
    assert second.status_code == 302 and second.headers["Location"] != first.headers["Location"]
    assert session.query(Invitation).filter_by(source="open").count() == 2


def test_one_browser_session_answers_a_unit_once(client, session):
    """The same browser choosing the same unit again resumes its answer, and after submitting is told so."""
    url, unit_id = open_wave(session)
    first = walk_in(client, url, unit_id).headers["Location"]
    again = walk_in(client, url, unit_id)
    assert again.status_code == 302 and client.get(again.headers["Location"]).headers["Location"] == first
    token = CSRF.search(client.get(first).text).group(1)
    client.post(first, data={"csrf_token": token, "used": "n", "age": "33", "action": "submit"})
    third = walk_in(client, url, unit_id)
    assert third.status_code == 302 and third.headers["Location"].endswith("/done")
    assert "đã được ghi nhận" in client.get(third.headers["Location"]).text
    assert session.query(Invitation).filter_by(source="open").count() == 1
    assert session.query(Response).count() == 1
