"""axe-core finds no WCAG 2.1 A/AA violation on the respondent's pages."""

from axe_playwright_python.sync_playwright import Axe

from tests.browser.helpers import FORWARD, press, start

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        "resultTypes": ["violations"]}


def violations(page) -> list[str]:
    """Run axe on the page; return one line per violation and node."""
    results = Axe().run(page, options=WCAG)
    return [f"{v['id']} ({v['impact']}): {node['target']} {node.get('failureSummary', '')}"
            for v in results.response["violations"] for node in v["nodes"]]


def test_pages_have_no_violations(context, live_server, invited):
    """Landing page, a page with the server's errors, one with the script's errors, and the thanks."""
    _, token = invited
    page = context.new_page()
    page.goto(f"{live_server.url}/r/{token}")
    assert violations(page) == []
    start(page, live_server, token)
    page.fill("input[name=age]", "12")
    with page.expect_navigation():
        page.evaluate("document.querySelector('form.page').submit()")  # bypasses the script's checks
    assert page.locator(".error-summary").count() == 1 and page.locator(".question.has-error").count() == 2
    assert violations(page) == []
    page.fill("input[name=age]", "abc")
    page.click(FORWARD)
    assert "Vui lòng nhập một số" in page.text_content("#q-age-error")
    assert violations(page) == []
    page.check("input[name=used][value=n]")
    page.fill("input[name=age]", "30")
    press(page)  # "Tiếp tục": page 1 turns out to be the last one and now offers "Gửi phiếu"
    assert page.url.endswith("/p/1") and "Gửi phiếu" in page.text_content(FORWARD)
    press(page)
    assert page.url.endswith("/done")
    assert violations(page) == []
