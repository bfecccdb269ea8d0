"""A submission the database refuses is logged and said honestly, to respondents and to clerks.

The failure is real: a trigger in the database refuses every held submission (no mock stands in for
the database). Nobody is thanked or told "Đã lưu phiếu"; the page stays with the answers in its form
and in the draft, and the log names the request, never the answers.
"""

import logging
import re

import pytest
from sqlalchemy import select, text

from survey.auth.models import AuditLog
from survey.responses.models import HeldSubmission, Response
from survey.sampling.models import InvitationUnit, WaveUnit
from tests.conftest import TEST_SECRET, on_postgresql
from tests.factories import csrf_token, log_in, make_invitation

LOGGED = re.compile(r"submission failed: request (\S+), (\w+) \(\w+, \w+\)")


def refuse_submissions(session, errcode: str = "23514") -> None:
    """Add a trigger that refuses every insert into held_submissions (on either database)."""
    if on_postgresql():
        session.execute(text(
            "CREATE OR REPLACE FUNCTION refuse_held() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION 'refused for the test' USING ERRCODE = '{errcode}'; END $$"))
        session.execute(text("CREATE TRIGGER refuse_held BEFORE INSERT ON held_submissions "
                             "FOR EACH ROW EXECUTE FUNCTION refuse_held()"))
    else:
        session.execute(text("CREATE TRIGGER refuse_held BEFORE INSERT ON held_submissions "
                             "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"))
    session.commit()


def accept_submissions(session) -> None:
    """Drop the refusing trigger."""
    session.execute(text("DROP TRIGGER refuse_held ON held_submissions" if on_postgresql()
                         else "DROP TRIGGER refuse_held"))
    if on_postgresql():
        session.execute(text("DROP FUNCTION refuse_held()"))
    session.commit()


def logged_failures(caplog) -> list[tuple[str, str]]:
    """Return (request id, error class) of each logged failed submission; check no answer is logged."""
    found = []
    for record in caplog.records:
        match = LOGGED.fullmatch(record.getMessage())
        if match:
            assert record.levelno == logging.ERROR and not record.exc_info
            found.append(match.groups())
    return found


@pytest.fixture
def invited(session):
    """An invitation to rate one commune with the small questionnaire, the commune in the wave."""
    invitation, token = make_invitation(session, TEST_SECRET)
    session.add(WaveUnit(wave_id=invitation.wave_id, unit_id=invitation.units[0].unit_id))
    session.commit()
    return invitation, token


def test_respondent_is_told_the_submission_failed_and_keeps_the_answers(client, session, invited, caplog):
    """409, the page with its answers and a message quoting the request id; then a retry succeeds."""
    invitation, token = invited
    unit = invitation.units[0].unit_id
    form = csrf_token(client, f"/r/{token}")
    first = client.post(f"/r/{token}/u/{unit}/start", data={"csrf_token": form}).headers["Location"]
    refuse_submissions(session)

    with caplog.at_level(logging.ERROR):
        failed = client.post(first, data={"csrf_token": form, "used": "n", "age": "61", "action": "submit"})

    assert failed.status_code == 409
    assert "Phiếu chưa được gửi" in failed.text and "Cảm ơn" not in failed.text
    assert 'value="61"' in failed.text  # the answers are still in the form
    request_id = failed.headers["X-Request-ID"]
    assert request_id in failed.text
    assert logged_failures(caplog) == [(request_id, "IntegrityError")]
    assert "61" not in " ".join(r.getMessage().replace(request_id, "") for r in caplog.records)
    session.expire_all()
    draft = session.scalars(select(Response).where(Response.status == "draft")).one()
    assert {a.item_id: a.value for a in draft.answers} == {"used": "n", "age": 61}
    assert session.scalars(select(HeldSubmission)).all() == []
    assert session.scalars(select(InvitationUnit.status)).one() != "done"

    accept_submissions(session)
    retried = client.post(first, data={"csrf_token": form, "used": "n", "age": "61", "action": "submit"})
    assert retried.status_code == 302 and retried.headers["Location"].endswith("/done")
    session.expire_all()
    submitted = session.scalars(select(HeldSubmission)).all() + session.scalars(
        select(Response).where(Response.status == "complete")).all()  # held, or released already
    assert len(submitted) == 1


def test_clerk_is_not_told_a_form_was_saved_when_it_was_not(client, session, invited, caplog):
    """The clerk stays on the form (409) with "Phiếu chưa được lưu"; no audit entry, the draft kept."""
    invitation, _token = invited
    log_in(client, session, "data_entry", all_units=True)
    start_url = f"/staff/entry/{invitation.wave.code}/{invitation.group.code}"
    form = csrf_token(client, start_url)
    page = client.post(start_url, data={"csrf_token": form, "unit_code": invitation.units[0].unit.code,
                                        "form_number": "1", "mode": "paper"}).headers["Location"]
    refuse_submissions(session)

    with caplog.at_level(logging.ERROR):
        failed = client.post(page, data={"csrf_token": form, "used": "n", "age": "52", "action": "submit"})

    assert failed.status_code == 409
    assert "Phiếu chưa được lưu" in failed.text and "Đã lưu phiếu" not in failed.text
    assert 'value="52"' in failed.text
    assert logged_failures(caplog) == [(failed.headers["X-Request-ID"], "IntegrityError")]
    session.expire_all()
    assert session.scalars(select(Response.status)).all() == ["draft"]
    assert session.scalars(select(AuditLog).where(AuditLog.action == "response.entered")).all() == []
    assert "Đã lưu phiếu" not in client.get(page).text


@pytest.mark.skipif(not on_postgresql(), reason="a non-constraint error raised by a trigger: PostgreSQL")
def test_other_database_errors_answer_500(client, session, invited, caplog):
    """An error that is not a conflict (here a trigger's plain exception) is a 500, said on the page."""
    invitation, token = invited
    unit = invitation.units[0].unit_id
    form = csrf_token(client, f"/r/{token}")
    first = client.post(f"/r/{token}/u/{unit}/start", data={"csrf_token": form}).headers["Location"]
    refuse_submissions(session, errcode="P0001")
    with caplog.at_level(logging.ERROR):
        failed = client.post(first, data={"csrf_token": form, "used": "n", "age": "61", "action": "submit"})
    assert failed.status_code == 500 and "Phiếu chưa được gửi" in failed.text
    assert [cls for _id, cls in logged_failures(caplog)] == ["ProgrammingError"]
