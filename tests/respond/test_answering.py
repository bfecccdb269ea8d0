"""Answering through an invitation link: pages, skip logic, resume, submit, and what can go wrong."""

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from survey.responses.models import Response
from survey.sampling.models import InvitationUnit
from tests.conftest import TEST_SECRET
from tests.factories import make_invitation, make_unit, make_wave

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf(client, url) -> str:
    """Return the CSRF token of the form on a page."""
    return CSRF.search(client.get(url).text).group(1)


def start(client, token, unit_id) -> str:
    """Press Start on the landing page; return the first page's URL."""
    response = client.post(f"/r/{token}/u/{unit_id}/start", data={"csrf_token": csrf(client, f"/r/{token}")})
    assert response.status_code == 302
    return response.headers["Location"]


def post(client, url, **data):
    """Post a page with its CSRF token."""
    return client.post(url, data={"csrf_token": csrf(client, f"/r/{url.split('/')[2]}")} | data)


def complete_count(session) -> int:
    """Count complete responses."""
    return session.scalar(select(func.count()).select_from(Response).where(Response.status == "complete"))


def page_url(token, unit_id, number) -> str:
    """URL of a page."""
    return f"/r/{token}/u/{unit_id}/p/{number}"


def answer_all(client, token, unit_id, used="y"):
    """Answer both pages and submit; return the final response."""
    first = start(client, token, unit_id)
    response = post(client, first, used=used, age="41", action="next" if used == "y" else "submit")
    if used == "y":
        response = post(client, response.headers["Location"], m1_signs="4", wish=["a", "b"],
                        action="submit")
    return response


def test_landing_lists_units_and_anonymity(client, invited):
    """The landing page says how answers stay anonymous and offers to start each unit."""
    invitation, token = invited
    page = client.get(f"/r/{token}")
    assert page.status_code == 200
    assert "ẩn danh" in page.text and invitation.units[0].unit.name in page.text
    assert f"/u/{invitation.units[0].unit_id}/start" in page.text


def test_full_flow_with_skip_logic(client, session, invited):
    """Answering 'no' skips page 2, submits on page 1 and stores only the shown answers."""
    invitation, token = invited
    unit_id = invitation.units[0].unit_id
    first = start(client, token, unit_id)
    response = post(client, first, used="n", age="30", action="next")
    assert response.headers["Location"].endswith("/p/1")  # now the last page: no submit yet
    again = client.get(response.headers["Location"]).text
    assert "Đây là trang cuối" in again and 'value="submit"' in again
    response = post(client, first, used="n", age="30", action="submit")
    assert response.status_code == 302 and response.headers["Location"].endswith("/done")
    thanks = client.get(response.headers["Location"])
    assert "Cảm ơn" in thanks.text
    stored = session.scalars(select(Response).where(Response.status == "complete")).one()
    assert {a.item_id: a.value for a in stored.answers} == {"used": "n", "age": 30.0}


def test_answers_on_later_pages_are_dropped_when_skipped(client, session, invited):
    """Answers given on page 2 are removed when the respondent goes back and says 'no'."""
    invitation, token = invited
    unit_id = invitation.units[0].unit_id
    first = start(client, token, unit_id)
    second = post(client, first, used="y", age="41", action="next").headers["Location"]
    post(client, second, m1_signs="5", action="back")
    done = post(client, first, used="n", age="41", action="submit")
    assert done.headers["Location"].endswith("/done")
    stored = session.scalars(select(Response).where(Response.status == "complete")).one()
    assert "m1_signs" not in {a.item_id for a in stored.answers}


