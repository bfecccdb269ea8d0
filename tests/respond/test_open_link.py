"""Open links for walk-in respondents, closed politely at a per-unit quota."""

import re

from sqlalchemy import select

from survey.responses.models import Response
from survey.sampling.models import Invitation, WaveGroup, WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import log_in, make_invitation

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
    assert f"http://localhost{url}" in poster.text and 'src="data:image/svg+xml' in poster.text
