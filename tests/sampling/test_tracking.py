"""Fieldwork tracking: exact counts on a hand-made wave, the count triggers, scope, CSV, order, access."""

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from survey.auth.models import UserUnit
from survey.responses import release
from survey.responses.models import HeldSubmission, Response
from survey.sampling import progress as counts
from survey.sampling import tracking
from survey.sampling.models import Invitation, InvitationUnit
from tests.conftest import TEST_SECRET
from tests.factories import (
    STAFF_PASSWORD,
    make_group,
    make_invitation,
    make_staff,
    make_stratum,
    make_unit,
    make_version,
    make_wave,
)

D1, D2 = date(2026, 10, 5), date(2026, 10, 7)
PERSON = {"not_started": "pending", "in_progress": "started", "done": "completed"}


@pytest.fixture
def field(session):
    """A province P with an agency A and communes C1–C3; citizens (G1) sampled in C1–C3, commune
    leaders (G2) rating A and P; statuses, a walk-in, released responses by mode and day, held ones."""
    version = make_version(session)
    wave = make_wave(session, closes_on=date.today() + timedelta(days=12))
    citizens = make_group(session, name="Người dân")
    leaders = make_group(session, name="Lãnh đạo xã", kind="official")
    P = make_unit(session, code="P", name="Tỉnh Thử", kind="province")
    A = make_unit(session, code="A", name="Sở Tư pháp", kind="agency", parent_id=P.id)
    C1, C2, C3 = (make_unit(session, code=f"C{i}", name=f"Xã Số {i}", parent_id=P.id) for i in (1, 2, 3))
    strata = {c.code: make_stratum(session, wave, code=f"S-{c.code}", unit_id=c.id, group_id=citizens.id,
                                   sample_size=n) for c, n in ((C1, 4), (C2, 3), (C3, 2))}
    strata["L"] = make_stratum(session, wave, code="S-L", group_id=leaders.id, sample_size=2)

    def invite(group, units, statuses, stratum, source="frame"):
        invitation, _ = make_invitation(session, TEST_SECRET, wave=wave, group=group, units=units,
                                        stratum=stratum, version=version)
        invitation.source = source
        for entry, status in zip(invitation.units, statuses, strict=True):
            entry.status = status
        if all(s == "done" for s in statuses):
            invitation.status = "completed"
        elif any(s != "not_started" for s in statuses):
            invitation.status = "started"
        session.flush()
        return invitation

    for status in ("done", "done", "in_progress", "not_started"):
        invite(citizens, [C1], [status], strata["C1"])
    for status in ("done", "not_started", "not_started"):
        invite(citizens, [C2], [status], strata["C2"])
    for _ in range(2):
        invite(citizens, [C3], ["not_started"], strata["C3"])
    invite(leaders, [A, P], ["done", "in_progress"], strata["L"])
    invite(leaders, [A, P], ["done", "done"], strata["L"])
    invite(citizens, [C2], ["done"], None, source="open")  # a walk-in: no stratum, no denominator

    def respond(unit, group, mode, day, status="complete", stratum=None):
        session.add(Response(wave_id=wave.id, questionnaire_version_id=version.id, unit_id=unit.id,
                             group_id=group.id, stratum_id=stratum.id if stratum else None, mode=mode,
                             status=status, submitted_on=day if status == "complete" else None))

    respond(C1, citizens, "online", D1, stratum=strata["C1"])
    respond(C1, citizens, "online", D1, stratum=strata["C1"])
    respond(C2, citizens, "paper", D2, stratum=strata["C2"])  # a clerk's form: no invitation
    respond(A, leaders, "online", D2, stratum=strata["L"])
    respond(C3, citizens, "paper", None, status="draft")  # a draft counts nowhere
    for unit, group in ((C2, citizens), (P, leaders)):
        session.add(HeldSubmission(wave_id=wave.id, questionnaire_version_id=version.id, unit_id=unit.id,
                                   group_id=group.id, mode="online", language="vi", submitted_on=D2,
                                   answers=[]))
    session.commit()
    return {"wave": wave, "citizens": citizens, "leaders": leaders, "strata": strata,
            "units": {u.code: u for u in (P, A, C1, C2, C3)}}


