"""The self-assessment acceptance flow in Chromium on a phone: an assessor scores, uploads evidence, is
refused with the list for a missing explanation, completes and submits; the approver approves, enters
the appraisal of two nodes with notes and completes the appraisal; the totals and the history follow,
and the overall index page (/staff/index/<year>) recomputes the unit's total, the field's component
index, the grade and the interval from the appraised points.
"""

from sqlalchemy import select

from survey.auth.models import AuditLog, UserUnit
from tests.assessment.helpers import PDF, complete
from tests.browser.test_wave_setup import fits, submit
from tests.factories import STAFF_PASSWORD, make_assessment, make_staff, make_unit

FIRST, SECOND = "par.1.1.1", "par.1.1.2"


def node(page, code: str):
    """The node's section, opened."""
    section = page.locator(f'details[id="n-{code}"]')
    if section.get_attribute("open") is None:
        section.locator("summary").click()
    return section


def number(text: str) -> float:
    """A figure as the pages print it (decimal comma)."""
    return float(text.strip().rstrip("%").replace(",", "."))


def index_row(page, url: str, year: int, unit: str) -> dict:
    """The unit's row of the overall index page: total, index, interval, grade, field par.1."""
    page.goto(f"{url}/staff/index/{year}")
    row = page.locator(f'tr[id="u-{unit}"]')
    field = row.locator('td.field[data-field="par.1"]').inner_text().split()
    low, high = row.locator("td.interval").inner_text().split("–")
    return {"points": number(row.locator("td.total-points").inner_text()),
            "index": number(row.locator("td.total-index").inner_text()),
            "interval": (number(low), number(high)), "grade": row.locator("td.grade").inner_text().strip(),
            "field_points": number(field[0]), "field_index": number(field[1])}


def log_in(page, url: str, email: str) -> None:
    page.goto(f"{url}/staff/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", STAFF_PASSWORD)
    submit(page, "Đăng nhập")


