"""A coordinator creates a wave, sets it up and opens it through the pages on a 360 px phone, with and
without JavaScript: the navigation bar leads there, nothing scrolls sideways, every tap target is big enough.
"""

import pytest
from sqlalchemy import select

from survey.auth.models import AuditLog
from survey.sampling.models import Wave, WaveGroup, WaveUnit
from tests.browser.conftest import PHONE
from tests.browser.helpers import staff_log_in, submit
from tests.factories import STAFF_PASSWORD, make_group, make_staff, make_unit, make_version

SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
SMALL_TARGETS = """() => [...document.querySelectorAll('main button, main a.button, nav.staff a')]
    .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
    .map((e) => e.textContent.trim())"""


def fits(page) -> None:
    """The page fits the phone's width and its buttons and menu links are at least 44 px tall."""
    assert page.evaluate(SIDEWAYS) <= 0, page.url
    assert page.evaluate(SMALL_TARGETS) == [], page.url


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_coordinator_creates_and_opens_a_wave_on_a_phone(browser, live_server, session, javascript):
    """Log in, follow the menu to the waves, create one, give a group its questionnaire, add communes,
    open it."""
    province = make_unit(session, kind="province", name="Tỉnh Thử", code="P")
    communes = [make_unit(session, name=f"Xã Số {n}", code=f"X{n}", parent_id=province.id) for n in (1, 2)]
    make_unit(session, kind="agency", name="Sở Nội vụ", code="SNV", parent_id=province.id)
    group = make_group(session, code="nguoi_dan", name="Người dân")
    version = make_version(session)
    make_staff(session, "coordinator", name="Trần Văn Điều Phối")
    context = browser.new_context(viewport=PHONE, locale="vi-VN", java_script_enabled=javascript)
    page = context.new_page()

    staff_log_in(page, live_server, "coordinator@example.vn", STAFF_PASSWORD)
    assert "Trần Văn Điều Phối" in page.text_content("nav.staff")
    fits(page)
    with page.expect_navigation():
        page.click("nav.staff >> text=Đợt khảo sát")
    assert page.url.endswith("/staff/waves/")
    fits(page)

    page.fill("input[name=code]", "CCHC-2026")
    page.fill("input[name=year]", "2026")
    page.fill("input[name=name]", "Khảo sát Chỉ số CCHC năm 2026")
    page.fill("input[name=opens_on]", "2026-03-01")
    page.fill("input[name=closes_on]", "2026-02-01")  # before it opens: refused, in Vietnamese
    submit(page, "Tạo đợt khảo sát")
    assert "Ngày đóng (01/02/2026) đứng trước ngày mở (01/03/2026)." in page.text_content("main")
    assert page.input_value("input[name=code]") == "CCHC-2026"  # what was typed is kept
    page.fill("input[name=closes_on]", "2026-05-31")
    submit(page, "Tạo đợt khảo sát")
    assert page.url.endswith("/staff/waves/CCHC-2026")
    assert "Đang chuẩn bị" in page.text_content("main")
    fits(page)

    page.select_option("select[name=group]", str(group.id))
    page.select_option("select[name=version]", str(version.id))
    submit(page, "Giao bảng hỏi")
    page.select_option("select[name=root]", str(province.id))
    page.check("input[name=kinds][value=commune]")
    submit(page, "Thêm đơn vị")
    assert "Đã thêm 2 đơn vị" in page.text_content("main")
    fits(page)

    with page.expect_navigation():
        page.click("a.button >> text=Mở đợt khảo sát")
    assert "Mở đợt khảo sát “Khảo sát Chỉ số CCHC năm 2026”?" in page.text_content("h1")
    fits(page)
    submit(page, "Mở đợt khảo sát")
    assert "Đợt khảo sát đã mở." in page.text_content("main")
    assert "Đang mở" in page.text_content("dl")
    fits(page)
    context.close()

    session.expire_all()
    wave = session.scalar(select(Wave).filter_by(code="CCHC-2026"))
    assert wave.status == "open"
    assert session.scalar(select(WaveGroup.questionnaire_version_id).filter_by(wave_id=wave.id)) == version.id
    chosen = set(session.scalars(select(WaveUnit.unit_id).filter_by(wave_id=wave.id)))
    assert chosen == {c.id for c in communes}
    assert list(session.scalars(select(AuditLog.action).where(AuditLog.action.like("wave.%"))
                                .order_by(AuditLog.id))) == [
        "wave.created", "wave.group_assigned", "wave.units_added", "wave.open"]
