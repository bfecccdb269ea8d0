"""Concurrent requests against the real database (SQLite file, or PostgreSQL when DATABASE_URL says so)."""

import re
import threading

from sqlalchemy import func, select

from survey.responses.models import Response
from survey.sampling.models import WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import log_in, make_invitation, make_version

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def in_parallel(calls: list) -> list:
    """Run the calls in threads released together; return their results in order (re-raise errors)."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test thread
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def complete_count(session) -> int:
    """Count complete responses."""
    return session.scalar(select(func.count()).select_from(Response).where(Response.status == "complete"))


def test_double_submit_in_parallel_thanks_twice_and_stores_one(app, session):
    """Two simultaneous posts of the last page both end on the thanks page; one response is stored."""
    version = make_version(session)
    invitations = [make_invitation(session, TEST_SECRET, version=version) for _ in range(5)]
    session.commit()
    for invitation, token in invitations:
        unit_id = invitation.units[0].unit_id
        browser = app.test_client()
        csrf = CSRF.search(browser.get(f"/r/{token}").text).group(1)
        first = browser.post(f"/r/{token}/u/{unit_id}/start", data={"csrf_token": csrf})
        last = browser.post(first.headers["Location"], data={"csrf_token": csrf, "used": "y", "age": "41",
                                                             "action": "next"}).headers["Location"]
        # The same browser twice (a double tap): a second client carrying the same session cookie.
        twin = app.test_client()
        twin.set_cookie("session", browser.get_cookie("session").value)
        data = {"csrf_token": csrf, "m1_signs": "4", "wish": ["a"], "action": "submit"}
        replies = in_parallel([lambda c=c, u=last, d=data: c.post(u, data=d) for c in (browser, twin)])
        assert [r.status_code for r in replies] == [302, 302], [r.text[:300] for r in replies]
        assert all(r.headers["Location"].endswith(f"/r/{token}/u/{unit_id}/done") for r in replies)
        for client, reply in zip((browser, twin), replies, strict=True):
            thanks = client.get(reply.headers["Location"])
            assert thanks.status_code == 200 and "đã được ghi nhận" in thanks.text
    assert complete_count(session) == 5


def _clerk_at_a_paper_form(app, session):
    """A logged-in clerk with a started paper form: (client, the form's page URL, the page's answers)."""
    invitation, _ = make_invitation(session, TEST_SECRET)
    session.add(WaveUnit(wave_id=invitation.wave_id, unit_id=invitation.units[0].unit_id))
    session.commit()
    clerk = app.test_client()
    log_in(clerk, session, "data_entry")
    start_url = f"/staff/entry/{invitation.wave.code}/{invitation.group.code}"
    csrf = CSRF.search(clerk.get(start_url).text).group(1)
    page = clerk.post(start_url, data={"csrf_token": csrf, "unit_code": invitation.units[0].unit.code,
                                       "form_number": "1", "mode": "paper"}).headers["Location"]
    return clerk, page, {"csrf_token": csrf, "used": "n", "age": "52", "action": "submit"}


def test_data_entry_double_save_in_parallel_stores_one(app, session):
    """A clerk's double click on the last page of a paper form stores it once; both posts confirm."""
    clerk, page, data = _clerk_at_a_paper_form(app, session)
    twin = app.test_client()
    twin.set_cookie("session", clerk.get_cookie("session").value)
    replies = in_parallel([lambda c=c: c.post(page, data=data) for c in (clerk, twin)])
    assert [r.status_code for r in replies] == [302, 302], [r.text[:300] for r in replies]
    # Both confirm the saved form; a post arriving after the first was committed (the draft is gone)
    # is sent to the entry page, which says the form was saved or discarded (never an error page).
    locations = sorted(r.headers["Location"] for r in replies)
    assert "/staff/entry/next/" in locations[-1]
    assert "/staff/entry/next/" in locations[0] or locations[0].endswith("/staff/entry/")
    assert complete_count(session) == 1


def test_a_late_second_save_of_an_entered_form_says_where_it_went(app, session):
    """The second click arriving after the form was saved: the entry page, with what happened."""
    clerk, page, data = _clerk_at_a_paper_form(app, session)
    assert "/staff/entry/next/" in clerk.post(page, data=data).headers["Location"]
    late = clerk.post(page, data=data, follow_redirects=True)
    assert late.status_code == 200 and "phiếu đã được lưu (ở lần bấm trước)" in late.text
    assert complete_count(session) == 1