def test_resume_at_the_same_page_with_answers(client, invited):
    """Opening the link again goes back to the page reached, with answers in place."""
    invitation, token = invited
    unit_id = invitation.units[0].unit_id
    first = start(client, token, unit_id)
    second = post(client, first, used="y", age="41", action="next").headers["Location"]
    post(client, second, m1_signs="4", action="back")
    fresh = client.application.test_client()
    resumed = fresh.get(f"/r/{token}/u/{unit_id}")
    assert resumed.headers["Location"].endswith("/p/1")
    page = fresh.get(resumed.headers["Location"]).text
    assert re.search(r'value="41"', page)
    page2 = fresh.get(second).text
    assert re.search(r'checked[^>]*value="4"|value="4"[^>]*checked', page2)


def test_required_error_is_shown_in_vietnamese(client, invited):
    """A missing required answer stays on the page with a summary and the error beside the field."""
    invitation, token = invited
    first = start(client, token, invitation.units[0].unit_id)
    response = post(client, first, age="41", action="next")
    assert response.status_code == 422
    assert 'class="error-summary"' in response.text and "Vui lòng trả lời câu hỏi này." in response.text
    assert 'href="#q-used"' in response.text and "autofocus" in response.text


def test_constraint_and_bounds(client, invited):
    """A number outside its bounds is refused with the bound in the message; the value stays."""
    invitation, token = invited
    first = start(client, token, invitation.units[0].unit_id)
    response = post(client, first, used="y", age="12", action="next")
    assert response.status_code == 422 and "từ 18 trở lên" in response.text
    assert 'value="12"' in response.text


def test_decimal_comma_and_text_in_numbers(client, invited):
    """Letters in a number field are refused with a Vietnamese message."""
    invitation, token = invited
    first = start(client, token, invitation.units[0].unit_id)
    response = post(client, first, used="y", age="bốn mươi", action="next")
    assert response.status_code == 422 and "Vui lòng nhập một số" in response.text


def test_after_submission_the_link_says_already_answered(client, invited):
    """After submitting, the pages and Start lead to the 'already answered' page."""
    invitation, token = invited
    unit_id = invitation.units[0].unit_id
    answer_all(client, token, unit_id)
    again = client.get(page_url(token, unit_id, 1))
    assert again.headers["Location"].endswith("/done")
    assert "đã được ghi nhận" in client.get(again.headers["Location"]).text
    assert "/start" not in client.get(f"/r/{token}").text


def test_double_submit_stores_one_response(client, session, invited):
    """Submitting the last page twice (a double tap or a resend) stores one response."""
    invitation, token = invited
    unit_id = invitation.units[0].unit_id
    first = start(client, token, unit_id)
    second = post(client, first, used="y", age="41", action="next").headers["Location"]
    token_value = csrf(client, f"/r/{token}")
    data = {"csrf_token": token_value, "m1_signs": "4", "action": "submit"}
    one = client.post(second, data=data)
    two = client.post(second, data=data)
    assert one.headers["Location"].endswith("/done") and two.headers["Location"].endswith("/done")
    assert complete_count(session) == 1


def test_two_tabs_store_one_response(client, session, invited):
    """A second tab that posts after the first submitted creates nothing."""
    invitation, token = invited
    unit_id = invitation.units[0].unit_id
    first = start(client, token, unit_id)
    other_tab = client.application.test_client()
    other_csrf = CSRF.search(other_tab.get(f"/r/{token}").text).group(1)
    post(client, first, used="n", age="30", action="submit")
    late = other_tab.post(first, data={"csrf_token": other_csrf, "used": "y", "age": "50",
                                       "action": "submit"})
    assert late.headers["Location"].endswith("/done")
    assert complete_count(session) == 1


def test_expired_wave_says_so(client, session):
    """A wave past its closing date says so on the landing and the pages, and accepts nothing."""
    today = date.today()
    wave = make_wave(session, opens_on=today - timedelta(days=40), closes_on=today - timedelta(days=1))
    invitation, token = make_invitation(session, TEST_SECRET, wave=wave)
    session.commit()
    landing = client.get(f"/r/{token}")
    assert "không mở" in landing.text and "/start" not in landing.text
    page = client.get(page_url(token, invitation.units[0].unit_id, 1))
    assert page.status_code == 410 and "không mở" in page.text
    assert session.scalar(select(func.count()).select_from(Response)) == 0


