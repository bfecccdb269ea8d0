"""A clerk enters one SIPAS paper form by keyboard only, typing the option codes printed on the form.

Every key pressed is counted (start form included, login excluded): the figure is printed and kept in
docs/benchmarks.md. Before the keyboard entry script a clerk needed 158 keystrokes for this form
(arrow presses to reach an option, three Tabs to the first question of each page).
"""

import re

from sqlalchemy import select

from survey.definitions import load
from survey.responses.models import Response
from survey.sampling.models import WaveGroup, WaveUnit
from tests.browser.conftest import SIPAS
from tests.browser.helpers import staff_log_in
from tests.factories import STAFF_PASSWORD, make_group, make_staff, make_unit, make_version, make_wave

# What is written on the paper form, page by page: the codes of each question in order. A page's
# list ends with the key that leaves it ("Enter" after the last question).
UNIT_CODE, FORM_NUMBER = "25123", "0042"
PAGES = [
    ("screening", ["2", "2", "1", "1", "Enter"]),
    ("access", ["4", "5", "4", "Enter"]),
    ("procedure", ["4", "4", "3", "5", "Enter"]),
    ("staff", ["5", "4", "4", "9", "Enter"]),
    ("result", ["4", "4", "3", "Enter"]),
    ("feedback", ["2", "3", "4", "Enter"]),
    # q4 = 3 shows q5 on the same page (the page script), and the clerk types its code next.
    ("overall", ["4", "1", "2", "1", "3", "1", "Enter"]),
    # Multiple choice: "1" waits (there is a "10"), "5" settles it as 1 and ticks 5; Enter moves on,
    # and Enter on the last question presses "Tiếp tục".
    ("expectations", ["1", "5", "Enter", "3", "Enter"]),
    # The comment box is left empty: Enter in an empty box moves on, here pressing "Gửi phiếu".
    ("demographics", ["2", "3", "4", "1", "1", "2", "Enter"]),
]


class Keyboard:
    """The page's keyboard, counting every key pressed."""

    def __init__(self, page):
        self.page = page
        self.count = 0

    def type(self, text: str) -> None:
        """Type text one key per character."""
        for character in text:
            self.press(character)

    def press(self, key: str) -> None:
        """Press one key."""
        self.page.keyboard.press(key)
        self.count += 1


def test_clerk_enters_a_sipas_form_by_keyboard(browser, live_server, session):
    """Unit code, form number, then every answer by its printed code and Enter; the form is stored."""
    wave = make_wave(session)
    group = make_group(session, code="nguoi_dan", name="Người dân")
    commune = make_unit(session, code=UNIT_CODE, name="Xã Bình Sơn")
    version = make_version(session, load.read_document(SIPAS))
    session.add(WaveGroup(wave_id=wave.id, group_id=group.id, questionnaire_version_id=version.id))
    session.add(WaveUnit(wave_id=wave.id, unit_id=commune.id))
    clerk = make_staff(session, "data_entry", email="nhap.lieu@example.vn")
    session.commit()

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    page = context.new_page()
    staff_log_in(page, live_server, clerk.email, STAFF_PASSWORD)
    page.goto(f"{live_server.url}/staff/entry/{wave.code}/{group.code}")

    keys = Keyboard(page)
    assert page.evaluate("document.activeElement.name") == "unit_code"
    keys.type(UNIT_CODE)
    keys.press("Tab")
    keys.type(FORM_NUMBER)
    with page.expect_navigation():
        keys.press("Enter")
    for section_id, typed in PAGES:
        assert re.search(r"/staff/entry/d/\w+/p/\d+$", page.url), (section_id, page.url)
        first = page.evaluate("document.activeElement.closest('[data-item]')?.dataset.item")
        assert first is not None, f"{section_id}: focus is not on a question"
        for key in typed[:-1]:
            keys.press(key)
        with page.expect_navigation():
            keys.press(typed[-1])

    # Saved: back on the start form for the next paper form, the unit carried over, focus on the number.
    assert "Đã lưu phiếu" in page.text_content("main")
    assert page.input_value("input[name=unit_code]") == UNIT_CODE
    assert page.evaluate("document.activeElement.name") == "form_number"
    print(f"\nkeystrokes for one SIPAS paper form: {keys.count}")
    context.close()

    session.expire_all()
    response = session.scalars(select(Response).where(Response.status == "complete")).one()
    answers = {a.item_id: a.value for a in response.answers}
    assert (response.mode, response.form_number, response.unit_id) == ("paper", FORM_NUMBER, commune.id)
    assert answers["s1_field"] == "2" and answers["s4_feedback_given"] == "1"
    assert answers["q5_apology"] == "1" and answers["d6_area"] == "2"
    assert answers["e1_improve"] == ["1", "5"] and answers["e2_channels"] == ["3"]
    assert (answers["a2_seats"], answers["c4_rules"], answers["f3_notified"]) == ("5", "9", "4")
    assert "z_comment" not in answers
    assert keys.count < 158
