"""Every staff route x every role x a unit in and out of the user's scope.

`EXPECTED` says who may use each staff endpoint; the test fails when the app has an endpoint that
is neither there nor a respondent/public one, when a view declares other roles than expected, or
when any role gets another answer than expected. A probe classifies the answer as "ok" (allowed,
and the unit's data is there), "hidden" (allowed, but the unit's data is not shown: out of scope)
or "forbidden" (403; for anonymous visitors, a redirect to the login page).
"""

import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.assessment import service as assessment_service
from survey.assessment.storage import storage_for
from survey.auth.access import declared_access
from survey.auth.models import ROLES, UserUnit
from survey.dashboard.views import report_dir
from survey.responses.models import Response
from survey.sampling import service as waves
from survey.sampling.models import WaveGroup, WaveUnit
from tests.assessment.helpers import PDF
from tests.conftest import TEST_SECRET
from tests.factories import STAFF_PASSWORD, make_assessment, make_invitation, make_staff, make_unit

PUBLIC = "public"
ANALYSTS = {"analyst", "coordinator"}
CLERKS = {"data_entry", "coordinator"}
READERS = {"coordinator", "data_entry", "analyst"}
STAFF = {"coordinator", "analyst", "data_entry", "assessor", "approver"}
ASSESSMENT_VIEWERS = {"assessor", "approver", "coordinator"}
EXPECTED = {
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,
    "staff.home": STAFF,
    "staff.poster": {"coordinator"},
    "frame.upload": {"coordinator"},
    "entry.index": CLERKS,
    "entry.start": CLERKS,
    "entry.page": CLERKS,
    "entry.next_form": CLERKS,
    "dashboard.index": ANALYSTS,
    "dashboard.wave": ANALYSTS,
    "dashboard.run": ANALYSTS,
    "dashboard.download": ANALYSTS,
    "instruments.index": READERS,
    "instruments.import_view": {"coordinator"},
    "instruments.export": READERS,
    "instruments.print_form": READERS,
    "waves.index": {"coordinator"},
    "waves.create": {"coordinator"},
    "waves.wave": {"coordinator"},
    "waves.assign": {"coordinator"},
    "waves.add_units": {"coordinator"},
    "waves.remove_unit": {"coordinator"},
    "waves.open_link": {"coordinator"},
    "waves.move": {"coordinator"},
    # Fieldwork tracking is the coordinators' job (theo dõi tiến độ, đôn đốc); analysts count
    # responses on their own pages, clerks enter forms.
    "tracking.progress": {"coordinator"},
    "tracking.progress_csv": {"coordinator"},
    # Self-assessment: assessors score and upload, approvers approve and enter the appraisal,
    # coordinators follow deadlines and remind; everyone within their units.
    "assessment.index": ASSESSMENT_VIEWERS,
    "assessment.create": {"coordinator"},
    "assessment.view": ASSESSMENT_VIEWERS,
    "assessment.document": ASSESSMENT_VIEWERS,
    "assessment.table_xlsx": ASSESSMENT_VIEWERS,
    "assessment.evidence_zip": ASSESSMENT_VIEWERS,
    "assessment.report": {"assessor", "approver"},
    "assessment.save_item": {"assessor", "approver"},
    "assessment.move": {"assessor", "approver"},
    "assessment.upload": {"assessor"},
    "assessment.link": {"assessor"},
    "assessment.unlink": {"assessor"},
    "assessment.appraise": {"approver"},
    "assessment.deadlines": {"coordinator", "approver"},
    "assessment.remind": {"coordinator", "approver"},
}
# Endpoints for respondents and machines, reached without a staff login by design.
NOT_STAFF_PREFIXES = ("respond.", "open_link.")
NOT_STAFF = {"static", "health.healthz"}
YEARS = itertools.count(2030)  # a new year for each assessment a probe creates


@dataclass
class World:
    """Two units A and B in an open wave, a clerk's draft for each, and a report per scope; a draft wave."""

    wave: object
    group: object
    units: dict
    drafts: dict
    draft_wave: object
    assessments: dict
    documents: dict
    framework_version: int


