"""Wave set-up pages: a coordinator creates, sets up, opens and closes a wave in the browser (test client).

Every change is checked in the database and the audit log; every refusal is shown in Vietnamese,
writes nothing and never shows the service's English text.
"""

from datetime import date

import pytest
from sqlalchemy import func, select

from survey.auth.models import AuditLog, UserUnit
from survey.sampling import service
from survey.sampling.models import Wave, WaveGroup, WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import csrf_token, log_in, make_group, make_invitation, make_unit, make_version

D1, D2 = date(2026, 3, 1), date(2026, 5, 31)
NEW_WAVE = {"code": "CCHC-2026", "year": "2026", "name": "Khảo sát Chỉ số CCHC năm 2026",
            "name_en": "PAR index survey 2026", "opens_on": "2026-03-01", "closes_on": "2026-05-31"}


@pytest.fixture
def province(session):
    """A province with an agency, two communes and a ward; a respondent group; a published questionnaire."""
    root = make_unit(session, kind="province", name="Tỉnh Thử", code="P")
    units = {"P": root,
             "SNV": make_unit(session, kind="agency", name="Sở Nội vụ", code="SNV", parent_id=root.id),
             "X1": make_unit(session, name="Xã An Phú", code="X1", parent_id=root.id),
             "X2": make_unit(session, name="Xã Bình Minh", code="X2", parent_id=root.id),
             "PH": make_unit(session, kind="ward", name="Phường Đông", code="PH", parent_id=root.id)}
    group = make_group(session, code="nguoi_dan", name="Người dân", name_en="Citizens")
    version = make_version(session)
    session.commit()
    return units, group, version


def audit_actions(session) -> list[str]:
    """The wave actions of the audit log, in order (logins are audited too)."""
    session.expire_all()
    return list(session.scalars(select(AuditLog.action).where(AuditLog.action.like("wave.%"))
                                .order_by(AuditLog.id)))


def post(client, url: str, data: dict | None = None, form_page: str = "/staff/waves/"):
    """Post a form with the token of a staff page."""
    return client.post(url, data={"csrf_token": csrf_token(client, form_page)} | (data or {}))


def test_coordinator_creates_sets_up_opens_and_closes_a_wave(client, session, province):
    """Create, assign a group, add communes of a subtree, remove one, open, toggle the open link, close."""
    units, group, version = province
    user = log_in(client, session, "coordinator")
    listing = client.get("/staff/waves/")
    assert listing.status_code == 200 and "Tạo đợt khảo sát mới" in listing.text

    created = post(client, "/staff/waves/", NEW_WAVE)
    assert created.status_code == 303 and created.headers["Location"].endswith("/staff/waves/CCHC-2026")
    wave = session.scalar(select(Wave).filter_by(code="CCHC-2026"))
    assert (wave.status, wave.year, wave.name_en, wave.opens_on, wave.closes_on) == (
        "draft", 2026, "PAR index survey 2026", D1, D2)
    page = client.get("/staff/waves/CCHC-2026").text
    assert "Đã tạo đợt khảo sát CCHC-2026" in page and "Đang chuẩn bị" in page
    assert f'<option value="{version.id}">small 1 — Phiếu nhỏ</option>' in page  # from the database

    wave_page = "/staff/waves/CCHC-2026"
    assert post(client, f"{wave_page}/groups", {"group": group.id, "version": version.id},
                wave_page).status_code == 303
    session.expire_all()
    assigned = session.scalar(select(WaveGroup).filter_by(wave_id=wave.id))
    assert (assigned.group_id, assigned.questionnaire_version_id, assigned.open_link) == (
        group.id, version.id, False)

    added = post(client, f"{wave_page}/units", {"root": units["P"].id, "kinds": ["commune", "ward"]},
                 wave_page)
    assert added.status_code == 303
    assert "Đã thêm 3 đơn vị" in client.get(wave_page).text
    chosen = set(session.scalars(select(WaveUnit.unit_id).filter_by(wave_id=wave.id)))
    assert chosen == {units["X1"].id, units["X2"].id, units["PH"].id}  # not the province nor the agency
    removed = post(client, f"{wave_page}/units/{units['PH'].id}/remove", form_page=wave_page)
    assert removed.status_code == 303
    assert set(session.scalars(select(WaveUnit.unit_id).filter_by(wave_id=wave.id))) == {
        units["X1"].id, units["X2"].id}

    confirm = client.get(f"{wave_page}/status/open")  # a confirmation step, changing nothing
    assert confirm.status_code == 200 and "Mở đợt khảo sát “Khảo sát Chỉ số CCHC năm 2026”?" in confirm.text
    session.expire_all()
    assert session.get(Wave, wave.id).status == "draft"
    assert post(client, f"{wave_page}/status/open", form_page=f"{wave_page}/status/open").status_code == 303
    session.expire_all()
    assert session.get(Wave, wave.id).status == "open"
    page = client.get(wave_page).text
    assert "Đợt khảo sát đã mở." in page and "Thêm đơn vị" not in page  # set-up forms gone once open

    link = f"{wave_page}/groups/nguoi_dan/open-link"
    switched = post(client, link, {f"g{group.id}-enabled": "y", f"g{group.id}-quota": "30"}, wave_page)
    assert switched.status_code == 303
    session.expire_all()
    assigned = session.get(WaveGroup, assigned.id)
    assert (assigned.open_link, assigned.open_quota) == (True, 30)
    page = client.get(wave_page).text
    assert "/staff/waves/CCHC-2026/nguoi_dan/poster" in page and "tối đa 30 phiếu mỗi đơn vị" in page
    assert client.get("/staff/waves/CCHC-2026/nguoi_dan/poster").status_code == 200
    assert post(client, link, {f"g{group.id}-quota": ""}, wave_page).status_code == 303  # switched off
    session.expire_all()
    assigned = session.get(WaveGroup, assigned.id)
    assert (assigned.open_link, assigned.open_quota) == (False, None)
    assert "/nguoi_dan/poster" not in client.get(wave_page).text

    closing = f"{wave_page}/status/closed"
    assert post(client, closing, form_page=closing).status_code == 303
    session.expire_all()
    assert session.get(Wave, wave.id).status == "closed"
    listing = client.get("/staff/waves/").text
    assert "Đã đóng" in listing and "<td>nguoi_dan</td>" in listing and "<td>2</td>" in listing

    assert audit_actions(session) == [
        "wave.created", "wave.group_assigned", "wave.units_added", "wave.unit_removed", "wave.open",
        "wave.open_link", "wave.open_link", "wave.closed"]
    waves_audit = select(AuditLog).where(AuditLog.action.like("wave.%"))
    assert {(a.user_id, a.target) for a in session.scalars(waves_audit)} == {(user.id, "wave:CCHC-2026")}