def numbers(row):
    return (row.invited, row.started, row.completed, row.target, row.walk_in, row.released)


def by_unit(p) -> dict:
    """Every counted unit's own row, by unit id (what the CSV lists)."""
    return {row.key: row for row in p.all_units()}


def test_counts_per_unit_stratum_group_mode_and_day(session, field):
    """Every figure of the hand-made wave, counted by hand."""
    p = tracking.wave_progress(session, field["wave"], today=field["wave"].closes_on - timedelta(days=12))
    by_code = {row.code: row for row in p.all_units()}
    assert {code: numbers(row) for code, row in by_code.items()} == {
        "C1": (4, 3, 2, 4, 0, 2), "C2": (3, 1, 1, 3, 1, 1), "C3": (2, 0, 0, 2, 0, 0),
        "A": (2, 2, 2, 0, 0, 1), "P": (2, 2, 1, 0, 0, 0)}
    assert numbers(p.total) == (13, 8, 6, 9, 1, 4)
    top = p.level(None)
    assert [r.code for r in top] == ["P"] and numbers(top[0]) == numbers(p.total)
    assert [r.code for r in p.level(field["units"]["P"].id)] == ["C3", "C2", "C1", "A"]
    assert {r.code: (r.invited, r.started, r.completed, r.target) for r in p.strata()} == {
        "S-C1": (4, 3, 2, 4), "S-C2": (3, 1, 1, 3), "S-C3": (2, 0, 0, 2), "S-L": (2, 2, 1, 2)}
    assert {r.label: (r.invited, r.started, r.completed, r.target, r.held) for r in p.groups} == {
        "Người dân": (9, 4, 3, 9, 1), "Lãnh đạo xã": (2, 2, 1, 2, 1)}
    assert (p.persons.invited, p.persons.started, p.persons.completed, p.held) == (11, 6, 4, 2)
    assert p.modes == [("online", 3), ("paper", 1)]
    assert p.days == [(D1, 2), (D2, 2)]
    assert p.days_left == 12


def test_counts_agree_with_the_rows(session, field):
    """The page's counts equal COUNT(*) over the rows: forms per unit (invitation units joined to
    invitations), persons per group, released responses per unit, mode and day."""
    wave = field["wave"]
    units = by_unit(tracking.wave_progress(session, wave))
    joined = (select(InvitationUnit.unit_id, func.count())
              .join(Invitation, Invitation.id == InvitationUnit.invitation_id)
              .where(Invitation.wave_id == wave.id, Invitation.source == "frame")
              .group_by(InvitationUnit.unit_id))
    assert dict(session.execute(joined).all()) == {u: r.invited for u, r in units.items() if r.invited}
    done = dict(session.execute(joined.where(InvitationUnit.status == "done")).all())
    assert done == {u: r.completed for u, r in units.items() if r.completed}
    released = dict(session.execute(select(Response.unit_id, func.count()).where(
        Response.wave_id == wave.id, Response.status == "complete").group_by(Response.unit_id)).all())
    assert released == {u: r.released for u, r in units.items() if r.released}
    p = tracking.wave_progress(session, wave)
    persons = dict(session.execute(select(Invitation.group_id, func.count()).where(
        Invitation.wave_id == wave.id, Invitation.source == "frame").group_by(Invitation.group_id)).all())
    assert persons == {g.key: g.invited for g in p.groups if g.invited}
    assert p.total.invited == sum(dict(session.execute(joined).all()).values())
    complete = Response.status == "complete"
    assert p.modes == [tuple(r) for r in session.execute(
        select(Response.mode, func.count()).where(Response.wave_id == wave.id, complete)
        .group_by(Response.mode).order_by(Response.mode))]
    assert p.days == [tuple(r) for r in session.execute(
        select(Response.submitted_on, func.count()).where(Response.wave_id == wave.id, complete)
        .group_by(Response.submitted_on).order_by(Response.submitted_on))]


