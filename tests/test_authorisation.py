"""Every staff route x every role x a unit in and out of the user's scope.

`EXPECTED` says who may use each staff endpoint; the test fails when the app has an endpoint that
is neither there nor a respondent/public one, when a view declares other roles than expected, or
when any role gets another answer than expected. A probe classifies the answer as "ok" (allowed,
and the unit's data is there), "hidden" (allowed, but the unit's data is not shown: out of scope)
or "forbidden" (403; for anonymous visitors, a redirect to the login page).
"""

import io
import itertools
import json
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import select

from survey import bundled
from survey.assessment import service as assessment_service
from survey.assessment.storage import storage_for
from survey.auth import api_tokens
from survey.auth.access import declared_access
from survey.auth.models import ROLES, UserUnit
from survey.dashboard.jobs import REPORT_JOB
from survey.dashboard.views import report_dir
from survey.db import db
from survey.definitions.frameworks import load_frameworks
from survey.instruments import frameworks as framework_service
from survey.jobs.models import JobRecord
from survey.responses.models import Answer, EntryCopy, Response
from survey.sampling import focal, invitations
from survey.sampling import service as waves
from survey.sampling.models import WaveGroup, WaveUnit
from tests.assessment.helpers import PDF
from tests.conftest import TEST_SECRET
from tests.factories import (
    STAFF_PASSWORD,
    make_assessment,
    make_invitation,
    make_staff,
    make_stratum,
    make_unit,
    make_wave,
)

PUBLIC = "public"


@cache
def par_framework():
    """The bundled PAR framework, read once (the world publishes it for the framework and index pages)."""
    return load_frameworks(bundled.QUESTIONNAIRES / "frameworks")["par-province-2024"]

