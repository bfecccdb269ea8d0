"""The analysts' results page in a laptop-sized Chromium: bounded height, no sideways page, charts
that load under the app's Content-Security-Policy, and the HTML report's charts shown from the app."""

from survey import demo
from tests.browser.helpers import staff_log_in, submit
from tests.factories import seed_demo

LAPTOP = {"width": 1366, "height": 768}
SECTIONS = ("summary", "fw-sipas-2023", "fw-par-province-2024", "ranking", "quality", "files")


def test_results_page_fits_a_laptop_and_shows_its_charts(browser, app, live_server, session):
    seed_demo(app, session)
    context = browser.new_context(viewport=LAPTOP, locale="vi-VN")
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        staff_log_in(page, live_server, demo.COORDINATOR_EMAIL, demo.COORDINATOR_PASSWORD)
        wave = f"{live_server.url}/staff/analysis/{demo.WAVE_CODE}"
        page.goto(wave)
        submit(page, "Tính báo cáo")
        page.goto(wave)
        assert page.locator(".computed").inner_text().startswith("Kết quả tính lúc")
        assert page.locator("dl.legend dt").count() == 4
        for section in SECTIONS:
            page.goto(f"{wave}?section={section}")
            page.wait_for_load_state("load")
            height = page.evaluate("document.documentElement.scrollHeight")
            assert height < 6000, (section, height)
            # wide tables scroll inside their box: the page itself never scrolls sideways
            assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"], section
            charts = page.locator("img.results-chart")
            for i in range(charts.count()):
                charts.nth(i).scroll_into_view_if_needed()
            page.wait_for_function("[...document.images].every(i => i.complete)")
            widths = page.evaluate("[...document.querySelectorAll('img.results-chart')]"
                                   ".map(i => i.naturalWidth)")
            if section in ("summary", "fw-sipas-2023", "fw-par-province-2024"):
                assert widths and all(w > 0 for w in widths), (section, widths)
        # the first column stays in view while a wide table scrolls sideways
        page.goto(f"{wave}?section=fw-sipas-2023")
        box = page.locator(".results").nth(1)
        first = box.locator("tbody th").first
        before = first.bounding_box()["x"]
        box.evaluate("b => b.scrollLeft = b.scrollWidth")
        assert abs(first.bounding_box()["x"] - before) < 1
        # the HTML report opened from the app shows its embedded charts
        page.goto(f"{wave}/files/index.html")
        page.wait_for_function("[...document.images].every(i => i.complete)")
        widths = page.evaluate("[...document.images].map(i => i.naturalWidth)")
        assert len(widths) >= 3 and all(w > 0 for w in widths), widths
        assert problems == [], problems
    finally:
        context.close()