def recount(session) -> tuple[set, set]:
    """The count tables as kept by the triggers, and as recomputed from the rows (zeros left out)."""
    kept = {tuple(r) for r in session.execute(text(
        "SELECT wave_id, kind, group_id, stratum_id, unit_id, source, status, n FROM progress_counts "
        "WHERE n <> 0 UNION ALL SELECT wave_id, 'r', group_id, stratum_id, unit_id, mode, "
        "CAST(submitted_on AS VARCHAR(10)), n FROM response_counts WHERE n <> 0"))}
    session.execute(text("CREATE TEMPORARY TABLE progress_counts_check AS SELECT * FROM progress_counts "
                         "WHERE 1 = 0"))
    session.execute(text("CREATE TEMPORARY TABLE response_counts_check AS SELECT * FROM response_counts "
                         "WHERE 1 = 0"))
    for statement in counts.BACKFILL:
        session.execute(text(statement.replace("INTO progress_counts ", "INTO progress_counts_check ")
                             .replace("INTO response_counts ", "INTO response_counts_check ")))
    fresh = {tuple(r) for r in session.execute(text(
        "SELECT wave_id, kind, group_id, stratum_id, unit_id, source, status, n FROM progress_counts_check "
        "UNION ALL SELECT wave_id, 'r', group_id, stratum_id, unit_id, mode, "
        "CAST(submitted_on AS VARCHAR(10)), n FROM response_counts_check"))}
    session.execute(text("DROP TABLE progress_counts_check"))
    session.execute(text("DROP TABLE response_counts_check"))
    return kept, fresh


UNIT_TOTALS = ("SELECT wave_id, unit_id, invited, opened, started, completed, walk_in, released, target "
               "FROM {table} WHERE invited <> 0 OR opened <> 0 OR started <> 0 OR completed <> 0 "
               "OR walk_in <> 0 OR released <> 0 OR target <> 0")
DAYS = "SELECT wave_id, CAST(submitted_on AS VARCHAR(10)), mode, n FROM {table} WHERE n <> 0"


def unit_recount(session) -> tuple[set, set]:
    """unit_progress and response_day_counts as kept by the triggers, and as recomputed (migration 0011)."""
    def read(units: str, days: str) -> set:
        return ({("u", *r) for r in session.execute(text(UNIT_TOTALS.format(table=units)))}
                | {("d", *r) for r in session.execute(text(DAYS.format(table=days)))})

    kept = read("unit_progress", "response_day_counts")
    for table in ("unit_progress", "response_day_counts"):
        session.execute(text(f"CREATE TEMPORARY TABLE {table}_check AS SELECT * FROM {table} WHERE 1 = 0"))
    for statement in counts.unit_backfill():
        session.execute(text(statement.replace("INTO unit_progress ", "INTO unit_progress_check ")
                             .replace("INTO response_day_counts ", "INTO response_day_counts_check ")))
    fresh = read("unit_progress_check", "response_day_counts_check")
    for table in ("unit_progress", "response_day_counts"):
        session.execute(text(f"DROP TABLE {table}_check"))
    return kept, fresh