def test_tampered_page_number(client, invited):
    """A page past the first unanswered one redirects back; a page that does not exist is 404."""
    invitation, token = invited
    unit_id = invitation.units[0].unit_id
    start(client, token, unit_id)
    assert client.get(page_url(token, unit_id, 2)).headers["Location"].endswith("/p/1")
    assert client.get(page_url(token, unit_id, 99)).status_code == 404
    assert client.get(page_url(token, unit_id, 0)).status_code == 404


def test_hidden_item_posted_anyway_is_not_stored(client, session, invited):
    """A value posted for an item hidden by skip logic is ignored."""
    invitation, token = invited
    unit_id = invitation.units[0].unit_id
    first = start(client, token, unit_id)
    post(client, first, used="n", age="30", m1_signs="5", action="submit")
    stored = session.scalars(select(Response).where(Response.status == "complete")).one()
    assert "m1_signs" not in {a.item_id for a in stored.answers}


def test_unknown_option_code_is_refused(client, session, invited):
    """An option code that is not in the list is refused, not stored."""
    invitation, token = invited
    first = start(client, token, invitation.units[0].unit_id)
    response = post(client, first, used="maybe", age="30", action="next")
    assert response.status_code == 422 and "Lựa chọn không hợp lệ" in response.text
    assert complete_count(session) == 0


def test_csrf_failure_keeps_answers_unsaved_and_says_why(client, invited):
    """A post without a valid CSRF token saves nothing and asks to send again."""
    invitation, token = invited
    first = start(client, token, invitation.units[0].unit_id)
    response = client.post(first, data={"csrf_token": "forged", "used": "y", "age": "41",
                                        "action": "next"})
    assert response.status_code == 400 and "Phiên làm việc đã hết hạn" in response.text
    assert f'href="{first}"' in response.text
    assert 'value="41"' not in client.get(first).text


def test_unknown_unit_for_invitation_is_404(client, session, invited):
    """A unit the invitation does not rate cannot be started."""
    _, token = invited
    other = make_unit(session)
    session.commit()
    response = client.post(f"/r/{token}/u/{other.id}/start", data={"csrf_token": csrf(client, f"/r/{token}")})
    assert response.status_code == 404


def test_guessed_tokens_are_404_then_rate_limited(client):
    """Guessing tokens answers 404, and after 30 guesses a minute, 429."""
    codes = [client.get(f"/r/{'x' * 20}{n:04d}").status_code for n in range(32)]
    assert set(codes[:30]) == {404} and codes[-1] == 429


def test_one_response_per_unit_from_one_link(client, session):
    """An official rating two units answers one response per unit from the same link."""
    units = [make_unit(session), make_unit(session)]
    invitation, token = make_invitation(session, TEST_SECRET, units=units)
    session.commit()
    for unit in units:
        answer_all(client, token, unit.id, used="n")
    assert complete_count(session) == 2
    assert set(session.scalars(select(InvitationUnit.status))) == {"done"}
    assert "đã hoàn thành tất cả" in client.get(f"/r/{token}/u/{units[1].id}/done").text


def test_paradata_has_durations_and_device_only(client, session, invited):
    """The response stores seconds per page and a device class, nothing else about the person."""
    invitation, token = invited
    unit_id = invitation.units[0].unit_id
    first = start(client, token, unit_id)
    client.get(first)
    client.post(first, headers={"User-Agent": "Mozilla/5.0 (Linux; Android 10; K) Mobile Safari"},
                data={"csrf_token": csrf(client, f"/r/{token}"), "used": "n", "age": "30",
                      "action": "submit"})
    stored = session.scalars(select(Response).where(Response.status == "complete")).one()
    assert stored.device_class == "phone"
    assert set(stored.page_seconds) == {"s1"} and stored.page_seconds["s1"] >= 0
