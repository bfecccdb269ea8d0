"""The SIPAS form on a 360×740 phone (issue 13.3): the section heading and its questions share one
number, "Phần k/N" keeps its N when an answer skips a section, and choosing "Khác" opens its text box
(always there without JavaScript, labelled to say when it applies)."""

import pytest

from tests.browser.conftest import PHONE
from tests.browser.helpers import BACK, press, start

NUMBERS = """() => ({
  heading: document.querySelector('h1 .number').textContent.trim(),
  questions: Array.from(document.querySelectorAll('form.page .number')).map(e => e.textContent.trim()),
  progress: document.querySelector('#progress').textContent.split('·')[0].replace(/\\s+/g, ' ').trim(),
})"""


def numbered(page) -> tuple[str, str]:
    """Return (section number, progress text), checking every question on the page is numbered within it."""
    seen = page.evaluate(NUMBERS)
    section = seen["heading"].rstrip(".")
    assert seen["questions"] and all(q.startswith(f"{section}.") for q in seen["questions"]), seen
    return section, seen["progress"]


def test_numbering_and_progress_agree_across_a_relevance_change(browser, live_server, sipas_invited):
    """Page 1 is "1." and "Phần 1/9"; filing online skips section 2, so the next page is "3." and
    "Phần 3/9"; going back and filing at an office brings section 2 in: "2.", "Phần 2/9"."""
    _, token = sipas_invited
    context = browser.new_context(viewport=PHONE, locale="vi-VN")
    page = context.new_page()
    start(page, live_server, token)
    assert numbered(page) == ("1", "Phần 1/9")
    assert page.text_content("h1").split()[:2] == ["1.", "Thủ"]
    page.check("input[name=s1_field][value='2']")
    page.check("input[name=s2_place][value='3']")  # online: no office to rate (section 2 skipped)
    page.check("input[name=s3_result_when][value='1']")
    page.check("input[name=s4_feedback_given][value='2']")
    press(page)
    assert page.url.endswith("/p/3")
    assert numbered(page) == ("3", "Phần 3/9")
    assert "Phần 2 không áp dụng" in page.text_content("#skipped")
    press(page, BACK)
    page.check("input[name=s2_place][value='1']")  # at the provincial centre: section 2 applies
    press(page)
    assert page.url.endswith("/p/2")
    assert numbered(page) == ("2", "Phần 2/9")
    assert page.text_content("h1").strip().startswith("2. Tiếp cận dịch vụ")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= PHONE["width"]  # nothing wider than the phone
    context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_choosing_other_opens_its_text_box(browser, live_server, sipas_invited, javascript):
    """With JavaScript the box appears on choosing "Lĩnh vực khác" and goes again on another choice;
    without, it is always there and its label says when to fill it. Left empty: the page says so."""
    _, token = sipas_invited
    context = browser.new_context(viewport=PHONE, locale="vi-VN", java_script_enabled=javascript)
    page = context.new_page()
    start(page, live_server, token)
    box = page.locator("#q-s1_field_other")
    label = "Nếu chọn «Lĩnh vực khác», xin ghi rõ:"
    assert label in box.text_content()
    if javascript:
        assert not box.is_visible()
        page.check("input[name=s1_field][value=X]")
        assert box.is_visible()
        page.check("input[name=s1_field][value='1']")
        assert not box.is_visible()
    else:
        assert box.is_visible()
    page.check("input[name=s1_field][value=X]")
    for name, code in (("s2_place", "3"), ("s3_result_when", "1"), ("s4_feedback_given", "2")):
        page.check(f"input[name={name}][value='{code}']")
    if javascript:
        page.click("button[name=action]:not([value=back])")  # checked in the page, nothing sent
    else:
        press(page)
    assert "xin ghi rõ đó là gì" in page.text_content("#q-s1_field_other-error")
    assert box.is_visible()
    page.fill("input[name=s1_field_other]", "Thuế")
    press(page)
    assert page.url.endswith("/p/3")
    context.close()
