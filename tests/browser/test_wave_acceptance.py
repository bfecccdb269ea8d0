"""Issue 10's acceptance, through the pages in a real browser: an administrator creates a coordinator
scoped to ten communes; the coordinator sets up a wave, uploads a 1,000-row frame, draws a sample,
issues invitations, downloads the links, opens the wave and e-mails the invitations to a real local
SMTP server; three people answer through the links they received; the tracking page and the JSON API
show them under the right units; a reminder reaches only the others; the wave closes and a late
answer is refused politely.
"""

import csv
import io
import json
import re
import urllib.request
from datetime import date, timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from survey.responses.models import Response
from survey.sampling.models import FrameEntry, Invitation, Wave
from tests.browser.helpers import press, staff_log_in, start, submit
from tests.factories import STAFF_PASSWORD, make_group, make_staff, make_unit, make_version
from tests.sampling.test_invitations import Collector, free_port

CODE = "CCHC-2026"
COMMUNES = [f"X{n:02d}" for n in range(1, 11)]
PER_COMMUNE, SAMPLE = 100, 5


@pytest.fixture
def smtp(app, live_server):
    """A real SMTP server on a free port; the live app sends through it and links to itself."""
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port,
                      MAIL_USE_TLS=False, MAIL_SENDER="Sở Nội vụ <khaosat@snv.example.vn>",
                      PUBLIC_URL=live_server.url, REMINDER_INTERVAL_DAYS=0, REMINDER_MAX=3)
    yield handler
    controller.stop()


def frame_csv(group_code: str) -> bytes:
    """A frame of 1,000 people, 100 in each of the ten communes, with valid Vietnamese mobile numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["unit_code", "group_code", "full_name", "phone", "email"])
    for u, commune in enumerate(COMMUNES):
        for i in range(PER_COMMUNE):
            n = u * PER_COMMUNE + i
            phone, email = f"0912{n:06d}", f"dan{n}@example.vn"
            writer.writerow([commune, group_code, f"Nguyễn Văn Dân {n}", phone, email])
    return out.getvalue().encode("utf-8")


def recipients(smtp) -> list[str]:
    """Every address the SMTP server received a message for."""
    return [r for rcpt, _ in smtp.messages for r in rcpt]


def link_of(smtp, address: str, base: str) -> str:
    """The token in the invitation e-mail sent to this address."""
    _, message = next(m for m in smtp.messages if m[0] == [address])
    body = message.get_body(("plain",)).get_content()
    return re.search(re.escape(base) + r"/r/([\w-]+)(?=\s|$)", body, re.M).group(1)


def click(page, selector: str) -> None:
    """Follow a link and wait for the page."""
    with page.expect_navigation():
        page.click(selector)


def unit_rows(page) -> dict[str, int]:
    """Completed forms per unit code in the tracking page's "by unit" table."""
    rows = page.locator("section[aria-labelledby=don-vi] tbody tr").all()
    found = {}
    for row in rows:
        code = row.locator("th code")
        if code.count():
            found[code.text_content()] = int(row.locator("td").nth(2).text_content())
    return found


def answer(context, live_server, token: str) -> None:
    """Answer the small questionnaire completely through an invitation link."""
    page = context.new_page()
    start(page, live_server, token)
    page.check("input[name=used][value=y]")
    page.fill("input[name=age]", "41")
    press(page)
    page.check("input[name=m1_signs][value='4']")
    page.check("input[name=wish][value=a]")
    press(page)
    assert page.url.endswith("/done") and "đã được ghi nhận" in page.text_content("main")
    page.close()


