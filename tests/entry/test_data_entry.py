"""Paper and phone data entry by staff through the same pages."""

import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from survey.auth.models import AuditLog, User
from survey.responses.models import EntryCopy, Response
from survey.sampling.models import WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import log_in, make_invitation, make_stratum, make_unit

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


def test_unit_is_chosen_by_its_code_and_checked_against_the_group(client, session, wave_setup):
    """An unknown code, or an agency for a citizen form, is refused with a clear message; nothing starts."""
    login(client, session)
    agency = make_unit(session, code="SO-TP", name="Sở Tư pháp", kind="agency")
    session.add(WaveUnit(wave_id=wave_setup.wave_id, unit_id=agency.id))
    session.commit()
    unknown = start_form(client, wave_setup, unit_code="KHONG-CO")
    assert unknown.status_code == 422 and "Không có đơn vị mã KHONG-CO" in unknown.text
    refused = start_form(client, wave_setup, unit_code="SO-TP")
    assert refused.status_code == 422 and "Sở Tư pháp (mã SO-TP) không thuộc các đơn vị" in refused.text
    assert session.scalars(select(Response)).all() == []
    assert start_form(client, wave_setup).status_code == 302  # the commune is fine


def test_officials_may_enter_forms_about_agencies(client, session, wave_setup):
    """An official's form may be about any unit assessed in the wave."""
    login(client, session)
    wave_setup.group.kind = "official"
    agency = make_unit(session, code="SO-NV", name="Sở Nội vụ", kind="agency")
    session.add(WaveUnit(wave_id=wave_setup.wave_id, unit_id=agency.id))
    session.commit()
    assert start_form(client, wave_setup, unit_code="SO-NV").status_code == 302


def test_citizen_forms_follow_the_strata_of_the_group(client, session, wave_setup):
    """When the wave has strata of the group, only their units are accepted."""
    login(client, session)
    other = make_unit(session, code="XA-KHAC", name="Xã Khác")
    session.add(WaveUnit(wave_id=wave_setup.wave_id, unit_id=other.id))
    make_stratum(session, wave_setup.wave, code="S1", unit_id=other.id, group_id=wave_setup.group_id)
    session.commit()
    assert start_form(client, wave_setup).status_code == 422  # the commune has no stratum of the group
    assert start_form(client, wave_setup, unit_code="XA-KHAC").status_code == 302


def test_form_number_is_unique_per_wave(client, session, wave_setup):
    """A form number entered in the wave (draft or saved) is refused the second time, with a clear message."""
    login(client, session)
    assert enter_paper_form(client, wave_setup, "17").status_code == 302
    again = start_form(client, wave_setup, "17")
    assert again.status_code == 422 and "Phiếu số 17 đã được nhập trong đợt này" in again.text
    assert start_form(client, wave_setup, "18").status_code == 302
    assert start_form(client, wave_setup, "18").status_code == 422  # a draft holds it
    session.add(Response(wave_id=wave_setup.wave_id, questionnaire_version_id=wave_setup.wave.groups[0]
                         .questionnaire_version_id, unit_id=wave_setup.units[0].unit_id,
                         group_id=wave_setup.group_id, mode="paper", status="draft", form_number="18",
                         entry_pass=1))
    with pytest.raises(IntegrityError):  # the database keeps it too
        session.flush()
    session.rollback()


def test_abandoned_draft_is_discarded_after_confirmation(client, session, wave_setup):
    """The drafts list offers to discard; the confirmation page asks; the post deletes and audits."""
    clerk = login(client, session)
    page_url = start_form(client, wave_setup, "99").headers["Location"]
    draft_id = page_url.split("/")[-3]
    listing = client.get("/staff/entry/").text
    assert f"/staff/entry/d/{draft_id}/discard" in listing and "Phiếu giấy" in listing
    confirm = client.get(f"/staff/entry/d/{draft_id}/discard")
    assert "không khôi phục được" in confirm.text and session.get(Response, draft_id) is not None
    token = CSRF.search(confirm.text).group(1)
    done = client.post(f"/staff/entry/d/{draft_id}/discard", data={"csrf_token": token})
    assert done.status_code == 302
    session.expire_all()
    assert session.get(Response, draft_id) is None
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "entry.discarded")).one()
    assert audit.user_id == clerk.id and audit.details["form_number"] == "99"
    assert start_form(client, wave_setup, "99").status_code == 302  # the number is free again


