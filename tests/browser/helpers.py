"""Helpers the browser tests share."""

import re


def start(page, live_server, token):
    """Open an invitation link and press the first Start/Continue button; wait for a question page."""
    page.goto(f"{live_server.url}/r/{token}")
    page.locator("ul.units button").first.click()
    page.wait_for_url(re.compile(r"/p/\d+$"))


FORWARD = "button[name=action]:not([value=back])"
BACK = "button[name=action][value=back]"


def press(page, selector=FORWARD):
    """Press a page button (forward by default: "Tiếp tục" or "Gửi phiếu") and wait for the next page."""
    with page.expect_navigation():
        page.click(selector)


def submit(page, label: str) -> None:
    """Press the button with this label and wait for the next page."""
    with page.expect_navigation():
        page.get_by_role("button", name=label, exact=True).click()


def staff_log_in(page, live_server, email: str, password: str) -> None:
    """Log in on the staff login page."""
    page.goto(f"{live_server.url}/staff/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    submit(page, "Đăng nhập")