ANALYSTS = {"analyst", "coordinator"}
CLERKS = {"data_entry", "coordinator"}
READERS = {"coordinator", "data_entry", "analyst"}
STAFF = {"coordinator", "analyst", "data_entry", "assessor", "approver"}
FRAMEWORK_READERS = {"coordinator", "analyst", "assessor", "approver"}
INDEX_READERS = {"analyst", "coordinator", "approver"}
ASSESSMENT_VIEWERS = {"assessor", "approver", "coordinator"}
EXPECTED = {
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,
    "staff.home": STAFF,
    "staff.poster": {"coordinator"},
    "frame.upload": {"coordinator"},
    "draw.page": {"coordinator"},
    "entry.index": CLERKS,
    "entry.start": CLERKS,
    "entry.page": CLERKS,
    "entry.next_form": CLERKS,
    "entry.discard": CLERKS,
    "entry.forms": CLERKS,
    "entry.entered": CLERKS,
    "entry.resolve": CLERKS,
    "entry.double_entry": {"coordinator"},
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
    "waves.contact": {"coordinator"},
    "waves.move": {"coordinator"},
    # Fieldwork tracking is the coordinators' job (theo dõi tiến độ, đôn đốc); analysts count
    # responses on their own pages, clerks enter forms.
    "tracking.progress": {"coordinator"},
    "tracking.progress_csv": {"coordinator"},
    # Every staff member may follow the jobs they started (an administrator: every job).
    "jobs.index": STAFF,
    "jobs.job": STAFF,
    # Invitations hold contact details: the coordinators' (of the people's units) alone.
    "invitations.index": {"coordinator"},
    "invitations.issue": {"coordinator"},
    "invitations.links_csv": {"coordinator"},
    "invitations.letters": {"coordinator"},
    "invitations.slips": {"coordinator"},
    "invitations.send": {"coordinator"},
    "invitations.remind": {"coordinator"},
    # Frameworks: everyone who works with criteria reads them; only coordinators publish a new version.
    "frameworks.index": FRAMEWORK_READERS,
    "frameworks.export": FRAMEWORK_READERS,
    "frameworks.import_view": {"coordinator"},
    "frameworks.apply": {"coordinator"},
    # The overall index: analysts compute it, coordinators enter external points, approvers read it.
    "overall.index": INDEX_READERS,
    "overall.year_view": INDEX_READERS,
    "overall.external": {"coordinator"},
    # Focal officials: the coordinators, and the unit's own users (assessors), each in their scope;
    # the ministry's list and the milestones are the coordinators'.
    "focal.index": {"coordinator", "assessor"},
    "focal.add": {"coordinator", "assessor"},
    "focal.edit": {"coordinator", "assessor"},
    "focal.delete": {"coordinator", "assessor"},
    "focal.export": {"coordinator"},
    "milestones.index": {"coordinator"},
    "milestones.add": {"coordinator"},
    "milestones.done": {"coordinator"},
    "milestones.delete": {"coordinator"},
    "closing.close": {"coordinator"},
    # Staff accounts are the administrators' job; every staff member manages their own API tokens.
    "users.index": {"admin"},
    "users.create": {"admin"},
    "users.edit": {"admin"},
    "users.set_active": {"admin"},
    "users.password": {"admin"},
    "tokens.index": STAFF,
    "tokens.create": STAFF,
    "tokens.revoke": STAFF,
    # The JSON API, as on the pages: coordinators track fieldwork, analysts read responses; nobody
    # gets contact details. Its description is public.
    "api_meta.openapi_json": PUBLIC,
    "api.waves": ANALYSTS,
    "api.wave": ANALYSTS,
    "api.progress": {"coordinator"},
    "api.units": ANALYSTS,
    "api.responses": {"analyst"},
    # Self-assessment: assessors score and upload, approvers approve and enter the appraisal,
    # coordinators follow deadlines and remind; everyone within their units.
    "assessment.index": ASSESSMENT_VIEWERS,
    "assessment.create": {"coordinator"},
    "assessment.view": ASSESSMENT_VIEWERS,
    "assessment.document": ASSESSMENT_VIEWERS,
    "assessment.table_xlsx": ASSESSMENT_VIEWERS,
    "assessment.evidence_zip": ASSESSMENT_VIEWERS,
    "assessment.printable": ASSESSMENT_VIEWERS,
    "assessment.edit_document": {"assessor"},
    "assessment.delete_document": {"assessor"},
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
NOT_STAFF = {"static", "favicon", "health.healthz", "invitations.opt_out"}
YEARS = itertools.count(2030)  # a new year for each assessment a probe creates


@dataclass
class World:
    """Two units A and B in an open wave, a clerk's draft for each, and a report per scope; a draft wave;
    a closed wave with one complete response for each unit (for the API); another staff account."""

    wave: object
    group: object
    units: dict
    drafts: dict
    draft_wave: object
    invited_wave: object  # an open wave with one selected, invited person in each of A and B
    officials: dict  # unit label -> a focal official's id
    spare_officials: dict  # unit label -> ids the delete probes may delete
    milestones: dict  # unit label -> a milestone of that unit only
    spare_milestones: dict
    answered_wave: object
    other_user: int
    assessments: dict
    documents: dict
    framework_version: int
    entered: dict  # unit label -> a paper form entered in wave ENTERED (complete, with a form number)


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
    drafts, entered = {}, {}
    for label, unit in (("A", unit_a), ("B", unit_b)):
        session.add(WaveUnit(wave_id=wave.id, unit_id=unit.id))
        draft = Response(wave_id=wave.id, questionnaire_version_id=assignment.questionnaire_version_id,
                         unit_id=unit.id, group_id=group.id, mode="paper", status="draft")
        session.add(draft)
        session.flush()
        drafts[label] = draft.id
    framework_service.publish(session, par_framework())
    draft_wave = waves.create_wave(session, "DRAFT", wave.year, "Đợt đang chuẩn bị", wave.opens_on,
                                   wave.closes_on)
    for label, unit in (("A", unit_a), ("B", unit_b)):
        make_stratum(session, draft_wave, code=f"S-{label}", unit_id=unit.id)
    invited_wave = _invited_wave(session, wave, group, {"A": unit_a, "B": unit_b})
    officials, spare_officials, milestones, spare_milestones = {}, {}, {}, {}
    for label, unit in (("A", unit_a), ("B", unit_b)):
        officials[label] = focal.add_official(session, unit, f"Đầu mối {label}").id
        spare_officials[label] = [focal.add_official(session, unit, f"Dự phòng {label}{i}").id
                                  for i in range(2)]
        milestones[label] = focal.add_milestone(session, wave, f"Mốc {label}", wave.closes_on, [unit.id]).id
        spare_milestones[label] = [focal.add_milestone(session, wave, f"Mốc phụ {label}{i}", wave.closes_on,
                                                       [unit.id]).id for i in range(2)]
    answered_wave = make_wave(session, code="ANSWERED", status="closed")
    entered_wave = make_wave(session, code="ENTERED")
    for label, unit in (("A", unit_a), ("B", unit_b)):
        entered[label] = _entered_forms(session, entered_wave, assignment, unit, label)
    for unit in (unit_a, unit_b):
        session.add(WaveUnit(wave_id=answered_wave.id, unit_id=unit.id))
        session.add(Response(wave_id=answered_wave.id, unit_id=unit.id, group_id=group.id,
                             questionnaire_version_id=assignment.questionnaire_version_id, mode="online",
                             status="complete", submitted_on=date(2025, 11, 3),
                             answers=[Answer(item_id="used", value_text="y")]))
    other = make_staff(session, "data_entry", email="other@example.vn")
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
    return World(wave, group, {"A": unit_a, "B": unit_b}, drafts, draft_wave, invited_wave, officials,
                 spare_officials, milestones, spare_milestones, answered_wave, other.id, assessments,
                 documents, framework_version, entered)


def _entered_forms(session, wave, assignment, unit, label: str) -> str:
    """A paper form entered for the unit (number F<label>), and the two differing entries of another
    (number D<label>); return the entered form's id."""
    design = {"wave_id": wave.id, "questionnaire_version_id": assignment.questionnaire_version_id,
              "unit_id": unit.id, "group_id": assignment.group_id, "mode": "paper"}
    form = Response(**design, status="complete", submitted_on=date(2025, 11, 3), form_number=f"F{label}",
                    entry_pass=1, answers=[Answer(item_id="used", value_text="n")])
    session.add(form)
    for entry_pass, used in ((1, "y"), (2, "n")):
        session.add(EntryCopy(**design, language="vi", form_number=f"D{label}", entry_pass=entry_pass,
                              answers=[["used", "value_text", used]]))
    session.flush()
    return form.id


def _invited_wave(session, wave, group, units):
    """Another open wave of the group over A and B, with "Người A" and "Người B" selected and invited."""
    other = waves.create_wave(session, "INVITED", wave.year, "Đợt có thư mời", wave.opens_on, wave.closes_on)
    assigned = session.scalars(select(WaveGroup).filter_by(wave_id=wave.id, group_id=group.id)).one()
    session.add(WaveGroup(wave_id=other.id, group_id=group.id,
                          questionnaire_version_id=assigned.questionnaire_version_id))
    for label, unit in units.items():
        session.add(WaveUnit(wave_id=other.id, unit_id=unit.id))
        stratum = waves.add_stratum(session, other, f"S{label}", 10, 1, unit=unit, group=group)
        waves.add_person(session, other, stratum, f"Người {label}", email=f"nguoi.{label.lower()}@example.vn",
                         selection_probability=0.1)
    invitations.issue(session, other, TEST_SECRET)
    other.status = "open"
    return other


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


FORM_NUMBERS = itertools.count(1)


def _start_post(client, w, unit):
    """Ask to open a draft for the unit by its code; a unit outside the scope is refused (422)."""
    answer = client.post(f"/staff/entry/{w.wave.code}/{w.group.code}",
                         data={"unit_code": unit.code, "form_number": f"P{next(FORM_NUMBERS)}",
                               "mode": "paper"})
    return classify(answer, absent_status=422)


def _delete_spare(client, spares: list, path: str) -> str:
    """Post a delete of the last spare row; a deleted one is not offered again."""
    answer = client.post(path.format(spares[-1]))
    if answer.status_code == 303:
        spares.pop()
    return classify(answer, absent_status=404)
def api(client, path: str, shows=None) -> str:
    """Classify an API answer to the client's bearer token: 401/403 forbidden, and for "ok" the JSON
    must pass `shows` (else "hidden": allowed, but the unit's data is not there)."""
    answer = client.get(path, headers=client.bearer)
    answer.close()
    if answer.status_code in (401, 403):
        assert answer.is_json, path
        return "forbidden"
    assert answer.status_code == 200, (answer.status_code, path)
    return "ok" if shows is None or shows(answer.json) else "hidden"


def listed(w, u, rows, key: str = "code") -> bool:
    """Tell whether the code of unit `u` is among the rows' `key`."""
    return w.units[u].code in {row[key] for row in rows}


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
    # The draft wave has a stratum of each unit: the draw page lists only the strata in scope.
    "draw.page": (True, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.draft_wave.code}/draw"), present=f"<code>{w.units[u].code}</code>")),
    "entry.index": (True, lambda c, w, u: classify(c.get("/staff/entry/"), present=w.drafts[u])),
    # The start form carries the unit code over from the previous form, only for a unit in scope.
    "entry.start": (True, lambda c, w, u: classify(
        c.get(f"/staff/entry/{w.wave.code}/{w.group.code}?unit={w.units[u].code}"),
        present=f'value="{w.units[u].code}"')),
    "entry.page": (True, lambda c, w, u: classify(
        c.get(f"/staff/entry/d/{w.drafts[u]}/p/1"), absent_status=404)),
    "entry.next_form": (False, lambda c, w, u: classify(
        c.get(f"/staff/entry/next/{w.wave.id}/{w.group.id}"))),
    "entry.discard": (True, lambda c, w, u: classify(
        c.get(f"/staff/entry/d/{w.drafts[u]}/discard"), absent_status=404)),
    "entry.forms": (True, lambda c, w, u: classify(
        c.get("/staff/entry/w/ENTERED/forms"), present=w.entered[u])),
    "entry.entered": (True, lambda c, w, u: classify(
        c.get(f"/staff/entry/w/ENTERED/forms/{w.entered[u]}"), absent_status=404)),
    "entry.resolve": (True, lambda c, w, u: classify(
        c.get(f"/staff/entry/w/ENTERED/double/D{u}"), absent_status=404)),
    "entry.double_entry": (False, lambda c, w, u: classify(
        c.post("/staff/entry/w/ENTERED/double-entry", data={"on": "0"}))),
    "dashboard.index": (False, lambda c, w, u: classify(c.get("/staff/analysis/"), present=w.wave.code)),
    "dashboard.wave": (True, lambda c, w, u: classify(
        c.get(f"/staff/analysis/{w.wave.code}?section=files"), present=f"{u}.txt")),
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
    "waves.contact": (False, lambda c, w, u: classify(
        c.post(f"/staff/waves/{w.wave.code}/contact", data={"contact_phone": "1900 1234"}))),
    "waves.move": (False, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.draft_wave.code}/status/open"), present="DRAFT")),
    # Unit A has one invitation, B two: the unit's code must be on the page (or in the file) in scope only.
    "tracking.progress": (True, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.wave.code}/progress"), present=f"<code>{w.units[u].code}</code>")),
    "tracking.progress_csv": (True, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.wave.code}/progress.csv"), present=f"\r\n{w.units[u].code},")),
    # The people of unit u, by name, in scope only; a unit out of scope asked for by code is 404.
    "invitations.index": (True, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.invited_wave.code}/invitations"), present=w.units[u].name)),
    "invitations.issue": (False, lambda c, w, u: classify(
        c.post(f"/staff/waves/{w.invited_wave.code}/invitations", data={"language": "vi"}))),
    "invitations.links_csv": (True, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.invited_wave.code}/invitations/links.csv"), present=f"Người {u}")),
    "invitations.letters": (True, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.invited_wave.code}/invitations/letters"), present=f"Người {u}")),
    "invitations.slips": (True, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.invited_wave.code}/invitations/slips"), present=f"Người {u}")),
    "invitations.send": (False, lambda c, w, u: classify(
        c.post(f"/staff/waves/{w.invited_wave.code}/invitations/send"))),  # the preview
    "invitations.remind": (True, lambda c, w, u: classify(
        c.post(f"/staff/waves/{w.invited_wave.code}/reminders", data={"unit": w.units[u].code}),
        absent_status=404)),
}


