"""An administrator creates a scoped coordinator on a 360 px phone, with and without JavaScript; the
coordinator logs in with the generated password, creates an API token and reads their units through the
API with it."""

import json
import urllib.request

import pytest

from tests.browser.test_wave_setup import fits, submit
from tests.factories import STAFF_PASSWORD, make_staff, make_unit

PHONE = {"width": 360, "height": 740}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_admin_creates_a_coordinator_who_uses_the_api(browser, live_server, session, javascript):
    """Menu → accounts → new account with a generated password → the coordinator's token → the API."""
    province = make_unit(session, kind="province", name="Tỉnh Thử", code="P")
    for n in (1, 2):
        make_unit(session, name=f"Xã Số {n}", code=f"P-X{n}", parent_id=province.id)
    make_unit(session, name="Xã Ngoài", code="Q-X9")
    make_staff(session, "admin", name="Quản Trị Viên")
    context = browser.new_context(viewport=PHONE, locale="vi-VN", java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{live_server.url}/staff/login")
    page.fill("input[name=email]", "admin@example.vn")
    page.fill("input[name=password]", STAFF_PASSWORD)
    submit(page, "Đăng nhập")
    with page.expect_navigation():
        page.click("nav.staff >> text=Tài khoản cán bộ")
    fits(page)
    with page.expect_navigation():
        page.click("main >> text=Tạo tài khoản mới")
    page.fill("input[name=email]", "dieu.phoi@example.vn")
    page.fill("input[name=name]", "Phạm Điều Phối")
    page.check("input[name=roles][value=coordinator]")
    page.select_option("select[name=units]", [str(province.id)])
    fits(page)
    submit(page, "Tạo tài khoản")
    password = page.text_content("code.secret")
    assert password and "Đã tạo tài khoản dieu.phoi@example.vn" in page.text_content("h1")
    fits(page)
    with page.expect_navigation():
        page.click("main >> text=Tất cả tài khoản")
    assert "<code>P</code>" in page.inner_html("table.users")
    context.close()

    context = browser.new_context(viewport=PHONE, locale="vi-VN", java_script_enabled=javascript)
    page = context.new_page()
    page.goto(f"{live_server.url}/staff/login")
    page.fill("input[name=email]", "dieu.phoi@example.vn")
    page.fill("input[name=password]", password)
    submit(page, "Đăng nhập")
    assert "Tài khoản cán bộ" not in page.text_content("nav.staff")
    with page.expect_navigation():
        page.click("nav.staff >> text=Mã truy cập API")
    page.fill("input[name=name]", "Bảng tổng hợp")
    submit(page, "Tạo mã truy cập")
    token = page.text_content("code.secret")
    fits(page)
    context.close()

    request = urllib.request.Request(f"{live_server.url}/api/v1/units",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as answer:  # noqa: S310 (the local test server)
        units = json.load(answer)
    assert [(u["code"], u["parent"]) for u in units] == [("P", None), ("P-X1", "P"), ("P-X2", "P")]
