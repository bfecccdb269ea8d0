"""Closing a wave: drafts kept or discarded, the frame's contacts kept or purged, each choice audited;
late answers through an invitation link, a page or the open link are refused politely."""

import pytest
from sqlalchemy import func, select

from survey.auth.models import AuditLog, UserUnit
from survey.responses.models import Answer, DraftLink, Response
from survey.sampling import service as waves
from survey.sampling.models import FrameEntry, Invitation, Stratum, Wave, WaveGroup, WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import STAFF_PASSWORD, make_invitation, make_staff, make_stratum, make_unit


@pytest.fixture
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def running(session):
    """An open wave with an open link: two people in the frame, one draft (linked to an invitation),
    one completed response, a clerk's draft."""
    unit = make_unit(session, name="Xã Đóng")
    invitation, token = make_invitation(session, TEST_SECRET, units=[unit])
    wave, group = invitation.wave, invitation.group
    session.add(WaveUnit(wave_id=wave.id, unit_id=unit.id))
    session.scalar(select(WaveGroup).filter_by(wave_id=wave.id)).open_link = True
    stratum = make_stratum(session, wave, unit_id=unit.id, group_id=group.id, population_size=50,
                           sample_size=2)
    people = [waves.add_person(session, wave, stratum, name, phone=phone, email=email, position="Cán bộ",
                               selection_probability=0.04)
              for name, phone, email in (("Lê Văn An", "0912345678", "an@x.vn"),
                                         ("Đỗ Thị Bình", "0987654321", None))]
    invitation.frame_entry_id = people[0].id
    invitation.stratum_id = stratum.id
    version_id = session.scalar(select(WaveGroup.questionnaire_version_id).filter_by(wave_id=wave.id))

    def response(status, link=False, mode="online"):
        made = Response(wave_id=wave.id, questionnaire_version_id=version_id, unit_id=unit.id,
                        group_id=group.id,
                        stratum_id=stratum.id, mode=mode, status=status,
                        submitted_on=wave.opens_on if status == "complete" else None)
        made.answers = [Answer(item_id="used", value_text="y")]
        session.add(made)
        session.flush()
        if link:
            session.add(DraftLink(response_id=made.id, invitation_id=invitation.id, unit_id=unit.id))
        return made

    response("draft", link=True)
    response("draft", mode="paper")  # a clerk's draft
    complete = response("complete")
    session.commit()
    return {"wave": wave, "group": group, "unit": unit, "token": token, "complete": complete.id,
            "stratum": stratum.id, "invitation": invitation.id}


def coordinator(app, session, units=None):
    client = app.test_client()
    user = make_staff(session, "coordinator", email=f"c{len(units or [])}@example.vn",
                      all_units=units is None)
    for unit in units or []:
        session.add(UserUnit(user_id=user.id, unit_id=unit.id))
    session.commit()
    client.post("/staff/login", data={"email": user.email, "password": STAFF_PASSWORD})
    return client


def audit(session) -> dict:
    rows = session.scalars(select(AuditLog).where(AuditLog.action.like("wave.%")))
    return {a.action: a.details for a in rows}


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_close_discarding_drafts_and_purging_contacts(app, session, running, no_csrf):
    """Drafts, their answers and links go; contacts are erased; strata, probabilities and completed
    answers stay."""
    client = coordinator(app, session)
    code = running["wave"].code
    page = client.get(f"/staff/waves/{code}/close").text
    assert "Hiện có 2 phiếu đang làm dở và 2 người" in page
    done = client.post(f"/staff/waves/{code}/close", data={"drafts": "discard", "contacts": "purge"})
    assert done.status_code == 303
    session.expire_all()
    assert session.get(Wave, running["wave"].id).status == "closed"
    assert count(session, Response, Response.status == "draft") == 0
    assert count(session, DraftLink) == 0
    assert count(session, Answer) == 1 and session.get(Response, running["complete"]).status == "complete"
    entries = session.scalars(select(FrameEntry).where(FrameEntry.wave_id == running["wave"].id)).all()
    assert [(e.full_name, e.phone, e.email, e.position, e.phone_digest, e.email_digest) for e in entries] == [
        ("", None, None, None, None, None)] * 2
    assert {(e.stratum_id, e.selection_probability) for e in entries} == {(running["stratum"], 0.04)}
    assert session.get(Stratum, running["stratum"]).population_size == 50
    assert session.get(Invitation, running["invitation"]).frame_entry_id is not None
    assert audit(session) == {"wave.closed": None, "wave.drafts_discarded": {"drafts": 2},
                              "wave.contacts_purged": {"frame_entries": 2}}