def test_triggers_keep_counts_exact_through_changes(session, field):
    """Status changes, a release's rewrite, a moved invitation, deletions: the kept counts equal a recount."""
    kept, fresh = recount(session)
    assert kept == fresh and len(kept) > 10
    kept, fresh = unit_recount(session)
    assert kept == fresh and len(kept) > 5
    wave, units = field["wave"], field["units"]
    invitation = session.scalars(select(Invitation).join(InvitationUnit).where(
        InvitationUnit.unit_id == units["C3"].id)).first()
    opened_before = tracking.wave_progress(session, wave).unit(units["C3"].id).opened
    invitation.opened_on = date.today()  # the landing page was opened: opened, not started
    session.flush()
    assert tracking.wave_progress(session, wave).unit(units["C3"].id).opened == opened_before + 1
    assert unit_recount(session)[0] == unit_recount(session)[1]
    invitation.units[0].status = "in_progress"
    invitation.status = "started"
    session.flush()
    assert tracking.wave_progress(session, wave).unit(units["C3"].id).started == 1
    assert tracking.wave_progress(session, wave).unit(units["C3"].id).opened == opened_before + 1
    invitation.stratum_id = field["strata"]["C2"].id  # moved to another stratum: its form moves too
    field["strata"]["C1"].sample_size = 3  # a new target
    session.flush()
    kept, fresh = recount(session)
    assert kept == fresh
    assert unit_recount(session)[0] == unit_recount(session)[1]
    assert tracking.wave_progress(session, wave).unit(units["C1"].id).target == 3
    invitation.source = "open"  # a form moving between sampled and walk-in
    session.flush()
    assert unit_recount(session)[0] == unit_recount(session)[1]
    invitation.source = "frame"
    session.flush()
    session.execute(text("UPDATE invitations SET status = status"))  # a release's unchanged rewrite
    session.execute(text("UPDATE invitation_units SET status = status"))
    session.delete(invitation)
    session.execute(Response.__table__.delete().where(Response.mode == "paper"))
    session.flush()
    kept, fresh = recount(session)
    assert kept == fresh
    kept, fresh = unit_recount(session)
    assert kept == fresh
    assert tracking.wave_progress(session, wave).unit(units["C3"].id).invited == 1


def test_release_moves_held_submissions_into_released_counts(session, field):
    """Released by `release`, the held submissions leave "đang chờ" and appear by mode and day."""
    wave = field["wave"]
    release.release(session, 1, force=True)
    session.flush()
    p = tracking.wave_progress(session, wave)
    assert p.held == 0
    assert p.modes == [("online", 5), ("paper", 1)]
    assert p.days == [(D1, 2), (D2, 4)]
    kept, fresh = recount(session)
    assert kept == fresh
    kept, fresh = unit_recount(session)
    assert kept == fresh


def log_in(app, session, role="coordinator", units=None):
    client = app.test_client()
    user = make_staff(session, role, email=f"{role}{len(units or [])}@example.vn", all_units=units is None)
    for unit in units or []:
        session.add(UserUnit(user_id=user.id, unit_id=unit.id))
    session.commit()
    assert client.post("/staff/login", data={"email": user.email,
                                             "password": STAFF_PASSWORD}).status_code == 302
    return client


@pytest.fixture
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def test_page_in_vietnamese_with_lagging_units_first(app, session, field, no_csrf):
    """The coordinator's page: Vietnamese labels, lagging units lowest first, the tree, the chart."""
    client = log_in(app, session)
    page = client.get(f"/staff/waves/{field['wave'].code}/progress")
    assert page.status_code == 200
    html = page.text
    for label in ("Tiến độ khảo sát", "Đơn vị chậm tiến độ", "Đã mời", "Đã bắt đầu", "Đã hoàn thành",
                  "Tỷ lệ phản hồi", "Chỉ tiêu mẫu", "Theo tầng mẫu", "Theo nhóm đối tượng",
                  "Theo hình thức trả lời", "Phiếu hoàn thành theo ngày", "Còn 12 ngày", "Trực tuyến",
                  "Phiếu giấy", "Đã mở đường dẫn", "phần mềm quét thư có thể mở đường dẫn", "<svg"):
        assert label in html, label
    lagging = html.split('id="cham"')[1].split("</section>")[0]
    positions = [lagging.index(f"<code>{code}</code>") for code in ("C3", "C2", "C1", "P", "A")]
    assert positions == sorted(positions)
    # The total: invited, opened (none opened a link here: the started ones), started, completed, ...
    assert ("<td>13</td><td>8</td><td>8</td><td>6</td><td>46%</td><td>9</td><td>67%</td><td>1</td><td>4</td>"
            in html)
    drill = client.get(f"/staff/waves/{field['wave'].code}/progress?unit=P").text
    assert "Bản thân Tỉnh Thử" in drill and "<code>C3</code>" in drill
    assert client.get(f"/staff/waves/{field['wave'].code}/progress?unit=NOPE").status_code == 404
    assert client.get("/staff/waves/NOPE/progress").status_code == 404
    english = client.get(f"/staff/waves/{field['wave'].code}/progress?lang=en").text
    assert "Lagging units" in english