ENGLISH = ("exists already", "before it opens", "can no longer change", "cannot go from", "choose at least",
           "has invitations")


def test_refusals_are_vietnamese_and_write_nothing(client, session, province):
    """Each refusal of the service is a Vietnamese message on a 422 page; no row and no audit entry."""
    units, group, version = province
    log_in(client, session, "coordinator")
    service.create_wave(session, "CCHC-2026", 2026, "Đợt", D1, D2)
    session.commit()

    def written():
        return (session.scalar(select(func.count()).select_from(Wave)),
                session.scalar(select(func.count()).select_from(WaveUnit)), len(audit_actions(session)))

    def refused(url, data, form_page, message):
        before = written()
        answer = post(client, url, data, form_page)
        assert answer.status_code == 422, answer.status_code
        assert message in answer.text
        assert not any(text in answer.text for text in ENGLISH)
        session.expire_all()
        assert written() == before
        return answer

    refused("/staff/waves/", NEW_WAVE, "/staff/waves/", "Đã có đợt khảo sát mã CCHC-2026; hãy chọn mã khác.")
    refused("/staff/waves/", NEW_WAVE | {"code": "KHAC", "closes_on": "2026-02-01"}, "/staff/waves/",
            "Ngày đóng (01/02/2026) đứng trước ngày mở (01/03/2026).")
    refused("/staff/waves/", NEW_WAVE | {"code": "có dấu"}, "/staff/waves/", "Mã chỉ gồm chữ không dấu")
    page = "/staff/waves/CCHC-2026"
    refused(f"{page}/status/open", {}, page, "Chưa mở được: hãy chọn ít nhất một nhóm đối tượng và bảng hỏi.")
    refused(f"{page}/status/closed", {}, page, "không chuyển sang “Đã đóng” được")

    wave = session.scalar(select(Wave).filter_by(code="CCHC-2026"))
    service.assign_group(session, wave, group.code, "small")
    service.add_units(session, wave, [units["X1"]])
    make_invitation(session, TEST_SECRET, wave=wave, group=group, units=[units["X1"]])
    session.commit()
    refused(f"{page}/units/{units['X1'].id}/remove", {}, page,
            "Không bỏ được đơn vị X1: đã có thư mời hoặc tầng mẫu gắn với đơn vị này.")
    refused(f"{page}/groups/{group.code}/open-link", {f"g{group.id}-enabled": "y", f"g{group.id}-quota": "0"},
            page, "Số phiếu tối đa mỗi đơn vị phải từ 1 trở lên.")

    service.set_status(session, wave, "open")
    session.commit()
    frozen = "không thể thay đổi nhóm đối tượng, bảng hỏi hay đơn vị được đánh giá nữa"
    refused(f"{page}/units", {"root": units["X2"].id}, page, frozen)
    refused(f"{page}/groups", {"group": group.id, "version": version.id}, page, frozen)
    refused(f"{page}/units/{units['X1'].id}/remove", {}, page, frozen)
    assert session.scalar(select(WaveUnit.unit_id).filter_by(wave_id=wave.id)) == units["X1"].id