@pytest.fixture
def world(app, session):
    """Build the world, with CSRF off so that every POST reaches the access check."""
    app.config["WTF_CSRF_ENABLED"] = False
    unit_a, unit_b = make_unit(session, name="Xã An Phú"), make_unit(session, name="Xã Bình Minh")
    invitation, _ = make_invitation(session, TEST_SECRET, units=[unit_a])
    wave, group = invitation.wave, invitation.group
    for _ in range(2):
        make_invitation(session, TEST_SECRET, wave=wave, group=group, units=[unit_b])
    assignment = session.scalars(select(WaveGroup).filter_by(wave_id=wave.id, group_id=group.id)).one()
    assignment.open_link = True
    drafts = {}
    for label, unit in (("A", unit_a), ("B", unit_b)):
        session.add(WaveUnit(wave_id=wave.id, unit_id=unit.id))
        draft = Response(wave_id=wave.id, questionnaire_version_id=assignment.questionnaire_version_id,
                         unit_id=unit.id, group_id=group.id, mode="paper", status="draft")
        session.add(draft)
        session.flush()
        drafts[label] = draft.id
    draft_wave = waves.create_wave(session, "DRAFT", wave.year, "Đợt đang chuẩn bị", wave.opens_on,
                                   wave.closes_on)
    session.commit()
    assessments, documents = {}, {}
    for label, unit in (("A", unit_a), ("B", unit_b)):
        assessment = make_assessment(session, unit=unit)
        documents[label] = assessment_service.add_document(
            session, storage_for(app), assessment,
            make_staff(session, "assessor", email=f"up.{label}@example.vn"), PDF, f"{label}.pdf",
            assessment_service.DocumentInput(), [("par.1.1.1", None)]).id
        assessments[label], framework_version = assessment.id, assessment.framework_version_id
    session.commit()
    # A report file in each scope's folder: "A.txt" only for scope A, both in the all-units folder.
    for scope, names in ((None, ["A", "B"]), ([unit_a.code], ["A"]), ([unit_b.code], ["B"])):
        folder = report_dir(wave, scope)
        folder.mkdir(parents=True)
        for name in names:
            (folder / f"{name}.txt").write_text(name, encoding="utf-8")
    return World(wave, group, {"A": unit_a, "B": unit_b}, drafts, draft_wave, assessments, documents,
                 framework_version)


def classify(response, present: str | None = None, absent_status: int | None = None,
             refused_form: int | None = None) -> str:
    """Classify an answer; `present` must be in the body for "ok", `absent_status` means hidden.

    `refused_form` is the status of an allowed POST whose (empty) form is refused.
    """
    response.close()
    if response.status_code == 403:
        return "forbidden"
    if response.status_code == 302 and "/staff/login" in response.headers["Location"]:
        return "forbidden"
    if absent_status is not None and response.status_code == absent_status:
        return "hidden"
    if refused_form is not None and response.status_code == refused_form:
        return "ok"
    assert response.status_code < 400, (response.status_code, response.request.path)
    if present is not None and present not in response.text:
        return "hidden"
    return "ok"


def _start_post(client, w, unit):
    """Ask to open a draft for the unit; a unit outside the scope is not a valid choice."""
    answer = client.post(f"/staff/entry/{w.wave.code}/{w.group.code}",
                         data={"unit": unit.id, "mode": "paper"})
    return classify(answer, absent_status=200)