def test_scoped_coordinator_sees_only_their_units(app, session, field, no_csrf):
    """Scoped to C2 and C3: only their rows, strata and totals; nothing of C1, A or P."""
    units = field["units"]
    client = log_in(app, session, units=[units["C2"], units["C3"]])
    html = client.get(f"/staff/waves/{field['wave'].code}/progress").text
    assert "<code>C2</code>" in html and "<code>C3</code>" in html
    assert "<code>C1</code>" not in html and "<code>A</code>" not in html and "S-C1" not in html
    assert ("<td>5</td><td>1</td><td>1</td><td>1</td><td>20%</td><td>5</td><td>20%</td><td>1</td><td>1</td>"
            in html)
    p = tracking.wave_progress(session, field["wave"], [units["C2"].id, units["C3"].id])
    assert numbers(p.total) == (5, 1, 1, 5, 1, 1)
    assert p.held == 1 and p.modes == [("paper", 1)] and p.days == [(D2, 1)]
    assert {r.code for r in p.strata()} == {"S-C2", "S-C3"}
    rows = list(csv.DictReader(io.StringIO(
        client.get(f"/staff/waves/{field['wave'].code}/progress.csv").text.lstrip("\ufeff"))))
    assert [r["unit_code"] for r in rows] == ["C3", "C2"]


def test_csv_download(app, session, field, no_csrf):
    """The CSV is an attachment with every counted unit, lagging first, and the page's numbers."""
    client = log_in(app, session)
    answer = client.get(f"/staff/waves/{field['wave'].code}/progress.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert [r["unit_code"] for r in rows] == ["C3", "C2", "C1", "P", "A"]
    assert rows[1] == {"unit_code": "C2", "unit_name": "Xã Số 2", "kind": "commune", "parent_code": "P",
                       "invited": "3", "opened": "1", "started": "1", "completed": "1",
                       "response_rate": "0.3333",
                       "target": "3", "completed_vs_target": "0.3333", "walk_in_completed": "1",
                       "released_responses": "1"}
    assert rows[3]["target"] == "" and rows[3]["completed_vs_target"] == ""


@pytest.mark.parametrize("role", ["analyst", "data_entry", "assessor", "approver"])
def test_other_roles_cannot_track(app, session, field, no_csrf, role):
    """Tracking is the coordinators' (and administrators') job."""
    client = log_in(app, session, role=role)
    assert client.get(f"/staff/waves/{field['wave'].code}/progress").status_code == 403
    assert client.get(f"/staff/waves/{field['wave'].code}/progress.csv").status_code == 403


def test_home_links_the_progress_page(app, session, field, no_csrf):
    """The staff home links each wave's progress for coordinators, not for analysts."""
    link = f"/staff/waves/{field['wave'].code}/progress"
    assert link in log_in(app, session).get("/staff/").text
    assert link not in log_in(app, session, role="analyst").get("/staff/").text


def test_opening_a_link_counts_once_as_opened(app, session, client):
    """The landing page of a link marks its invitation opened (the day only); the unit's count moves once."""
    invitation, token = make_invitation(session, TEST_SECRET)
    session.commit()
    wave, unit_id = invitation.wave, invitation.units[0].unit_id
    assert tracking.wave_progress(session, wave).unit(unit_id).opened == 0
    for _ in range(2):
        assert client.get(f"/r/{token}").status_code == 200
    session.expire_all()
    assert session.get(Invitation, invitation.id).opened_on == date.today()
    row = tracking.wave_progress(session, wave).unit(unit_id)
    assert (row.invited, row.opened, row.started) == (1, 1, 0)