def _own_job(client, w, u):
    """Open a job started by the logged-in user (by nobody for an anonymous visitor): its page links back."""
    with client.session_transaction() as cookie:
        logged_in = cookie.get("_user_id")
    owner = int(logged_in.split(".")[0]) if logged_in else None
    job = JobRecord(kind=REPORT_JOB, parameters={"wave": w.wave.code}, status="done", done=0,
                    created_by=owner, wave_id=w.wave.id)
    db.session.add(job)
    db.session.commit()
    return classify(client.get(f"/staff/jobs/{job.id}"), present=f'href="/staff/analysis/{w.wave.code}"')


PROBES |= {
    "jobs.index": (False, lambda c, w, u: classify(c.get("/staff/jobs/"))),
    "jobs.job": (False, _own_job),
    "frameworks.index": (False, lambda c, w, u: classify(c.get("/staff/frameworks"), present="2024.1")),
    "frameworks.export": (False, lambda c, w, u: classify(
        c.get("/staff/frameworks/par-province-2024/2024.1.xlsx"))),
    "frameworks.import_view": (False, lambda c, w, u: classify(c.post("/staff/frameworks/import"),
                                                               refused_form=422)),
    "frameworks.apply": (False, lambda c, w, u: classify(c.post("/staff/frameworks/apply"),
                                                         refused_form=400)),
    "overall.index": (False, lambda c, w, u: classify(c.get("/staff/index/"), present=str(w.wave.year))),
    # The year's table shows the units in scope only; external points of another unit: 404.
    "overall.year_view": (True, lambda c, w, u: classify(
        c.get(f"/staff/index/{w.wave.year}"), present=w.units[u].name)),
    "overall.external": (True, lambda c, w, u: classify(
        c.get(f"/staff/index/{w.wave.year}/external/{w.units[u].code}"), absent_status=404)),
    # The list shows the unit's officials in scope only; out of scope, an official is 404 and a unit
    # is not a valid choice (422).
    "focal.index": (True, lambda c, w, u: classify(c.get("/staff/focal/"), present=f"Đầu mối {u}")),
    "focal.add": (True, lambda c, w, u: classify(c.post("/staff/focal/", data={
        "unit": w.units[u].id, "role": "focal", "full_name": "Người mới"}), absent_status=422)),
    "focal.edit": (True, lambda c, w, u: classify(
        c.get(f"/staff/focal/{w.officials[u]}"), absent_status=404)),
    "focal.delete": (True, lambda c, w, u: _delete_spare(c, w.spare_officials[u], "/staff/focal/{}/delete")),
    "focal.export": (False, lambda c, w, u: classify(c.get("/staff/focal/danh-sach-dau-moi.xlsx"))),
    "milestones.index": (True, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.wave.code}/milestones"), present=w.units[u].name)),
    "milestones.add": (True, lambda c, w, u: classify(c.post(f"/staff/waves/{w.wave.code}/milestones", data={
        "name": "Mốc mới", "due_on": "2026-12-01", "kind": "manual", "units": [w.units[u].id]}),
        absent_status=422)),
    "milestones.done": (True, lambda c, w, u: classify(c.post(
        f"/staff/waves/{w.wave.code}/milestones/{w.milestones[u]}/done", data={"units": [w.units[u].id]}),
        absent_status=422)),
    "milestones.delete": (True, lambda c, w, u: _delete_spare(
        c, w.spare_milestones[u], f"/staff/waves/{w.wave.code}/milestones/{{}}/delete")),
    "closing.close": (False, lambda c, w, u: classify(
        c.get(f"/staff/waves/{w.wave.code}/close"), present=w.wave.code)),
    "users.index": (False, lambda c, w, u: classify(c.get("/staff/users/"), present="other@example.vn")),
    "users.create": (False, lambda c, w, u: classify(c.get("/staff/users/new"), present=w.units[u].code)),
    "users.edit": (False, lambda c, w, u: classify(c.get(f"/staff/users/{w.other_user}"),
                                                   present="other@example.vn")),
    "users.set_active": (False, lambda c, w, u: classify(
        c.post(f"/staff/users/{w.other_user}/active", data={"active": "1"}))),
    "users.password": (False, lambda c, w, u: classify(
        c.post(f"/staff/users/{w.other_user}/password"), present='class="secret"')),
    "tokens.index": (False, lambda c, w, u: classify(c.get("/staff/tokens/"))),
    "tokens.create": (False, lambda c, w, u: classify(
        c.post("/staff/tokens/", data={"name": "probe", "days": "1"}), present='class="secret"')),
    # Nobody owns token 999999: allowed users get 404 (only their own tokens exist for them).
    "tokens.revoke": (False, lambda c, w, u: classify(c.post("/staff/tokens/999999/revoke"),
                                                      refused_form=404)),
    "api_meta.openapi_json": (False, lambda c, w, u: classify(c.get("/api/v1/openapi.json"),
                                                              present="openapi")),
    "api.waves": (False, lambda c, w, u: api(c, "/api/v1/waves",
                                             lambda d: w.wave.code in {x["code"] for x in d})),
    "api.wave": (True, lambda c, w, u: api(c, f"/api/v1/waves/{w.wave.code}",
                                           lambda d: listed(w, u, d["units"]))),
    "api.progress": (True, lambda c, w, u: api(c, f"/api/v1/waves/{w.wave.code}/progress",
                                               lambda d: listed(w, u, d["units"], "unit"))),
    "api.units": (True, lambda c, w, u: api(c, "/api/v1/units", lambda d: listed(w, u, d))),
    "api.responses": (True, lambda c, w, u: api(c, f"/api/v1/waves/{w.answered_wave.code}/responses",
                                                lambda d: listed(w, u, d["items"], "unit"))),
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
    "assessment.printable": (True, lambda c, w, u: classify(
        c.get(f"/staff/assessments/{w.assessments[u]}/print"), absent_status=404)),
    "assessment.edit_document": (True, lambda c, w, u: classify(
        c.post(f"/staff/assessments/{w.assessments[u]}/documents/0"), absent_status=404, refused_form=422)),
    "assessment.delete_document": (True, lambda c, w, u: classify(
        c.post(f"/staff/assessments/{w.assessments[u]}/documents/0/remove"), absent_status=404,
        refused_form=422)),
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
        client.bearer = {}
        if role is not None:
            user = make_staff(session, role, email=f"{role}.{scope.lower()}@example.vn", all_units=False)
            session.add(UserUnit(user_id=user.id, unit_id=world.units[scope].id))
            token = api_tokens.create(session, TEST_SECRET, user, "matrix", 1)
            client.bearer = {"Authorization": f"Bearer {token.secret}"}
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
    page = client.get(f"/staff/analysis/{world.wave.code}?section=files")
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


CONTACT = {"name": "Trần Thị Liên Lạc", "phone": "0912 345 678", "email": "lienlac.tran@example.vn",
           "position": "Chuyên viên Phòng Văn hóa"}
# What must appear in no answer: the name (and a part of it), the phone in its usual forms, the e-mail.
CONTACT_TRACES = ("Liên Lạc", "Lien Lac", "912345678", "912 345 678", "0912", "lienlac", "Phòng Văn hóa")


def _seed_frame(session, world) -> None:
    """A person with known contact details in the frame of the open wave, invited to rate unit A."""
    stratum = waves.add_stratum(session, world.draft_wave, "S-CONTACT", 10, 1, unit=world.units["A"],
                                group=world.group)
    person = waves.add_person(session, world.draft_wave, stratum, CONTACT["name"], phone=CONTACT["phone"],
                              email=CONTACT["email"], position=CONTACT["position"],
                              workplace=world.units["A"])
    world.wave.status, status = "draft", world.wave.status  # invite() refuses only closed waves
    person.wave_id = world.wave.id
    stratum.wave_id = world.wave.id
    waves.invite(session, world.wave, world.group, person, [world.units["A"]], TEST_SECRET)
    world.wave.status = status
    session.commit()


def _urls(app, endpoints, world) -> list[str]:
    """Every GET URL of the endpoints, with the world's wave codes (and the test questionnaire)."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint not in endpoints or "GET" not in rule.methods:
            continue
        if rule.endpoint.startswith("instruments."):
            choices = [{"code": "small", "version": "1"}]
        elif rule.endpoint.startswith("frameworks."):
            choices = [{"code": "par-province-2024", "version": "2024.1"}]
        else:
            choices = [{"code": code, "name": name} for code in (world.wave.code, world.answered_wave.code)
                       for name in ("A.txt", "B.txt")]
        # Other arguments: the world's year, unit codes and small ids (a missing row is a 404, fine).
        others = {"year": world.wave.year, "unit": world.units["A"].code}
        ids = {arg: 1 for arg in rule.arguments if arg not in others}
        choices = [others | ids | values for values in choices]
        found += sorted({rule.build(values, append_unknown=False)[1] for values in choices})
    return found


def _text(answer) -> str:
    """An answer's content as text: JSON without escapes, spreadsheets' XML unzipped."""
    if answer.is_json:
        return json.dumps(answer.json, ensure_ascii=False)
    body = answer.get_data()
    if body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return body.decode("utf-8")


def _leaks(answer) -> list[str]:
    """The contact details found in an answer."""
    text = unicodedata.normalize("NFC", _text(answer)).lower()
    return [trace for trace in CONTACT_TRACES if trace.lower() in text]


def test_no_contact_details_for_analysts_or_through_the_api(app, session, world):
    """A person of the frame with known contact details: no page an analyst may open, and no API answer
    to any role, contains their name, phone number, e-mail address or position."""
    _seed_frame(session, world)
    analyst_pages = {e for e, roles in EXPECTED.items() if roles == PUBLIC or "analyst" in roles}
    api_endpoints = {e for e in EXPECTED if e.startswith(("api.", "api_meta."))}
    checked = {}
    for role in ROLES:
        user = make_staff(session, role, email=f"{role}.contact@example.vn")
        client = app.test_client()
        client.post("/staff/login", data={"email": user.email, "password": STAFF_PASSWORD})
        bearer = {"Authorization": "Bearer " + api_tokens.create(session, TEST_SECRET, user, "t", 1).secret}
        session.commit()
        urls = _urls(app, api_endpoints | (analyst_pages if role == "analyst" else set()), world)
        for url in urls:
            answer = client.get(url, headers=bearer if url.startswith("/api/") else {})
            checked[role, url] = (answer.status_code, _leaks(answer))
            answer.close()
    assert {key: leaks for key, (_, leaks) in checked.items() if leaks} == {}
    # The probes reached the data: the admin every API answer, the analyst every page and the responses
    # (no report was computed for the answered wave), the coordinator the progress.
    refused = {(role, url) for (role, url), (status, _) in checked.items() if status != 200}
    assert not {(role, url) for role, url in refused if role == "admin" or (
        role == "analyst" and not url.endswith("/progress") and "ANSWERED/files" not in url
        and url != "/staff/jobs/1")}  # nobody's job: 404 to all but an administrator
    assert checked["coordinator", f"/api/v1/waves/{world.wave.code}/progress"][0] == 200
    assert checked["analyst", f"/api/v1/waves/{world.answered_wave.code}/responses"][0] == 200
