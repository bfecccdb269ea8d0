"""Focal officials (đầu mối): CRUD by coordinators and the unit's own users, encrypted, the ministry's
XLSX read back; milestones and what is overdue for whom, on the tracking page; the unit tree paged
and drilled in SQL; the remind button that lights up once a reminders endpoint exists."""

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, text

from survey.auth.models import AuditLog, UserUnit
from survey.sampling import focal, tracking
from survey.sampling.models import WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import STAFF_PASSWORD, make_invitation, make_staff, make_unit, make_version, make_wave


@pytest.fixture
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def place(session):
    """A province P with an agency A and communes C1, C2, assessed in an open wave."""
    P = make_unit(session, code="P", name="Tỉnh Thử", kind="province")
    A = make_unit(session, code="A", name="Sở Nội vụ", kind="agency", parent_id=P.id)
    C1 = make_unit(session, code="C1", name="Xã Một", parent_id=P.id)
    C2 = make_unit(session, code="C2", name="Xã Hai", parent_id=P.id)
    wave = make_wave(session)
    for unit in (A, C1, C2):
        session.add(WaveUnit(wave_id=wave.id, unit_id=unit.id))
    session.commit()
    return {"wave": wave, "P": P, "A": A, "C1": C1, "C2": C2}


def login(app, session, role="coordinator", units=None, email=None):
    client = app.test_client()
    user = make_staff(session, role, email=email or f"{role}{len(units or [])}@example.vn",
                      all_units=units is None)
    for unit in units or []:
        session.add(UserUnit(user_id=user.id, unit_id=unit.id))
    session.commit()
    answer = client.post("/staff/login", data={"email": user.email, "password": STAFF_PASSWORD})
    assert answer.status_code == 302
    return client


def actions(session) -> list[str]:
    return [a for (a,) in session.execute(select(AuditLog.action).where(AuditLog.action != "auth.login")
                                          .order_by(AuditLog.id))]


def test_focal_officials_crud_encrypted_and_audited(app, session, place, no_csrf):
    """Add, list, edit and delete an official; contact details are ciphertext in the table."""
    client = login(app, session)
    added = client.post("/staff/focal/", data={
        "unit": place["C1"].id, "role": "focal", "full_name": "Nguyễn Thị Lan", "position": "Phó Chủ tịch",
        "phone": "0912 345 678", "email": "Lan.NT@xamot.gov.vn"})
    assert added.status_code == 303
    stored = session.execute(text("SELECT full_name, position, phone, email FROM focal_officials")).one()
    assert all(value.startswith("v1:") for value in stored)
    assert "Nguyễn Thị Lan" not in "".join(stored)
    listed = client.get("/staff/focal/").text
    assert "Nguyễn Thị Lan" in listed and "0912 345 678" in listed and "Lan.NT@xamot.gov.vn" in listed
    official = session.scalar(select(focal.FocalOfficial))
    assert client.get(f"/staff/focal/{official.id}").status_code == 200
    changed = client.post(f"/staff/focal/{official.id}", data={
        "unit": place["C1"].id, "role": "it", "full_name": "Nguyễn Thị Lan", "phone": "+84 912 345 679",
        "position": "", "email": ""})  # as a browser sends the emptied fields
    assert changed.status_code == 303
    session.expire_all()
    (contact,) = focal.contacts(session)
    assert (contact.role, contact.phone, contact.email, contact.position) == ("it", "+84912345679", "", "")
    bad = client.post("/staff/focal/", data={"unit": place["C2"].id, "role": "focal",
                                             "full_name": "Trần Văn B",
                                             "phone": "12345"})
    assert bad.status_code == 422 and "không phải số điện thoại Việt Nam" in bad.text
    assert len(focal.contacts(session)) == 1  # nothing written
    assert client.post(f"/staff/focal/{official.id}/delete").status_code == 303
    session.expire_all()
    assert focal.contacts(session) == []
    assert actions(session) == ["focal.added", "focal.changed", "focal.removed"]
    details = session.scalars(select(AuditLog.details)).all()
    assert "Lan" not in str(details) and "0912" not in str(details)  # the audit names no person


def test_unit_user_records_only_their_own_unit(app, session, place, no_csrf):
    """An assessor scoped to C1 adds C1's official, cannot touch C2's, and cannot export."""
    other = focal.add_official(session, place["C2"], "Lê Văn Hai")
    session.commit()
    client = login(app, session, role="assessor", units=[place["C1"]])
    assert client.post("/staff/focal/", data={"unit": place["C1"].id, "role": "focal",
                                              "full_name": "Phạm Một"}).status_code == 303
    assert client.post("/staff/focal/", data={"unit": place["C2"].id, "role": "focal",
                                              "full_name": "Kẻ Lạ"}).status_code == 422
    page = client.get("/staff/focal/").text
    assert "Phạm Một" in page and "Lê Văn Hai" not in page
    assert client.get(f"/staff/focal/{other.id}").status_code == 404
    assert client.post(f"/staff/focal/{other.id}/delete").status_code == 404
    assert client.get("/staff/focal/danh-sach-dau-moi.xlsx").status_code == 403
    assert {c.full_name for c in focal.contacts(session)} == {"Phạm Một", "Lê Văn Hai"}


