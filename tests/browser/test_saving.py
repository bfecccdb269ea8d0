"""Nothing typed is lost, and a link rating several units asks about the person once (phone-sized).

With JavaScript the page's answers are saved as the person goes: closing the tab without pressing
"Tiếp tục" loses nothing. The language switch saves the page before showing it in the other language.
"""

import time

import pytest
from sqlalchemy import select

from survey.responses.models import Response
from survey.sampling.models import InvitationUnit
from tests.browser.conftest import PHONE
from tests.browser.helpers import press, start
from tests.conftest import TEST_SECRET
from tests.factories import make_invitation, make_unit, make_version
from tests.respond.test_profile_once import WITH_PROFILE, answers_by_unit


def test_answers_saved_as_the_person_goes(browser, live_server, invited):
    """Answer, wait for the autosave, close the tab without pressing Next: the reopened link has them."""
    _invitation, token = invited
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    start(page, live_server, token)
    page.check("input[name=used][value=y]")
    with page.expect_response(lambda r: r.url.endswith("/autosave") and r.ok):
        page.fill("input[name=age]", "41")
    page.wait_for_selector("#autosave-status:has-text('Đã tự động lưu')")
    page.close()
    context.close()

    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    start(page, live_server, token)
    assert page.url.endswith("/p/1")
    assert page.is_checked("input[name=used][value=y]")
    assert page.input_value("input[name=age]") == "41"
    context.close()


def test_closing_the_tab_at_once_loses_nothing(browser, live_server, invited, session):
    """Typed, then the tab closed before the autosave's second: the page sends it as it goes away."""
    _invitation, token = invited
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    start(page, live_server, token)
    page.fill("input[name=age]", "63")
    page.close(run_before_unload=True)
    answers = {}
    for _ in range(50):  # the post may still be on its way: wait for it, at most five seconds
        session.expire_all()
        answers = {a.item_id: a.value for r in session.scalars(select(Response)) for a in r.answers}
        if answers:
            break
        time.sleep(0.1)
    context.close()
    assert answers == {"age": 63}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_language_switch_keeps_the_page(browser, live_server, invited, javascript):
    """Switching to English mid-page (a required answer still missing) keeps what was typed."""
    _invitation, token = invited
    context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
    page = context.new_page()
    start(page, live_server, token)
    page.fill("input[name=age]", "52")
    with page.expect_navigation():
        page.click("header.site button[name=switch]")
    assert page.url.endswith("/p/1")
    assert page.get_attribute("html", "lang") == "en"
    assert page.input_value("input[name=age]") == "52"
    page.check("input[name=used][value=n]")
    with page.expect_navigation():
        page.click("header.site button[name=switch]")
    assert page.get_attribute("html", "lang") == "vi"
    assert page.is_checked("input[name=used][value=n]") and page.input_value("input[name=age]") == "52"
    context.close()


def test_multi_unit_link_asks_the_profile_once(browser, live_server, session):
    """Two units from one link: the profile page comes once; each rating page is headed by the unit."""
    units = [make_unit(session, name="Sở Nội vụ"), make_unit(session, name="Sở Tài chính")]
    _invitation, token = make_invitation(session, TEST_SECRET, units=units,
                                         version=make_version(session, WITH_PROFILE))
    session.commit()
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    profile_pages = 0
    for unit in units:
        start(page, live_server, token)
        assert page.text_content("h1").strip() == unit.name
        page.check("input[name=used][value=n]")
        page.fill("input[name=age]", "45")
        while not page.url.endswith("/done"):
            if page.locator("input[name=sex]").count():
                profile_pages += 1
                assert "Thông tin về người trả lời" in page.text_content("h1")
                page.check("input[name=sex][value='2']")
            press(page)
    assert profile_pages == 1
    box = page.locator("main").bounding_box()
    assert box["width"] <= PHONE["width"]
    context.close()
    session.expire_all()
    assert set(session.scalars(select(InvitationUnit.status))) == {"done"}
    assert answers_by_unit(session) == {unit.id: {"used": "n", "age": 45, "sex": "2"} for unit in units}