def test_close_keeping_drafts_and_contacts(app, session, running, no_csrf):
    """The default keeps everything and says so in the audit log."""
    client = coordinator(app, session)
    assert client.post(f"/staff/waves/{running['wave'].code}/close",
                       data={"drafts": "keep", "contacts": "keep"}).status_code == 303
    session.expire_all()
    assert session.get(Wave, running["wave"].id).status == "closed"
    assert count(session, Response, Response.status == "draft") == 2 and count(session, DraftLink) == 1
    assert count(session, FrameEntry, FrameEntry.phone.is_not(None)) == 2
    assert audit(session) == {"wave.closed": None, "wave.drafts_kept": {"drafts": 2},
                              "wave.contacts_kept": {"frame_entries": 2}}
    # Later, contacts purged on the closed wave: one more entry, the wave stays closed.
    assert client.post(f"/staff/waves/{running['wave'].code}/close",
                       data={"drafts": "keep", "contacts": "purge"}).status_code == 303
    session.expire_all()
    assert count(session, FrameEntry, FrameEntry.phone.is_not(None)) == 0
    assert count(session, AuditLog, AuditLog.action == "wave.contacts_purged") == 1


def test_only_a_coordinator_of_every_unit_closes(app, session, running, no_csrf):
    """A coordinator scoped to the wave's unit sees the page with a note; a post is refused, nothing
    changes."""
    client = coordinator(app, session, units=[running["unit"]])
    page = client.get(f"/staff/waves/{running['wave'].code}/close").text
    assert "Chỉ điều phối viên phụ trách mọi đơn vị" in page
    assert client.post(f"/staff/waves/{running['wave'].code}/close",
                       data={"drafts": "discard", "contacts": "purge"}).status_code == 403
    session.expire_all()
    assert session.get(Wave, running["wave"].id).status == "open"
    assert count(session, Response, Response.status == "draft") == 2
    # Nor through the wave page's status route.
    assert client.post(f"/staff/waves/{running['wave'].code}/status/closed").status_code == 403
    session.expire_all()
    assert session.get(Wave, running["wave"].id).status == "open"


def test_draft_wave_cannot_be_closed(app, session, no_csrf):
    """A wave still in draft is refused with the reason, nothing written."""
    wave = waves.create_wave(session, "NHAP", 2026, "Đợt nháp", *sorted([running_day(), running_day()]))
    session.commit()
    client = coordinator(app, session)
    answer = client.post(f"/staff/waves/{wave.code}/close", data={"drafts": "keep", "contacts": "keep"})
    assert answer.status_code == 422 and "không chuyển sang" in answer.text
    session.expire_all()
    assert session.get(Wave, wave.id).status == "draft" and audit(session) == {}


def running_day():
    from datetime import date

    return date(2026, 10, 1)


def test_late_answers_are_refused_politely(app, session, running, no_csrf):
    """After closing: the link's landing says the wave is not open, starting or saving a page and the
    open link answer 410 with the polite page; nothing new is stored."""
    client = coordinator(app, session)
    assert client.post(f"/staff/waves/{running['wave'].code}/close",
                       data={"drafts": "discard", "contacts": "keep"}).status_code == 303
    respondent = app.test_client()
    token, unit = running["token"], running["unit"].id
    landing = respondent.get(f"/r/{token}")
    assert landing.status_code == 200 and "Đợt khảo sát hiện không mở để trả lời." in landing.text
    assert f"/r/{token}/u/{unit}/start" not in landing.text
    for answer in (respondent.post(f"/r/{token}/u/{unit}/start"),
                   respondent.post(f"/r/{token}/u/{unit}/p/1", data={"used": "y", "action": "next"}),
                   respondent.get(f"/o/{running['wave'].code}/{running['group'].code}"),
                   respondent.post(f"/o/{running['wave'].code}/{running['group'].code}",
                                   data={"unit": unit})):
        assert answer.status_code == 410
        assert "Hiện không thể trả lời. Xin cảm ơn Ông/Bà đã quan tâm." in answer.text
    session.expire_all()
    assert count(session, Response) == 1 and count(session, Response, Response.status == "draft") == 0