# endpoint -> (unit-sensitive, probe(client, world, unit label) -> outcome)
PROBES = {
    "auth.login": (False, lambda c, w, u: classify(c.get("/staff/login"))),
    "auth.logout": (False, lambda c, w, u: "ok" if c.post("/staff/logout").status_code == 302
                    else "forbidden"),
    "staff.home": (False, lambda c, w, u: classify(c.get("/staff/"))),
    "staff.poster": (False, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.wave.code}/{w.group.code}/poster"), present="/o/")),
    "frame.upload": (False, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.wave.code}/frame"), present=w.wave.code)),
    "entry.index": (True, lambda c, w, u: classify(c.get("/staff/entry/"), present=w.drafts[u])),
    "entry.start": (True, lambda c, w, u: classify(
        c.get(f"/staff/entry/{w.wave.code}/{w.group.code}"), present=w.units[u].name)),
    "entry.page": (True, lambda c, w, u: classify(
        c.get(f"/staff/entry/d/{w.drafts[u]}/p/1"), absent_status=404)),
    "entry.next_form": (False, lambda c, w, u: classify(
        c.get(f"/staff/entry/next/{w.wave.id}/{w.group.id}"))),
    "dashboard.index": (False, lambda c, w, u: classify(c.get("/staff/analysis/"), present=w.wave.code)),
    "dashboard.wave": (True, lambda c, w, u: classify(
        c.get(f"/staff/analysis/{w.wave.code}"), present=f"{u}.txt")),
    "dashboard.run": (False, lambda c, w, u: classify(c.post(f"/staff/analysis/{w.wave.code}/run"))),
    "dashboard.download": (True, lambda c, w, u: classify(
        c.get(f"/staff/analysis/{w.wave.code}/files/{u}.txt"), absent_status=404)),
    "instruments.index": (False, lambda c, w, u: classify(c.get("/staff/questionnaires"))),
    "instruments.import_view": (False, lambda c, w, u: classify(
        c.post("/staff/questionnaires/import"), refused_form=422)),
    "instruments.export": (False, lambda c, w, u: classify(
        c.get("/staff/questionnaires/small/1/xlsform"))),
    "instruments.print_form": (False, lambda c, w, u: classify(c.get("/staff/questionnaires/small/1/print"))),
    "waves.index": (False, lambda c, w, u: classify(c.get("/staff/waves/"), present=w.wave.code)),
    "waves.create": (False, lambda c, w, u: classify(c.post("/staff/waves/"), refused_form=422)),
    "waves.wave": (True, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.wave.code}"), present=w.units[u].name)),
    "waves.assign": (False, lambda c, w, u: classify(
        c.post(f"/staff/waves/{w.draft_wave.code}/groups"), refused_form=422)),
    # A unit outside the scope is not a valid choice (422); one inside is added to the draft wave.
    "waves.add_units": (True, lambda c, w, u: classify(
        c.post(f"/staff/waves/{w.draft_wave.code}/units", data={"root": w.units[u].id}), absent_status=422)),
    # Outside the scope: 404. Inside: removed, or refused with 422 when the unit is not in the wave.
    "waves.remove_unit": (True, lambda c, w, u: classify(
        c.post(f"/staff/waves/{w.draft_wave.code}/units/{w.units[u].id}/remove"), absent_status=404,
        refused_form=422)),
    "waves.open_link": (False, lambda c, w, u: classify(
        c.post(f"/staff/waves/{w.wave.code}/groups/{w.group.code}/open-link",
               data={f"g{w.group.id}-enabled": "y"}))),
    "waves.move": (False, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.draft_wave.code}/status/open"), present="DRAFT")),
    # Unit A has one invitation, B two: the unit's code must be on the page (or in the file) in scope only.
    "tracking.progress": (True, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.wave.code}/progress"), present=f"<code>{w.units[u].code}</code>")),
    "tracking.progress_csv": (True, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.wave.code}/progress.csv"), present=f"\r\n{w.units[u].code},")),
    # Another unit's assessment is a 404 everywhere; an empty form in scope is refused (422) or saved.
    "assessment.index": (True, lambda c, w, u: classify(
        c.get("/staff/assessments/"), present=w.units[u].name)),
    # A new year's assessment of a unit in scope is created; a unit out of scope is not a choice (422).
    "assessment.create": (True, lambda c, w, u: classify(c.post("/staff/assessments/", data={
        "unit": w.units[u].id, "year": next(YEARS), "version": w.framework_version}), absent_status=422)),
    "assessment.view": (True, lambda c, w, u: classify(
        c.get(f"/staff/assessments/{w.assessments[u]}"), absent_status=404)),
    "assessment.document": (True, lambda c, w, u: classify(
        c.get(f"/staff/assessments/{w.assessments[u]}/documents/{w.documents[u]}"), absent_status=404)),
    "assessment.table_xlsx": (True, lambda c, w, u: classify(
        c.get(f"/staff/assessments/{w.assessments[u]}/table.xlsx"), absent_status=404)),
    "assessment.evidence_zip": (True, lambda c, w, u: classify(
        c.get(f"/staff/assessments/{w.assessments[u]}/evidence.zip"), absent_status=404)),
    "assessment.report": (True, lambda c, w, u: classify(
        c.post(f"/staff/assessments/{w.assessments[u]}/report"), absent_status=404)),
    "assessment.save_item": (True, lambda c, w, u: classify(
        c.post(f"/staff/assessments/{w.assessments[u]}/items/par.1.1.1"), absent_status=404)),
    "assessment.move": (True, lambda c, w, u: classify(
        c.post(f"/staff/assessments/{w.assessments[u]}/move/nowhere"), absent_status=404, refused_form=422)),
    "assessment.upload": (True, lambda c, w, u: classify(
        c.post(f"/staff/assessments/{w.assessments[u]}/items/par.1.1.1/evidence"), absent_status=404,
        refused_form=422)),
    "assessment.link": (True, lambda c, w, u: classify(
        c.post(f"/staff/assessments/{w.assessments[u]}/items/par.1.1.1/link"), absent_status=404,
        refused_form=422)),
    "assessment.unlink": (True, lambda c, w, u: classify(
        c.post(f"/staff/assessments/{w.assessments[u]}/links/0/remove"), absent_status=404,
        refused_form=422)),
    "assessment.appraise": (True, lambda c, w, u: classify(
        c.post(f"/staff/assessments/{w.assessments[u]}/items/par.1.1.1/appraisal"), absent_status=404,
        refused_form=422)),
    "assessment.deadlines": (True, lambda c, w, u: classify(
        c.post(f"/staff/assessments/{w.assessments[u]}/deadlines"), absent_status=404)),
    "assessment.remind": (True, lambda c, w, u: classify(
        c.post(f"/staff/assessments/{w.assessments[u]}/remind"), absent_status=404)),
}