def test_entered_form_is_listed_viewed_and_corrected_with_a_reason(client, session, wave_setup):
    """The list filters by number and unit; a correction needs a reason, is checked, and is audited."""
    clerk = login(client, session)
    enter_paper_form(client, wave_setup, "5", age="52")
    enter_paper_form(client, wave_setup, "6", age="30")
    wave = wave_setup.wave.code
    listing = client.get(f"/staff/entry/w/{wave}/forms?number=5").text
    assert ">5</a>" in listing and ">6</a>" not in listing
    response = session.scalars(select(Response).where(Response.form_number == "5")).one()
    url = f"/staff/entry/w/{wave}/forms/{response.id}"
    shown = client.get(url)
    assert "52" in shown.text and "Lý do sửa" in shown.text
    token = CSRF.search(shown.text).group(1)
    no_reason = client.post(url, data={"csrf_token": token, "item": "age", "value": "25", "reason": ""})
    bad_value = client.post(url, data={"csrf_token": token, "item": "age", "value": "7",
                                       "reason": "nhập sai tuổi"})
    assert no_reason.status_code == 422 and bad_value.status_code == 422
    assert "18 trở lên" in bad_value.text
    hidden = client.post(url, data={"csrf_token": token, "item": "m1_signs", "value": "4",
                                    "reason": "nhập thiếu câu này"})
    assert hidden.status_code == 422 and "sửa câu điều kiện trước" in hidden.text
    fixed = client.post(url, data={"csrf_token": token, "item": "age", "value": "25",
                                   "reason": "nhập sai tuổi so với phiếu gốc"})
    assert fixed.status_code == 302
    session.expire_all()
    assert {a.item_id: a.value for a in session.get(Response, response.id).answers}["age"] == 25
    audit = session.scalars(select(AuditLog).where(AuditLog.action == "entry.corrected")).one()
    assert audit.user_id == clerk.id and audit.target == f"form:{wave}/5"
    assert audit.details == {"item": "age", "reason": "nhập sai tuổi so với phiếu gốc", "before": 52,
                             "after": 25}
    # A corrected filter question shows its page: the page's items may then be corrected too.
    client.post(url, data={"csrf_token": token, "item": "used", "value": "y", "reason": "phiếu ghi Có"})
    assert client.post(url, data={"csrf_token": token, "item": "m1_signs", "value": "4",
                                  "reason": "nhập thiếu câu này"}).status_code == 302
    session.expire_all()
    assert {a.item_id: a.value for a in session.get(Response, response.id).answers} == {
        "used": "y", "age": 25, "m1_signs": "4"}


def _double_entry(session, wave_setup):
    """Turn double entry on for the wave."""
    wave_setup.wave.double_entry = True
    session.commit()


def test_double_entry_that_agrees_makes_one_response(client, session, wave_setup):
    """Two entries of a form number that agree become one response; a third entry is refused."""
    login(client, session)
    _double_entry(session, wave_setup)
    enter_paper_form(client, wave_setup, "7")
    assert session.scalars(select(Response).where(Response.status == "complete")).all() == []
    assert session.scalars(select(EntryCopy)).one().entry_pass == 1
    second = start_form(client, wave_setup, "7")
    assert second.status_code == 302
    assert "Nhập lần hai phiếu số 7" in client.get(second.headers["Location"]).text
    token = CSRF.search(client.get(second.headers["Location"]).text).group(1)
    client.post(second.headers["Location"], data={"csrf_token": token, "used": "n", "age": "52",
                                                  "action": "submit"})
    session.expire_all()
    responses = session.scalars(select(Response).where(Response.status == "complete")).all()
    assert [(r.form_number, r.entry_pass) for r in responses] == [("7", 1)]
    assert session.scalars(select(EntryCopy)).all() == []
    third = start_form(client, wave_setup, "7")
    assert third.status_code == 422 and "đã được nhập" in third.text


def test_double_entry_discrepancies_are_resolved_into_one_response(client, session, wave_setup):
    """Entries that differ wait; the discrepancy list shows the differing items; picks make one response."""
    login(client, session, role="coordinator")
    _double_entry(session, wave_setup)
    enter_paper_form(client, wave_setup, "8", age="52")
    enter_paper_form(client, wave_setup, "8", age="25")
    session.expire_all()
    assert session.scalars(select(Response).where(Response.status == "complete")).all() == []
    wave = wave_setup.wave.code
    listing = client.get(f"/staff/entry/w/{wave}/forms").text
    assert f"/staff/entry/w/{wave}/double/8" in listing
    page = client.get(f"/staff/entry/w/{wave}/double/8")
    assert page.status_code == 200 and 'id="d-age"' in page.text and 'id="d-used"' not in page.text
    token = CSRF.search(page.text).group(1)
    missing = client.post(f"/staff/entry/w/{wave}/double/8", data={"csrf_token": token})
    assert missing.status_code == 422 and session.scalars(select(EntryCopy)).all() != []
    done = client.post(f"/staff/entry/w/{wave}/double/8", data={"csrf_token": token, "pick-age": "2"})
    assert done.status_code == 302
    session.expire_all()
    response = session.scalars(select(Response).where(Response.status == "complete")).one()
    assert response.form_number == "8"
    assert {a.item_id: a.value for a in response.answers} == {"used": "n", "age": 25}
    assert session.scalars(select(EntryCopy)).all() == []
    assert session.scalars(select(AuditLog).where(AuditLog.action == "entry.resolved")).one().target \
        == f"form:{wave}/8"


def test_coordinator_turns_double_entry_on(client, session, wave_setup):
    """The wave setting is the coordinators' and is audited."""
    login(client, session, role="coordinator")
    wave = wave_setup.wave.code
    token = CSRF.search(client.get(f"/staff/entry/w/{wave}/forms").text).group(1)
    client.post(f"/staff/entry/w/{wave}/double-entry", data={"csrf_token": token, "on": "1"})
    session.expire_all()
    assert wave_setup.wave.double_entry is True
    assert session.scalars(select(AuditLog).where(AuditLog.action == "wave.double_entry")).one().details \
        == {"on": True}


def test_staff_error_pages_speak_to_staff(client, session, wave_setup):
    """A staff 404 names staff things (no invitation message); a respondent 404 keeps its wording."""
    login(client, session)
    staff = client.get("/staff/entry/d/no-such-draft/p/1")
    assert staff.status_code == 404
    assert "tin nhắn mời" not in staff.text and "Quay lại trang cán bộ" in staff.text
    assert 'href="/staff/"' in staff.text and "Mã yêu cầu" in staff.text
    respondent = client.get("/r/" + "q" * 24)
    assert respondent.status_code == 404 and "tin nhắn mời" in respondent.text
    login(client, session, role="analyst")
    forbidden = client.get("/staff/entry/")
    assert forbidden.status_code == 403 and "Ông/Bà" not in forbidden.text
    assert "Vai trò của tài khoản" in forbidden.text
