"""The page script: live skip logic and checks before sending, matching what the server shows."""

import pytest
from sqlalchemy import select

from survey.responses.models import Response
from tests.browser.conftest import PHONE
from tests.browser.helpers import FORWARD, press, start
from tests.conftest import TEST_SECRET
from tests.factories import make_invitation, make_version

YES_NO = [{"code": "y", "label": {"vi": "Có", "en": "Yes"}},
          {"code": "n", "label": {"vi": "Không", "en": "No"}}]
LIVE = {
    "id": "live", "version": "1", "title": {"vi": "Phiếu thử", "en": "Test form"},
    "sections": [{"id": "p1", "title": {"vi": "Gia đình", "en": "Family"}, "items": [
        {"id": "has_child", "type": "single_choice", "required": True, "options": YES_NO,
         "label": {"vi": "Ông/Bà có con đang đi học không?", "en": "Do you have children at school?"}},
        {"id": "children", "type": "integer", "required": True, "min": 1, "max": 20,
         "relevant": "${has_child} = 'y'", "label": {"vi": "Số con đang đi học", "en": "How many?"}},
        {"id": "many", "type": "note", "relevant": "${children} > 3",
         "label": {"vi": "Xin cảm ơn, câu tiếp theo hỏi về trường của con lớn nhất.", "en": "Thanks."}},
        {"id": "school", "type": "text", "relevant": "${children} >= 1",
         "constraint": "string-length(.) >= 3",
         "constraint_message": {"vi": "Tên trường cần ít nhất 3 ký tự.", "en": "At least 3 letters."},
         "label": {"vi": "Tên trường", "en": "School"}},
    ]}],
}
REQUIRED = "Vui lòng trả lời câu hỏi này."
ERROR_MARKUP = """() => ({
  questions: [...document.querySelectorAll('.question.has-error')].map((q) => {
    const error = document.getElementById(q.id + '-error');
    const input = q.querySelector('input:not([type=radio]):not([type=checkbox]), textarea');
    return [q.id, error && error.className, error && error.textContent.replace(/\\s+/g, ' ').trim(),
            q.getAttribute('aria-describedby'), input && input.getAttribute('aria-invalid'),
            input && input.getAttribute('aria-describedby')];
  }),
  summary: [...document.querySelectorAll('.error-summary[role=alert] li a')]
    .map((a) => [a.getAttribute('href'), a.textContent.trim()]),
  summaries: document.querySelectorAll('.error-summary').length,
})"""


@pytest.fixture
def live_invited(session):
    """An invitation to the one-page questionnaire with same-page skip logic (committed)."""
    invitation, token = make_invitation(session, TEST_SECRET, version=make_version(session, LIVE))
    session.commit()
    return invitation, token


def test_same_page_skip_logic_is_live(context, live_server, session, live_invited):
    """Items that depend on the same page appear and disappear as answers change, without a reload."""
    _, token = live_invited
    page = context.new_page()
    start(page, live_server, token)
    loads = []
    page.on("framenavigated", lambda frame: loads.append(frame.url))
    children, note, school = page.locator("#q-children"), page.locator("#q-many"), page.locator("#q-school")
    assert children.is_hidden() and note.is_hidden() and school.is_hidden()
    assert page.is_disabled("input[name=children]")
    page.check("input[name=has_child][value=y]")
    assert children.is_visible() and page.is_enabled("input[name=children]")
    page.fill("input[name=children]", "5")
    assert note.is_visible() and school.is_visible()
    page.fill("input[name=children]", "2")
    assert note.is_hidden() and school.is_visible()
    page.check("input[name=has_child][value=n]")
    assert children.is_hidden() and school.is_hidden() and page.is_disabled("input[name=children]")
    assert loads == []
    press(page)  # the hidden required item does not hold the respondent back
    assert page.url.endswith("/done")
    session.expire_all()
    stored = session.scalars(select(Response).where(Response.status == "complete")).one()
    assert {a.item_id: a.value for a in stored.answers} == {"has_child": "n"}


def test_constraint_message_is_shown_before_sending(context, live_server, live_invited):
    """A constraint with its own message is checked in the page, with `.` standing for the answer."""
    _, token = live_invited
    page = context.new_page()
    start(page, live_server, token)
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.check("input[name=has_child][value=y]")
    page.fill("input[name=children]", "2")
    page.fill("input[name=school]", "ab")
    page.click(FORWARD)
    assert page.text_content("#q-school-error").strip().endswith("Tên trường cần ít nhất 3 ký tự.")
    assert posts == []
    page.fill("input[name=school]", "Trường Kim Đồng")
    press(page)
    assert page.url.endswith("/done") and len(posts) == 1


def test_required_and_bounds_are_checked_without_a_round_trip(context, live_server, invited):
    """Sending an incomplete page shows the Vietnamese messages and a focused summary, posting nothing."""
    _, token = invited
    page = context.new_page()
    start(page, live_server, token)
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.fill("input[name=age]", "12")
    page.click(FORWARD)
    assert posts == []
    assert REQUIRED in page.text_content("#q-used-error")
    assert "Giá trị phải từ 18 trở lên." in page.text_content("#q-age-error")
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert page.get_attribute("#age", "aria-invalid") == "true"
    page.fill("input[name=age]", "41,5")
    page.check("input[name=used][value=n]")
    page.click(FORWARD)
    assert page.locator("#q-used-error").count() == 0
    assert "Vui lòng nhập một số nguyên." in page.text_content("#q-age-error")
    assert page.locator(".error-summary").count() == 1 and posts == []
    page.fill("input[name=age]", "41")
    press(page)  # saved; page 1 turned out to be the last one and now offers "Gửi phiếu"
    press(page)
    assert page.url.endswith("/done") and len(posts) == 2


def test_server_errors_look_like_the_script_errors(browser, live_server, invited):
    """Without JavaScript the server shows the same messages, ids, ARIA links and summary links."""
    _, token = invited
    seen = {}
    for javascript in (True, False):
        context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
        page = context.new_page()
        start(page, live_server, token)
        page.fill("input[name=age]", "12")
        if javascript:
            page.click(FORWARD)
        else:
            press(page)
        seen[javascript] = page.evaluate(ERROR_MARKUP)
        context.close()
    assert seen[True]["questions"] and seen[True]["summaries"] == 1
    assert seen[True] == seen[False]


def test_choice_counts_are_checked_without_a_round_trip(context, live_server, session):
    """A multiple choice with min 1 and max 2: empty and three choices are refused in the page."""
    from tests.respond.test_choice_counts import CHOICES

    _, token = make_invitation(session, TEST_SECRET, version=make_version(session, CHOICES))
    session.commit()
    page = context.new_page()
    start(page, live_server, token)
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.check("input[name=asked][value=a]")
    page.click(FORWARD)
    assert "Vui lòng chọn ít nhất 1 phương án." in page.text_content("#q-improve-error")
    for code in "abc":
        page.check(f"input[name=improve][value={code}]")
    page.click(FORWARD)
    assert "Vui lòng chọn nhiều nhất 2 phương án." in page.text_content("#q-improve-error")
    assert posts == []
    page.uncheck("input[name=improve][value=c]")
    press(page)
    assert posts and page.locator("#q-improve-error").count() == 0