def expected(endpoint: str, role: str | None, scope: str, target: str) -> str:
    """What a user with the role (None: anonymous), scoped to one unit, should get for the target unit."""
    allowed = EXPECTED[endpoint]
    if allowed == PUBLIC:
        return "ok"
    if role is None or (role != "admin" and role not in allowed):
        return "forbidden"
    sensitive = PROBES[endpoint][0]
    if sensitive and role != "admin" and scope != target:
        return "hidden"
    return "ok"


def test_every_staff_route_is_declared_and_expected(app):
    """Every endpoint is a known respondent/public one or in EXPECTED, with the declared roles."""
    endpoints = set(app.view_functions)
    unknown = {e for e in endpoints - set(EXPECTED) - NOT_STAFF if not e.startswith(NOT_STAFF_PREFIXES)}
    assert unknown == set(), f"add these endpoints to EXPECTED and PROBES: {sorted(unknown)}"
    declared = declared_access(app)
    assert set(declared) == set(EXPECTED)
    for endpoint, roles in EXPECTED.items():
        assert declared[endpoint] == (PUBLIC if roles == PUBLIC else frozenset(roles) | {"admin"}), endpoint
    assert set(PROBES) == set(EXPECTED)


def test_undeclared_staff_route_stops_the_app(app):
    """Registering a staff view without roles_required or public fails at start-up."""
    from flask import Blueprint

    from survey.auth.access import check_declared

    stray = Blueprint("stray", __name__, url_prefix="/staff/stray")
    stray.add_url_rule("/", "index", lambda: "open to all")
    app.register_blueprint(stray)
    with pytest.raises(RuntimeError, match="stray.index"):
        check_declared(app)


@pytest.mark.parametrize("role", [*ROLES, None])
def test_role_and_scope_matrix(app, session, world, role):
    """Each role, scoped to unit A and then to unit B, gets the expected answer on every route."""
    answers, wanted = {}, {}
    for scope in ("A", "B"):
        client = app.test_client()
        if role is not None:
            user = make_staff(session, role, email=f"{role}.{scope.lower()}@example.vn", all_units=False)
            session.add(UserUnit(user_id=user.id, unit_id=world.units[scope].id))
            session.commit()
            logged = client.post("/staff/login", data={"email": user.email, "password": STAFF_PASSWORD})
            assert logged.status_code == 302
        for endpoint in sorted(EXPECTED, key=lambda e: e == "auth.logout"):  # log out last
            sensitive, probe = PROBES[endpoint]
            for target in ("A", "B") if sensitive else (scope,):
                answers[endpoint, scope, target] = probe(client, world, target)
                wanted[endpoint, scope, target] = expected(endpoint, role, scope, target)
            if endpoint == "entry.start":
                for target in ("A", "B"):
                    unit = world.units[target]
                    answers["entry.start POST", scope, target] = _start_post(client, world, unit)
                    wanted["entry.start POST", scope, target] = expected(endpoint, role, scope, target)
    assert answers == wanted


def test_admin_sees_every_unit(app, session, world):
    """An administrator's scope is every unit, whatever unit rows they carry."""
    client = app.test_client()
    make_staff(session, "admin", all_units=False)
    client.post("/staff/login", data={"email": "admin@example.vn", "password": STAFF_PASSWORD})
    page = client.get(f"/staff/analysis/{world.wave.code}")
    assert "A.txt" in page.text and "B.txt" in page.text
    assert Path(report_dir(world.wave, None), "A.txt").exists()


@pytest.mark.parametrize(("scope", "invited"), [("A", 1), ("B", 2), (None, 3)])
def test_home_counts_only_units_in_scope(app, session, world, scope, invited):
    """The staff home counts the invitations of the user's units (A has one, B two)."""
    client = app.test_client()
    user = make_staff(session, "coordinator", all_units=scope is None)
    if scope is not None:
        session.add(UserUnit(user_id=user.id, unit_id=world.units[scope].id))
        session.commit()
    client.post("/staff/login", data={"email": user.email, "password": STAFF_PASSWORD})
    page = client.get("/staff/").text
    assert f"<td>{invited}</td><td>0</td>" in page