def test_ministry_xlsx_read_back(app, session, place, no_csrf):
    """The XLSX has the ministry's Vietnamese headers, one numbered row per official, escaped text."""
    focal.add_official(session, place["C1"], "Nguyễn Thị Lan", position="Phó Chủ tịch", phone="0912345678",
                       email="lan@xamot.gov.vn")
    focal.add_official(session, place["C1"], "=HYPERLINK(\"http://x\")", role="it")
    focal.add_official(session, place["A"], "Trần Văn Sở", position="Chánh Văn phòng")
    session.commit()
    answer = login(app, session).get("/staff/focal/danh-sach-dau-moi.xlsx")
    assert answer.status_code == 200 and answer.headers["Content-Disposition"].startswith("attachment;")
    sheet = load_workbook(io.BytesIO(answer.data)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0].startswith("DANH SÁCH ĐẦU MỐI KHẢO SÁT")
    assert tuple(rows[1]) == ("STT", "Đơn vị", "Họ và tên", "Chức vụ", "Điện thoại", "Email", "Vai trò")
    assert rows[2:] == [
        [1, "Sở Nội vụ", "Trần Văn Sở", "Chánh Văn phòng", None, None, "Đầu mối khảo sát"],
        [2, "Xã Một", "Nguyễn Thị Lan", "Phó Chủ tịch", "0912 345 678", "lan@xamot.gov.vn",
         "Đầu mối khảo sát"],
        [3, "Xã Một", "'=HYPERLINK(\"http://x\")", None, None, None, "Cán bộ công nghệ thông tin"]]
    scoped = login(app, session, units=[place["A"]], email="scoped@example.vn")
    sheet = load_workbook(io.BytesIO(scoped.get("/staff/focal/danh-sach-dau-moi.xlsx").data)).active
    assert [r[2] for r in sheet.iter_rows(min_row=3, values_only=True)] == ["Trần Văn Sở"]
    assert "focal.exported" in actions(session)


def test_overdue_milestones_for_whom(app, session, place, no_csrf):
    """Past due and not done, per unit: marked done or (focal-list kind) having an official counts."""
    wave, today = place["wave"], date.today()
    client = login(app, session)
    assert client.post(f"/staff/waves/{wave.code}/milestones", data={
        "name": "Gửi danh sách đầu mối", "due_on": (today - timedelta(days=2)).isoformat(),
        "kind": "focal_list"}).status_code == 303
    assert client.post(f"/staff/waves/{wave.code}/milestones", data={
        "name": "Hoàn thành khảo sát", "due_on": (today - timedelta(days=1)).isoformat(), "kind": "manual",
        "units": [place["C1"].id, place["C2"].id]}).status_code == 303
    assert client.post(f"/staff/waves/{wave.code}/milestones", data={
        "name": "Báo cáo cuối", "due_on": (today + timedelta(days=5)).isoformat(), "kind": "manual"}
    ).status_code == 303
    focal.add_official(session, place["A"], "Trần Văn Sở")
    session.commit()
    listing, finish, _ = session.scalars(select(focal.Milestone).order_by(focal.Milestone.due_on)).all()
    assert client.post(f"/staff/waves/{wave.code}/milestones/{finish.id}/done",
                       data={"units": [place["C1"].id]}).status_code == 303
    states = {s.milestone.name: s for s in focal.milestones(session, wave, today)}
    assert [[c for c, _ in s.overdue] for s in states.values()] == [["C1", "C2"], ["C2"], []]
    assert (states["Gửi danh sách đầu mối"].units, states["Gửi danh sách đầu mối"].done) == (3, 1)
    assert not states["Báo cáo cuối"].is_overdue
    assert focal.overdue_units(session, wave, today, [place["C1"].id, place["C2"].id]) == {
        place["C1"].id: ["Gửi danh sách đầu mối"],
        place["C2"].id: ["Gửi danh sách đầu mối", "Hoàn thành khảo sát"]}
    page = client.get(f"/staff/waves/{wave.code}/progress").text
    section = page.split('id="moc"')[1].split("</section>")[0]
    assert "Gửi danh sách đầu mối" in section and "2 đơn vị quá hạn" in section and "Xã Hai" in section
    scoped = {s.milestone.name: s for s in focal.milestones(session, wave, today, [place["C1"].id])}
    assert [c for c, _ in scoped["Hoàn thành khảo sát"].overdue] == []
    assert scoped["Gửi danh sách đầu mối"].units == 1
    assert actions(session) == ["milestone.added"] * 3 + ["milestone.done"]