def test_assessor_and_approver_complete_an_assessment(browser, live_server, session, context, tmp_path):
    """The whole flow through the pages, with the audit log showing each step."""
    unit = make_unit(session, name="Sở Tư pháp", code="STP", kind="agency")
    assessment = make_assessment(session, unit=unit)
    assessor = make_staff(session, "assessor", name="Lê Thị Chấm", all_units=False)
    session.add(UserUnit(user_id=assessor.id, unit_id=unit.id))
    session.commit()
    complete(session, assessment, assessor, skip=(FIRST,))
    make_staff(session, "approver", name="Phạm Văn Duyệt")
    evidence = tmp_path / "Quyết định ban hành kế hoạch.pdf"
    evidence.write_bytes(PDF)

    page = context.new_page()
    log_in(page, live_server.url, "assessor@example.vn")
    with page.expect_navigation():
        page.click("nav.staff >> text=Tự đánh giá")
    with page.expect_navigation():
        page.click("text=Sở Tư pháp")
    assert "Còn thiếu trước khi gửi / phê duyệt (1 tiêu chí)" in page.text_content("main")
    fits(page)

    first = node(page, FIRST)
    first.get_by_label("Có / đạt").check()
    first.get_by_label("Điểm tự chấm").fill("0,5")
    first.get_by_label("Tài liệu kiểm chứng chưa đầy đủ").check()
    with page.expect_navigation():
        first.get_by_role("button", name="Lưu tiêu chí").click()
    first = node(page, FIRST)
    first.locator("input[type=file]").set_input_files(str(evidence))
    first.get_by_label("Số hiệu văn bản").fill("15/QĐ-UBND")
    first.get_by_label("Trang, mục áp dụng (khi chỉ một phần văn bản là tài liệu kiểm chứng)").fill("Điều 1")
    with page.expect_navigation():
        first.get_by_role("button", name="Tải lên").click()
    assert "Đã tải lên tài liệu kiểm chứng cho tiêu chí par.1.1.1." in page.text_content("main")

    submit(page, "Gửi kết quả tự chấm")
    alert = page.text_content(".error-summary")
    assert "1 tiêu chí còn thiếu điểm, tài liệu kiểm chứng hoặc giải trình" in alert
    blockers = page.text_content("ul.blockers")
    assert "1.1.1 Ban hành kế hoạch CCHC năm đúng thời hạn" in blockers and "cần giải trình" in blockers

    first = node(page, FIRST)
    first.get_by_label("Giải trình").fill("Kế hoạch ban hành đúng hạn; phụ lục nhiệm vụ lưu tại Sở.")
    with page.expect_navigation():
        first.get_by_role("button", name="Lưu tiêu chí").click()
    submit(page, "Gửi kết quả tự chấm")
    assert page.text_content(".assessment-status") == "Đã gửi, chờ phê duyệt"
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng xuất").click()

    log_in(page, live_server.url, "approver@example.vn")
    page.goto(f"{live_server.url}/staff/assessments/{assessment.id}")
    submit(page, "Phê duyệt")
    assert page.text_content(".assessment-status") == "Đã phê duyệt, chờ thẩm định"
    before = index_row(page, live_server.url, assessment.year, "STP")  # self-scores count until appraised
    assert before["points"] == 45.5 and before["index"] == 45.5 and before["grade"] == "C"
    page.goto(f"{live_server.url}/staff/assessments/{assessment.id}")
    for code, score, note in ((FIRST, "0", "Kế hoạch ban hành sau thời hạn của Bộ."),
                              (SECOND, "0,5", "Tỷ lệ hoàn thành đúng hạn 85%.")):
        section = node(page, code)
        section.get_by_label("Điểm thẩm định").fill(score)
        section.get_by_label("Ghi chú (bắt buộc khi khác điểm tự chấm)").fill(note)
        with page.expect_navigation():
            section.get_by_role("button", name="Lưu điểm thẩm định").click()
    submit(page, "Hoàn tất thẩm định (chấp nhận điểm tự chấm ở các tiêu chí còn lại)")
    assert page.text_content(".assessment-status") == "Đã có kết quả thẩm định"
    assert page.text_content(".self-total") == "45,5"
    assert page.text_content(".appraised-total") == "44,5"
    history = page.text_content("ol.history")
    assert "Kế hoạch ban hành sau thời hạn của Bộ." in history and "Phê duyệt" in history
    fits(page)
    for step in ("Tạo bản tự đánh giá", "Gửi kết quả tự chấm", "Phê duyệt", "Nhập điểm thẩm định",
                 "Hoàn tất thẩm định"):
        assert step in history, step

    # The printable report (A4, no script) carries the appraisal too.
    with page.expect_navigation():
        page.click("text=Báo cáo tự đánh giá, chấm điểm để in (khổ A4)")
    assert page.text_content(".total-self") == "45,5" and page.text_content(".total-appraisal") == "44,5"
    assert page.locator("script").count() == 0
    page.emulate_media(media="print")
    assert not page.locator("header.screen-only").is_visible()
    page.emulate_media(media="screen")

    # The index follows the appraisal: par.1.1.1 0.5 -> 0 and par.1.1.2 1 -> 0.5, one point less in all.
    after = index_row(page, live_server.url, assessment.year, "STP")
    changed = (0 - 0.5) + (0.5 - 1.0)
    assert round(after["points"] - before["points"], 6) == changed
    assert round(after["field_points"] - before["field_points"], 6) == changed
    assert round(after["field_index"], 1) == round(after["field_points"] / 9.0 * 100, 1)  # par.1: max 9
    assert after["index"] == 44.5 and after["interval"] == (44.5, 44.5)  # no survey part: no sampling error
    assert after["grade"] == "C"  # under 80%
    fits(page)

    actions = session.scalars(select(AuditLog.action).where(
        AuditLog.target == f"assessment:{assessment.id}").order_by(AuditLog.id)).all()
    assert [a for a in actions if a in ("assessment.created", "assessment.submit", "assessment.approve",
                                        "assessment.appraisal", "assessment.appraise")] == [
        "assessment.created", "assessment.submit", "assessment.approve", "assessment.appraisal",
        "assessment.appraisal", "assessment.appraise"]
