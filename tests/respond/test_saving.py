"""Saving a page without moving on: "Lưu và tiếp tục sau", a language switch, and the script's autosave.

None of them validates, moves on, submits or creates a response; the answers are in the draft, so
reopening the link shows them.
"""

import re

from sqlalchemy import func, select

from survey.responses.models import HeldSubmission, Response

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf(client, token) -> str:
    """Return a CSRF token of this client's session (from the landing page)."""
    return CSRF.search(client.get(f"/r/{token}").text).group(1)


def start(client, token, unit_id) -> str:
    """Press Start; return the first page's URL."""
    response = client.post(f"/r/{token}/u/{unit_id}/start", data={"csrf_token": csrf(client, token)})
    return response.headers["Location"]


def stored(session) -> dict:
    """Return the one draft's answers and current page."""
    session.expire_all()
    draft = session.scalars(select(Response).where(Response.status == "draft")).one()
    return {"answers": {a.item_id: a.value for a in draft.answers}, "page": draft.current_page}


def responses(session) -> int:
    """Count responses and held submissions, whatever their status."""
    return (session.scalar(select(func.count()).select_from(Response))
            + session.scalar(select(func.count()).select_from(HeldSubmission)))


def test_save_and_go_on_later_keeps_valid_answers_and_stays(client, session, invited):
    """The button stores what is valid (an invalid age is not stored and blocks nothing), stays on the
    page, says it saved, and a fresh browser opening the link finds the answers."""
    invitation, token = invited
    unit_id = invitation.units[0].unit_id
    first = start(client, token, unit_id)
    saved = client.post(first, data={"csrf_token": csrf(client, token), "used": "y", "age": "bốn",
                                     "save": "1"})
    assert saved.status_code == 302 and saved.headers["Location"] == first
    assert "Đã lưu các câu trả lời" in client.get(first).text
    assert stored(session) == {"answers": {"used": "y"}, "page": 0}
    fresh = client.application.test_client()
    page = fresh.get(fresh.get(f"/r/{token}/u/{unit_id}").headers["Location"]).text
    assert re.search(r'checked[^>]*value="y"|value="y"[^>]*checked', page)
    assert responses(session) == 1


def test_language_switch_saves_the_page_first(client, session, invited):
    """The switch posts the page's answers (here with a required answer missing) and shows the same page
    in English with them in place."""
    invitation, token = invited
    first = start(client, token, invitation.units[0].unit_id)
    page = client.get(first).text
    assert f'formaction="{first}?lang=en"' in page and 'form="answers"' in page
    switched = client.post(f"{first}?lang=en", data={"csrf_token": csrf(client, token), "age": "41",
                                                    "switch": "en"})
    assert switched.status_code == 302 and switched.headers["Location"] == first
    english = client.get(first).text
    assert '<html lang="en">' in english and 'value="41"' in english
    assert stored(session) == {"answers": {"age": 41}, "page": 0}
    assert "Đã lưu các câu trả lời" not in english  # a switch is not announced as a save


def test_autosave_stores_the_draft_and_never_submits(client, session, invited):
    """The script's post stores the page (even one asking to submit), answers JSON, and the link
    reopened shows the answers; nothing is submitted and no second response is made."""
    invitation, token = invited
    unit_id = invitation.units[0].unit_id
    first = start(client, token, unit_id)
    assert f'data-autosave="{first}/autosave"' in client.get(first).text
    saved = client.post(f"{first}/autosave", data={"csrf_token": csrf(client, token), "used": "n",
                                                  "age": "30", "action": "submit"})
    assert saved.status_code == 200 and saved.json == {"saved": True}
    assert stored(session) == {"answers": {"used": "n", "age": 30}, "page": 0}
    assert session.scalar(select(func.count()).select_from(HeldSubmission)) == 0
    assert responses(session) == 1
    fresh = client.application.test_client()
    assert 'value="30"' in fresh.get(fresh.get(f"/r/{token}/u/{unit_id}").headers["Location"]).text


def test_autosave_of_a_later_page_moves_the_resume_point(client, session, invited):
    """Autosave on page 2 keeps page 2 as the place to come back to, and adds no page time."""
    invitation, token = invited
    unit_id = invitation.units[0].unit_id
    first = start(client, token, unit_id)
    second = client.post(first, data={"csrf_token": csrf(client, token), "used": "y", "age": "41",
                                      "action": "next"}).headers["Location"]
    session.expire_all()
    before = session.scalars(select(Response)).one().page_seconds
    client.post(f"{second}/autosave", data={"csrf_token": csrf(client, token), "m1_signs": "4"})
    assert stored(session)["page"] == 1 and stored(session)["answers"]["m1_signs"] == "4"
    assert session.scalars(select(Response)).one().page_seconds == before
    assert client.get(f"/r/{token}/u/{unit_id}").headers["Location"] == second


def test_autosave_needs_the_csrf_token(client, session, invited):
    """Without a valid token nothing is stored."""
    invitation, token = invited
    first = start(client, token, invitation.units[0].unit_id)
    refused = client.post(f"{first}/autosave", data={"csrf_token": "forged", "used": "y"})
    assert refused.status_code == 400
    assert stored(session)["answers"] == {}


def test_autosave_never_starts_a_draft_nor_reopens_a_done_unit(client, session, invited):
    """A unit not started, or already submitted, answers 409 and stores nothing."""
    invitation, token = invited
    unit_id = invitation.units[0].unit_id
    url, form = f"/r/{token}/u/{unit_id}/p/1/autosave", csrf(client, token)
    assert client.post(url, data={"csrf_token": form, "used": "y"}).status_code == 409
    assert responses(session) == 0
    first = start(client, token, unit_id)
    client.post(first, data={"csrf_token": form, "used": "n", "age": "30", "action": "submit"})
    late = client.post(url, data={"csrf_token": form, "used": "y"})
    assert late.status_code == 409 and responses(session) == 1
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Response).where(Response.status == "draft")) == 0


def test_autosave_is_rate_limited_like_the_pages(client, session, invited):
    """Autosave shares the link's page budget (120 a minute): the next post is refused."""
    invitation, token = invited
    first = start(client, token, invitation.units[0].unit_id)
    data = {"csrf_token": csrf(client, token), "used": "y"}
    codes = [client.post(f"{first}/autosave", data=data).status_code for _ in range(121)]
    assert set(codes[:120]) == {200} and codes[-1] == 429