def field_of_communes(session, n: int = 60):
    """A province with n communes, commune k having k % 7 of 6 invited forms done."""
    version = make_version(session)
    wave = make_wave(session)
    P = make_unit(session, code="PX", name="Tỉnh Lớn", kind="province")
    communes = [make_unit(session, code=f"X{k:03d}", name=f"Xã {k}", parent_id=P.id) for k in range(n)]
    for k, commune in enumerate(communes):
        for i in range(6):
            invitation, _ = make_invitation(session, TEST_SECRET, wave=wave, units=[commune], version=version)
            invitation.units[0].status = "done" if i < k % 7 else "not_started"
    session.commit()
    return wave, P, communes


def test_unit_tree_paged_and_drilled_in_sql(app, session, no_csrf):
    """60 communes under a province: 50 a page, lagging first; the province's level rolls them up."""
    wave, P, communes = field_of_communes(session)
    p = tracking.wave_progress(session, wave)
    assert [r.code for r in p.level(None)] == ["PX"] and p.level(None)[0].invited == 360
    assert p.level(None)[0].has_children
    assert p.level_count(P.id) == 60
    first = p.level(P.id, 50, 0)
    second = p.level(P.id, 50, 50)
    assert len(first) == 50 and len(second) == 10
    everyone = first + second
    assert sorted(r.code for r in everyone) == [c.code for c in communes]
    assert [r.completed for r in everyone] == sorted(r.completed for r in everyone)
    assert [r.code for r in p.lagging(3)] == ["X000", "X007", "X014"]
    client = login(app, session)
    page1 = client.get(f"/staff/waves/{wave.code}/progress?unit=PX").text
    page2 = client.get(f"/staff/waves/{wave.code}/progress?unit=PX&page=2").text
    tree = page2.split('id="don-vi"')[1].split("</section>")[0]
    assert "Trang 2/2" in tree and tree.count("<tr>") == 11  # header and 10 communes
    assert "Trang 1/2" in page1


def test_scoped_queries_and_csv(app, session, no_csrf):
    """A coordinator scoped to two communes: the queries (not the template) return only them; the CSV
    starts with a BOM and escapes a formula-like name."""
    wave, P, communes = field_of_communes(session, n=8)
    communes[1].name = "=1+1"
    session.commit()
    scope = [communes[1].id, communes[2].id]
    p = tracking.wave_progress(session, wave, scope)
    assert {r.code for r in p.all_units()} == {"X001", "X002"}
    assert p.level(P.id)[0].code == "X001" and p.level_count(P.id) == 2
    assert (p.total.invited, p.total.completed) == (12, 3)
    client = login(app, session, units=[communes[1], communes[2]])
    answer = client.get(f"/staff/waves/{wave.code}/progress.csv")
    assert answer.data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(answer.data.decode("utf-8-sig"))))
    assert [(r["unit_code"], r["unit_name"], r["completed"]) for r in rows] == [
        ("X001", "'=1+1", "1"), ("X002", "Xã 2", "2")]
    assert client.get(f"/staff/waves/{wave.code}/progress?unit=X005").status_code == 404  # out of scope


def test_no_remind_button_unless_the_wave_is_open(app, session, no_csrf):
    """Reminders go out only while the wave is open: a closed wave's page shows no button."""
    wave, _, _ = field_of_communes(session, n=3)
    wave.status = "closed"
    session.commit()
    page = login(app, session).get(f"/staff/waves/{wave.code}/progress")
    assert page.status_code == 200 and "/reminders" not in page.text and "Nhắc đơn vị này" not in page.text


def test_remind_buttons_post_to_the_reminders(app, session, no_csrf):
    """Each lagging unit has a button posting its code as `unit` to POST /staff/waves/<code>/reminders
    (invitations.remind), and one button posts every lagging unit shown."""
    wave, _, _ = field_of_communes(session, n=3)
    html = login(app, session).get(f"/staff/waves/{wave.code}/progress").text
    lagging = html.split('id="cham"')[1].split("</section>")[0]
    assert lagging.count(f'action="/staff/waves/{wave.code}/reminders"') == 4  # 3 units and all of them
    assert lagging.count('<input type="hidden" name="unit" value="X000">') == 2
    assert "Nhắc đơn vị này" in lagging and "Nhắc tất cả 3 đơn vị trên" in lagging