def test_scoped_coordinator_sees_and_adds_only_their_units(client, session, province):
    """A coordinator scoped to one commune sees only it, may add only it, and cannot remove another."""
    units, _group, _version = province
    make_unit(session, kind="commune", name="Xã Con", code="X1A", parent_id=units["X1"].id)
    wave = service.create_wave(session, "CCHC-2026", 2026, "Đợt", D1, D2)
    service.add_units(session, wave, [units["X2"], units["PH"]])
    session.commit()
    user = log_in(client, session, "coordinator", all_units=False)
    session.add(UserUnit(user_id=user.id, unit_id=units["X1"].id))
    session.add(UserUnit(user_id=user.id, unit_id=units["X2"].id))
    session.commit()
    page_url = "/staff/waves/CCHC-2026"

    page = client.get(page_url).text
    assert "Xã Bình Minh" in page and "Phường Đông" not in page  # PH is in the wave, not in scope
    assert "Đơn vị được đánh giá (1)" in page
    assert "P — Tỉnh Thử" not in page and "X1A — Xã Con" not in page  # not theirs: not offered
    assert f'<option value="{units["X1"].id}">X1 — Xã An Phú</option>' in page
    assert "<td>1</td>" in client.get("/staff/waves/").text  # one unit of the wave counted for them

    answer = post(client, f"{page_url}/units", {"root": units["P"].id}, page_url)  # the province: not theirs
    assert answer.status_code == 422 and "Xin sửa các ô được đánh dấu bên dưới." in answer.text
    assert post(client, f"{page_url}/units", {"root": units["X1"].id}, page_url).status_code == 303
    session.expire_all()
    assert set(session.scalars(select(WaveUnit.unit_id).filter_by(wave_id=wave.id))) == {
        units["X1"].id, units["X2"].id, units["PH"].id}  # X1 added, not the hamlet under it (out of scope)
    assert post(client, f"{page_url}/units/{units['PH'].id}/remove", form_page=page_url).status_code == 404
    assert session.get(WaveUnit, (wave.id, units["PH"].id)) is not None


@pytest.mark.parametrize("role", ["analyst", "data_entry", "assessor"])
def test_other_roles_cannot_reach_the_set_up_pages(client, session, province, role):
    """Analysts, clerks and assessors get 403 on every wave set-up page and post; nothing is written."""
    log_in(client, session, role)
    service.create_wave(session, "CCHC-2026", 2026, "Đợt", D1, D2)
    session.commit()
    token = csrf_token(client, "/staff/")  # the log-out button's form token
    for path in ("/staff/waves/", "/staff/waves/CCHC-2026", "/staff/waves/CCHC-2026/status/open"):
        assert client.get(path).status_code == 403
    for path in ("/staff/waves/", "/staff/waves/CCHC-2026/status/open", "/staff/waves/CCHC-2026/units"):
        assert client.post(path, data={"csrf_token": token, **NEW_WAVE, "root": "1"}).status_code == 403
    session.expire_all()
    assert session.scalar(select(Wave.status)) == "draft"
    assert session.scalar(select(func.count()).select_from(Wave)) == 1
    assert audit_actions(session) == []


def test_units_without_kinds_are_the_agencies_and_commune_level_units(client, session, province):
    """With no kind ticked, a subtree adds what `flask waves units` adds: never the province itself."""
    units, _group, _version = province
    wave = service.create_wave(session, "CCHC-2026", 2026, "Đợt", D1, D2)
    session.commit()
    log_in(client, session, "admin", all_units=False)  # an administrator sees every unit
    page = "/staff/waves/CCHC-2026"
    assert post(client, f"{page}/units", {"root": units["P"].id}, page).status_code == 303
    chosen = set(session.scalars(select(WaveUnit.unit_id).filter_by(wave_id=wave.id)))
    assert chosen == {units[code].id for code in ("SNV", "X1", "X2", "PH")}
    entry = session.scalar(select(AuditLog).where(AuditLog.action == "wave.units_added"))
    assert entry.details == {"under": "P", "kinds": ["agency", "commune", "ward", "special_zone"], "added": 4}
