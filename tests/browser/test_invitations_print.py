"""A coordinator on a phone without JavaScript issues invitations and e-mails them; letters print one
person to an A4 page, slips eight to a page, and the links in the e-mails open in the browser."""

import re

from sqlalchemy import select

from survey.sampling.models import Invitation
from tests.browser.conftest import PHONE
from tests.browser.helpers import staff_log_in, submit
from tests.factories import STAFF_PASSWORD, make_staff
from tests.sampling.test_invitations import LINK, smtp, world  # noqa: F401 - fixtures

PAGES = re.compile(rb"/Type\s*/Page[^s]")
SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def test_issue_send_and_print_without_javascript(browser, live_server, session, world, smtp):  # noqa: F811
    """Issue, preview and send the e-mails, open a link; print letters (7 pages) and slips (1 page)."""
    make_staff(session, "coordinator")
    context = browser.new_context(viewport=PHONE, locale="vi-VN", java_script_enabled=False)
    page = context.new_page()
    staff_log_in(page, live_server, "coordinator@example.vn", STAFF_PASSWORD)
    page.goto(f"{live_server.url}/staff/waves/{world.wave.code}/invitations")
    assert page.evaluate(SIDEWAYS) <= 0
    submit(page, "Tạo thư mời cho người chưa có")
    assert "Đã tạo 7 thư mời" in page.text_content("main")
    submit(page, "Gửi thư mời…")
    assert page.text_content("td.eligible") == "7"
    submit(page, "Gửi 7 thư mời")
    assert "Đã gửi 7 thư điện tử." in page.text_content("main")
    assert len(smtp.messages) == 7
    body = smtp.messages[0][1].get_body(("plain",)).get_content()
    page.goto(f"{live_server.url}/r/{LINK.search(body).group(1)}")
    assert page.get_by_role("button", name=re.compile("Bắt đầu")).count() >= 1
    assert session.scalar(select(Invitation.sent_count).limit(1)) == 1

    printer = browser.new_page()  # print from a desktop window with the coordinator's cookies
    printer.context.add_cookies(context.cookies())
    printer.goto(f"{live_server.url}/staff/waves/{world.wave.code}/invitations/letters")
    assert printer.locator(".letter svg").count() == 7
    assert len(PAGES.findall(printer.pdf(format="A4"))) == 7
    printer.goto(f"{live_server.url}/staff/waves/{world.wave.code}/invitations/slips")
    assert printer.locator(".slip svg").count() == 7
    assert len(PAGES.findall(printer.pdf(format="A4"))) == 1
    printer.close()
    context.close()