def test_a_wave_from_set_up_to_closing(browser, live_server, session, smtp):
    """The whole loop of issue 10, as an administrator, a coordinator and three respondents do it."""
    province = make_unit(session, kind="province", name="Tỉnh Thử", code="P")
    communes = {code: make_unit(session, name=f"Xã Số {code[1:]}", code=code, parent_id=province.id)
                for code in COMMUNES}
    make_unit(session, name="Xã Ngoài Phạm Vi", code="X99", parent_id=province.id)
    group = make_group(session, code="nguoi_dan", name="Người dân")
    version = make_version(session)
    make_staff(session, "admin", name="Quản Trị Viên")
    today = date.today()

    # 1. The administrator creates a coordinator scoped to the ten communes.
    admin = browser.new_context(locale="vi-VN").new_page()
    staff_log_in(admin, live_server, "admin@example.vn", STAFF_PASSWORD)
    click(admin, "nav.staff >> text=Tài khoản cán bộ")
    click(admin, "main >> text=Tạo tài khoản mới")
    admin.fill("input[name=email]", "dieu.phoi@example.vn")
    admin.fill("input[name=name]", "Phạm Điều Phối")
    admin.check("input[name=roles][value=coordinator]")
    admin.select_option("select[name=units]", [str(u.id) for u in communes.values()])
    submit(admin, "Tạo tài khoản")
    password = admin.text_content("code.secret")
    assert password and "Đã tạo tài khoản dieu.phoi@example.vn" in admin.text_content("h1")

    # 2. The coordinator creates and sets up the wave.
    context = browser.new_context(locale="vi-VN", accept_downloads=True)
    page = context.new_page()
    staff_log_in(page, live_server, "dieu.phoi@example.vn", password)
    click(page, "nav.staff >> text=Đợt khảo sát")
    page.fill("input[name=code]", CODE)
    page.fill("input[name=year]", str(today.year))
    page.fill("input[name=name]", "Khảo sát Chỉ số CCHC")
    page.fill("input[name=opens_on]", today.isoformat())
    page.fill("input[name=closes_on]", (today + timedelta(days=30)).isoformat())
    submit(page, "Tạo đợt khảo sát")
    assert page.url.endswith(f"/staff/waves/{CODE}")
    page.select_option("select[name=group]", str(group.id))
    page.select_option("select[name=version]", str(version.id))
    submit(page, "Giao bảng hỏi")
    roots = page.locator("select[name=root] option").all_text_contents()
    assert len(roots) == 10 and not any("X99" in r or r.startswith("P ") for r in roots)  # scope only
    for commune in communes.values():
        page.select_option("select[name=root]", str(commune.id))
        submit(page, "Thêm đơn vị")
    assert "Đơn vị được đánh giá (10)" in page.text_content("#units")

    # The frame: 1,000 people over the ten communes.
    click(page, "#frame >> text=Tải lên và xem danh sách người được khảo sát")
    page.set_input_files("input[name=file]", files=[
        {"name": "danh-sach.csv", "mimeType": "text/csv", "buffer": frame_csv(group.code)}])
    submit(page, "Kiểm tra và tải lên")
    assert "Đã ghi 1000 người vào danh sách mẫu" in page.text_content("main")

    # The draw: five people a commune, previewed, then kept.
    page.goto(f"{live_server.url}/staff/waves/{CODE}")
    click(page, "#frame >> text=Rút mẫu: xem trước và lưu danh sách người được chọn")
    page.select_option("select[name=method]", "srs")
    page.fill("input[name=size]", str(SAMPLE))
    submit(page, "Xem trước")
    assert "Được chọn: 50" in page.text_content("section[aria-labelledby=xem-truoc]")
    submit(page, "Giữ kết quả rút mẫu này")
    assert "Đã lưu kết quả rút mẫu: 50 người được chọn trong 10 tầng" in page.text_content("main")

    # Invitations, and the links for the SMS sender.
    page.goto(f"{live_server.url}/staff/waves/{CODE}")
    click(page, "#frame >> text=Thư mời: tạo, tải đường dẫn")
    submit(page, "Tạo thư mời cho người chưa có")
    assert "Đã tạo 50 thư mời" in page.text_content("main")
    with page.expect_download() as download:
        page.click("#downloads >> text=Danh sách đường dẫn cá nhân")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert len(rows) == 50 == len({r["link"] for r in rows}) == len({r["email"] for r in rows})
    assert {r["unit_code"] for r in rows} == set(COMMUNES)
    assert all(r["link"].startswith(f"{live_server.url}/r/") for r in rows)

    # Open the wave; a downloaded link now opens the questionnaire's landing page.
    page.goto(f"{live_server.url}/staff/waves/{CODE}")
    click(page, "a.button >> text=Mở đợt khảo sát")
    submit(page, "Mở đợt khảo sát")
    assert "Đợt khảo sát đã mở." in page.text_content("main")
    landing = context.new_page()
    opened = landing.goto(rows[0]["link"])
    assert opened.status == 200 and communes[rows[0]["unit_code"]].name in landing.text_content("ul.units")
    landing.close()

    # E-mail: a preview of the counts, then the sending job; every e-mail reaches the SMTP server.
    page.goto(f"{live_server.url}/staff/waves/{CODE}/invitations")
    submit(page, "Gửi thư mời…")
    assert page.text_content("td.eligible") == "50" and smtp.messages == []
    submit(page, "Gửi 50 thư mời")
    assert "Đã gửi 50 thư điện tử." in page.text_content("main")
    assert sorted(recipients(smtp)) == sorted(r["email"] for r in rows)
    mailed = {r["email"]: f"{live_server.url}/r/{link_of(smtp, r['email'], live_server.url)}" for r in rows}
    assert mailed == {r["email"]: r["link"] for r in rows}  # each person's link is the same everywhere

    # 3. Three people answer through the links in their e-mails: two in one commune, one in another.
    by_unit = {}
    for r in rows:
        by_unit.setdefault(r["unit_code"], []).append(r["email"])
    answered = [*by_unit["X03"][:2], by_unit["X07"][0]]
    for address in answered:
        respondent = browser.new_context(locale="vi-VN")
        answer(respondent, live_server, link_of(smtp, address, live_server.url))
        respondent.close()

    # 4. The tracking page and the API show 3 completed under the right units.
    page.goto(f"{live_server.url}/staff/waves/{CODE}/progress")
    assert unit_rows(page) == {"P": 3}  # the province, rolled up over the user's communes
    click(page, "section[aria-labelledby=don-vi] >> a >> text=Tỉnh Thử")  # drill down the tree
    completed = unit_rows(page)
    assert completed == {c: {"X03": 2, "X07": 1}.get(c, 0) for c in COMMUNES}, completed
    total = page.locator("section[aria-labelledby=tong-quan] tbody tr td").nth(2).text_content()
    assert total == "3"
    click(page, "nav.staff >> text=Mã truy cập API")
    page.fill("input[name=name]", "Bảng tổng hợp")
    submit(page, "Tạo mã truy cập")
    token = page.text_content("code.secret")
    request = urllib.request.Request(f"{live_server.url}/api/v1/waves/{CODE}/progress",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as reply:  # noqa: S310 (the local test server)
        progress = json.load(reply)
    assert (progress["total"]["invited"], progress["total"]["completed"]) == (50, 3)
    assert {u["unit"]: u["completed"] for u in progress["units"]} == completed

    # 5. A reminder reaches only those who have not answered.
    smtp.messages.clear()
    page.goto(f"{live_server.url}/staff/waves/{CODE}/invitations")
    submit(page, "Gửi thư nhắc…")
    assert page.text_content("td.eligible") == "47"
    submit(page, "Gửi 47 thư nhắc")
    assert "Đã gửi 47 thư điện tử." in page.text_content("main")
    reminded = recipients(smtp)
    assert len(reminded) == 47 and not set(reminded) & set(answered)
    assert set(reminded) == {r["email"] for r in rows} - set(answered)
    assert all(m["Subject"].startswith("Nhắc lại") for _, m in smtp.messages)
    context.close()

    # 6. Someone starts answering while the wave is open...
    late = browser.new_context(locale="vi-VN").new_page()
    start(late, live_server, link_of(smtp, reminded[0], live_server.url))
    late.check("input[name=used][value=y]")
    press(late)
    late.check("input[name=m1_signs][value='4']")

    # ...the wave closes through the closing page (a coordinator of every unit: the administrator)...
    admin.goto(f"{live_server.url}/staff/waves/{CODE}")
    click(admin, "#status >> text=Đóng đợt khảo sát")
    submit(admin, "Đóng đợt khảo sát")
    assert "Đợt khảo sát đã đóng." in admin.text_content("main")
    assert "Đã đóng" in admin.text_content("dl")
    admin.context.close()

    # ...and the late answer is refused politely, in Vietnamese, with 410 Gone.
    with late.expect_navigation() as sent:
        late.click("button[name=action]:not([value=back])")
    assert sent.value.status == 410
    assert "Đợt khảo sát không mở" in late.text_content("h1")
    assert ("Đợt khảo sát “Khảo sát Chỉ số CCHC” nhận câu trả lời từ" in late.text_content("main")
            and "Hiện không thể trả lời. Xin cảm ơn Ông/Bà đã quan tâm." in late.text_content("main"))
    # Another remaining link says the wave is not open and offers no button to start.
    late.goto(f"{live_server.url}/r/{link_of(smtp, reminded[1], live_server.url)}")
    assert "Đợt khảo sát hiện không mở để trả lời." in late.text_content("main")
    assert late.locator("ul.units button").count() == 0
    late.context.close()

    session.expire_all()
    assert session.scalar(select(func.count()).select_from(FrameEntry)) == 1000
    assert session.scalar(select(func.count()).select_from(Response).filter_by(status="complete")) == 3
    assert session.scalar(select(func.count()).select_from(Invitation).filter_by(status="completed")) == 3
    assert session.scalar(select(Wave.status).filter_by(code=CODE)) == "closed"
