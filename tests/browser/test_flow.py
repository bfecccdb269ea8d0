"""A respondent answers on a phone-sized screen, with and without JavaScript: resume, back, submit."""

import pytest
from sqlalchemy import select

from survey.responses.models import Response
from tests.browser.conftest import PHONE
from tests.browser.helpers import BACK, press, start


def new_page(browser, javascript):
    """Open a page in a fresh context (a new browser session) at phone size."""
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
    return context, context.new_page()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_answer_resume_back_submit(browser, live_server, session, invited, javascript):
    """Answering, closing, resuming, going back and forth and submitting stores one complete response."""
    invitation, token = invited
    context, page = new_page(browser, javascript)
    start(page, live_server, token)
    assert page.url.endswith("/p/1")
    page.check("input[name=used][value=y]")
    page.fill("input[name=age]", "41")
    press(page)
    assert page.url.endswith("/p/2")
    page.check("input[name=m1_signs][value='4']")
    press(page, BACK)  # saves page 2 without checking it
    assert page.url.endswith("/p/1")
    press(page)
    context.close()

    context, page = new_page(browser, javascript)
    start(page, live_server, token)  # the landing page now offers "Tiếp tục"
    assert page.url.endswith("/p/2")
    assert page.is_checked("input[name=m1_signs][value='4']")
    press(page, BACK)
    assert page.is_checked("input[name=used][value=y]")
    assert page.input_value("input[name=age]") == "41"
    press(page)
    page.check("input[name=wish][value=a]")
    press(page)
    assert page.url.endswith("/done")
    assert "đã được ghi nhận" in page.text_content("main")
    page.goto(f"{live_server.url}/r/{token}")
    assert "Đã hoàn thành" in page.text_content("ul.units")
    assert page.locator("ul.units button").count() == 0
    context.close()

    session.expire_all()
    stored = session.scalars(select(Response).where(Response.status == "complete")).all()
    assert len(stored) == 1
    assert {a.item_id: a.value for a in stored[0].answers} == {
        "used": "y", "age": 41.0, "m1_signs": "4", "wish": ["a"]}
