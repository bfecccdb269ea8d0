"""Paper and phone data entry by staff through the same pages."""

import re

import pytest
from sqlalchemy import select

from survey.auth.models import AuditLog, User
from survey.responses.models import Response
from survey.sampling.models import WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import log_in, make_invitation

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def login(client, session, role="data_entry", all_units=True) -> User:
    """Log in a clerk (or another role)."""
    return log_in(client, session, role, all_units=all_units)


@pytest.fixture
def wave_setup(session):
    """A wave where a group answers the small questionnaire about one unit."""
    invitation, _ = make_invitation(session, TEST_SECRET)
    session.add(WaveUnit(wave_id=invitation.wave_id, unit_id=invitation.units[0].unit_id))
    session.commit()
    return invitation


def start_form(client, invitation, number="001", mode="paper", unit_code=None):
    """Post the start form of a paper form (unit by its code, form number); return the answer."""
    start_url = f"/staff/entry/{invitation.wave.code}/{invitation.group.code}"
    token = CSRF.search(client.get(start_url).text).group(1)
    return client.post(start_url, data={
        "csrf_token": token, "unit_code": unit_code or invitation.units[0].unit.code,
        "form_number": number, "mode": mode})


def enter_paper_form(client, invitation, number="001", used="n", age="52"):
    """Enter one paper form answering 'no' (one page) and return the final response."""
    started = start_form(client, invitation, number)
    assert started.status_code == 302
    page_url = started.headers["Location"]
    page = client.get(page_url)
    assert "phiếu giấy" in page.text and ">y · " in page.text  # option codes shown to the clerk
    assert "entry." in page.text and "/static/entry." in page.text  # the keyboard script
    token = CSRF.search(page.text).group(1)
    return client.post(page_url, data={"csrf_token": token, "used": used, "age": age,
                                       "action": "submit"})


def test_clerk_enters_paper_form(client, session, wave_setup):
    """A clerk's paper form is stored complete with mode paper; the clerk is only in the audit log."""
    clerk = login(client, session)
    done = enter_paper_form(client, wave_setup)
    assert done.status_code == 302
    follow = client.get(done.headers["Location"], follow_redirects=True)
    assert "Đã lưu phiếu" in follow.text
    response = session.scalars(select(Response).where(Response.status == "complete")).one()
    assert response.mode == "paper" and {a.item_id for a in response.answers} == {"used", "age"}
    entries = session.scalars(select(AuditLog).where(AuditLog.action == "response.entered")).all()
    assert [(e.user_id, e.target) for e in entries] == [(clerk.id, f"wave:{wave_setup.wave.code}")]
    assert (entries[0].at.minute, entries[0].at.second, entries[0].at.microsecond) == (0, 0, 0)
    columns = {c.name for c in Response.__table__.columns}
    assert not columns & {"user_id", "clerk_id", "entered_by"}


def test_data_entry_needs_the_role(client, session, wave_setup):
    """A user without the data-entry or coordinator role cannot enter forms."""
    login(client, session, role="analyst")
    assert client.get("/staff/entry/").status_code == 403


def test_data_entry_needs_login(client, wave_setup):
    """Anonymous visitors are sent to the login page."""
    response = client.get("/staff/entry/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_unfinished_drafts_are_listed(client, session, wave_setup):
    """A form started and left is listed for the clerk to finish."""
    login(client, session)
    assert start_form(client, wave_setup, "A-17", mode="phone").status_code == 302
    listing = client.get("/staff/entry/").text
    assert wave_setup.units[0].unit.name in listing and "/staff/entry/d/" in listing
    assert "A-17" in listing and "Phỏng vấn qua điện thoại" in listing and "· phone" not in listing
