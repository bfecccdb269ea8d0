"""Phone layout of a SIPAS page with a matrix: no sideways scrolling, big tap targets, few requests."""

from urllib.parse import urlsplit

from tests.browser.helpers import press, start

SCREENING = {"s1_field": "1", "s2_place": "2", "s3_result_when": "1", "s4_feedback_given": "2"}
SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def matrix_page(browser, live_server, token, width=320):
    """Open a context at the given width and answer the screening page up to the matrix page."""
    context = browser.new_context(viewport={"width": width, "height": 640})
    page = context.new_page()
    start(page, live_server, token)
    for name, code in SCREENING.items():
        page.check(f"input[name={name}][value='{code}']")
    press(page)
    assert page.locator("fieldset.matrix").count() >= 1
    return context, page


def test_no_horizontal_scrolling_at_320_px_even_at_200_percent_text(browser, live_server, sipas_invited):
    """A matrix page fits 320 px, and still does when the text is twice as large."""
    context, page = matrix_page(browser, live_server, sipas_invited[1])
    assert page.evaluate(SIDEWAYS) <= 0
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert page.evaluate(SIDEWAYS) <= 0
    context.close()


def test_tap_targets_are_at_least_44_px(browser, live_server, sipas_invited):
    """Every option row and every button is at least 44 CSS pixels tall."""
    context, page = matrix_page(browser, live_server, sipas_invited[1])
    heights = page.evaluate("""() => [...document.querySelectorAll('.option, button')]
        .filter((e) => e.offsetParent !== null)
        .map((e) => [e.textContent.trim(), e.getBoundingClientRect().height])""")
    assert len(heights) > 10
    assert [h for h in heights if h[1] < 44] == []
    context.close()


def test_a_page_needs_html_css_and_js_only(browser, live_server, sipas_invited):
    """Opening a question page in a fresh browser makes at most three requests, all to the site itself."""
    context, page = matrix_page(browser, live_server, sipas_invited[1])
    url = page.url
    context.close()
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    del live_server.paths[:]
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(300)  # a favicon request would come after the load
    assert 1 <= len(requests) <= 3, requests
    assert {urlsplit(url).netloc for url in requests} == {urlsplit(live_server.url).netloc}
    assert len(live_server.paths) == len(requests), live_server.paths  # no favicon.ico either
    context.close()
