"""The JSON API: bearer tokens, waves, progress by unit, units, paged anonymised responses, errors,
and its OpenAPI document."""

from datetime import date

import pytest

from survey.auth import api_tokens
from survey.auth.models import UserUnit
from survey.definitions import load
from survey.responses import export, service
from survey.responses.release import release
from survey.sampling.models import WaveUnit
from tests.conftest import TEST_SECRET
from tests.factories import (
    SMALL_QUESTIONNAIRE,
    make_invitation,
    make_staff,
    make_unit,
    make_version,
    make_wave,
)

DEFINITION = load.from_document(SMALL_QUESTIONNAIRE)


def bearer(session, user, days: int = 30) -> dict:
    """Create a token for the user and return the header that carries it."""
    secret = api_tokens.create(session, TEST_SECRET, user, "test", days).secret
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def answer(session, invitation, unit, version, **answers):
    """Answer, submit and release one form of an invitation."""
    draft = service.start_draft(session, invitation, unit.id, version.id)
    service.save_answers(session, draft, DEFINITION, answers)
    service.submit(session, draft, invitation, today=date(2025, 11, 3))
    release(session, 1)


@pytest.fixture
def wave_data(session):
    """A wave over two communes A and B: A has 3 invitations (2 answered), B 1 (answered)."""
    wave, version = make_wave(session, code="W-API"), make_version(session)
    unit_a, unit_b = make_unit(session, code="A01"), make_unit(session, code="B01")
    group = None
    for unit, invited, answered in ((unit_a, 3, 2), (unit_b, 1, 1)):
        session.add(WaveUnit(wave_id=wave.id, unit_id=unit.id))
        for n in range(invited):
            invitation, _ = make_invitation(session, TEST_SECRET, wave=wave, group=group, units=[unit],
                                            version=version)
            group = invitation.group
            if n < answered:
                answer(session, invitation, unit, version, used="y", age=30 + n, m1_signs="4")
    session.commit()
    return wave, unit_a, unit_b


def test_no_token_wrong_token_and_expired_token_get_401_json(app, client, session, wave_data):
    """Without a valid token: 401 as JSON with WWW-Authenticate, never the data."""
    user = make_staff(session, "coordinator")
    expired = api_tokens.create(session, TEST_SECRET, user, "old", 1)
    expired.row.expires_at = expired.row.created_at.replace(year=2020)
    session.commit()
    for headers in ({}, {"Authorization": "Bearer par_nothing"}, {"Authorization": "Basic abc"},
                    {"Authorization": f"Bearer {expired.secret}"}):
        answer_ = client.get("/api/v1/waves", headers=headers)
        assert answer_.status_code == 401
        assert answer_.json["code"] == 401 and "W-API" not in answer_.text
        assert answer_.headers["WWW-Authenticate"].startswith("Bearer")
        assert answer_.headers["Cache-Control"] == "no-store"


def test_session_cookie_gives_no_access(client, session, wave_data):
    """A logged-in browser without a token gets 401: the API reads bearer tokens only."""
    from tests.factories import log_in

    log_in(client, session, "coordinator")
    assert client.get("/api/v1/waves").status_code == 401


def test_waves_and_wave_in_scope(client, session, wave_data):
    """A coordinator scoped to A sees the wave with A only."""
    wave, unit_a, unit_b = wave_data
    user = make_staff(session, "coordinator", all_units=False)
    session.add(UserUnit(user_id=user.id, unit_id=unit_a.id))
    headers = bearer(session, user)
    listed = client.get("/api/v1/waves", headers=headers)
    assert listed.status_code == 200
    assert [(w["code"], w["units_in_scope"]) for w in listed.json] == [("W-API", 1)]
    one = client.get("/api/v1/waves/W-API", headers=headers).json
    assert one["units"] == [{"code": "A01", "name": unit_a.name}] and one["status"] == "open"
    missing = client.get("/api/v1/waves/NOPE", headers=headers)
    assert missing.status_code == 404 and missing.json == {"code": 404, "status": "Not Found",
                                                             "message": "Not found."}


def test_progress_by_unit_agrees_with_tracking(client, session, wave_data):
    """Invited, started, completed and the rate by unit; a scoped coordinator sees only theirs."""
    wave, unit_a, unit_b = wave_data
    everyone = client.get("/api/v1/waves/W-API/progress", headers=bearer(session, make_staff(
        session, "coordinator"))).json
    by_unit = {u["unit"]: u for u in everyone["units"]}
    assert (by_unit["A01"]["invited"], by_unit["A01"]["completed"]) == (3, 2)
    assert by_unit["A01"]["rate"] == pytest.approx(2 / 3)
    assert (by_unit["B01"]["invited"], by_unit["B01"]["completed"], by_unit["B01"]["rate"]) == (1, 1, 1.0)
    assert (everyone["total"]["invited"], everyone["total"]["completed"]) == (4, 3)
    scoped = make_staff(session, "coordinator", email="b@example.vn", all_units=False)
    session.add(UserUnit(user_id=scoped.id, unit_id=unit_b.id))
    mine = client.get("/api/v1/waves/W-API/progress", headers=bearer(session, scoped)).json
    assert [u["unit"] for u in mine["units"]] == ["B01"] and mine["total"]["invited"] == 1


def test_units_tree_is_scoped(client, session, wave_data):
    """The unit list has each unit's parent; a scoped user gets only their units."""
    wave, unit_a, unit_b = wave_data
    child = make_unit(session, code="A01-1", parent_id=unit_a.id)
    analyst = make_staff(session, "analyst", all_units=False)
    session.add_all([UserUnit(user_id=analyst.id, unit_id=unit_a.id),
                     UserUnit(user_id=analyst.id, unit_id=child.id)])
    units = client.get("/api/v1/units", headers=bearer(session, analyst)).json
    assert [(u["code"], u["parent"]) for u in units] == [("A01", None), ("A01-1", "A01")]


def test_responses_are_the_export_rows_paged(client, session, wave_data):
    """Pages of the export's rows, in response id order, each response once; limits enforced."""
    wave, unit_a, unit_b = wave_data
    headers = bearer(session, make_staff(session, "analyst"))
    seen, after = [], ""
    while after is not None:
        page = client.get(f"/api/v1/waves/W-API/responses?limit=2&after={after}" if after else
                          "/api/v1/waves/W-API/responses?limit=2", headers=headers)
        assert page.status_code == 200
        seen += page.json["items"]
        after = page.json["next_after"]
    frame = export.responses_frame(session, wave)
    assert [r["response_id"] for r in seen] == list(frame["response_id"])
    assert set(seen[0]) == set(frame.columns)
    assert seen[0]["submitted_on"] == "2025-11-03" and seen[0]["used"] == "y"
    assert len(seen) == 3
    for bad in ("limit=0", "limit=501", "after=-1", "limit=x", "after=" + "a" * 33):
        refused = client.get(f"/api/v1/waves/W-API/responses?{bad}", headers=headers)
        assert refused.status_code == 422 and "errors" in refused.json, bad


def test_responses_of_a_scoped_analyst(client, session, wave_data):
    """A scoped analyst pages only through their units' responses."""
    wave, unit_a, unit_b = wave_data
    analyst = make_staff(session, "analyst", all_units=False)
    session.add(UserUnit(user_id=analyst.id, unit_id=unit_b.id))
    page = client.get("/api/v1/waves/W-API/responses", headers=bearer(session, analyst)).json
    assert [r["unit"] for r in page["items"]] == ["B01"] and page["next_after"] is None


@pytest.mark.parametrize(("role", "status"), [("coordinator", 403), ("data_entry", 403), ("analyst", 200)])
def test_only_analysts_get_responses(client, session, wave_data, role, status):
    """Coordinators track fieldwork; only analysts (and admins) read responses through the API."""
    answer_ = client.get("/api/v1/waves/W-API/responses", headers=bearer(session, make_staff(session, role)))
    assert answer_.status_code == status
    if status == 403:
        assert answer_.json["code"] == 403 and "items" not in answer_.json


def test_deactivated_user_token_stops_working(client, session, wave_data):
    """A token works only while its user is active."""
    user = make_staff(session, "coordinator")
    headers = bearer(session, user)
    assert client.get("/api/v1/units", headers=headers).status_code == 200
    user.active = False
    session.commit()
    assert client.get("/api/v1/units", headers=headers).status_code == 401


def test_auth_failures_are_rate_limited(app, client, session):
    """Past the limit of failed token authentications, the address gets 429 (JSON), even with a good token."""
    app.config["API_AUTH_FAILURE_LIMIT"] = "3 per minute"
    good = bearer(session, make_staff(session, "coordinator"))
    assert client.get("/api/v1/units", headers=good).status_code == 200
    for _ in range(3):
        assert client.get("/api/v1/units", headers={"Authorization": "Bearer par_wrong"}).status_code == 401
    limited = client.get("/api/v1/units", headers=good)
    assert limited.status_code == 429 and limited.json["code"] == 429


def test_errors_are_json_without_internals(client, session):
    """Unknown API paths and wrong methods answer JSON; pages keep their HTML errors."""
    assert client.get("/api/v1/nothing").json["code"] == 404
    wrong = client.post("/api/v1/units")
    assert wrong.status_code == 405 and wrong.json["code"] == 405
    assert client.get("/staff/nothing").mimetype == "text/html"


def test_openapi_document(app, client):
    """The document parses, is OpenAPI 3, declares bearer security and has a path per API route."""
    answer_ = client.get("/api/v1/openapi.json")
    assert answer_.status_code == 200 and answer_.headers["Cache-Control"] == "no-store"
    document = answer_.json
    assert document["openapi"].startswith("3.") and document["info"]["title"]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": document["components"]["securitySchemes"][
            "bearerAuth"]["description"]}
    assert document["security"] == [{"bearerAuth": []}]
    routes = {rule.rule.replace("<", "{").replace(">", "}") for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("api.")}
    assert routes == set(document["paths"]) == {f"/api/v1{path}" for path in (
        "/waves", "/waves/{code}", "/waves/{code}/progress", "/units", "/waves/{code}/responses")}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert "200" in operation["responses"], (path, method)
    _refs_resolve(document, document)


def _refs_resolve(node, document) -> None:
    """Every $ref in the document points at something in it."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
        for value in node.values():
            _refs_resolve(value, document)
    elif isinstance(node, list):
        for value in node:
            _refs_resolve(value, document)


def test_internal_error_is_json_without_the_exception(app, session):
    """An exception in an API view answers 500 as JSON with a fixed message: no trace, no exception text."""
    def boom():
        raise RuntimeError("SELECT secret FROM internals")

    app.add_url_rule("/api/v1/boom", "api.boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    answer = app.test_client().get("/api/v1/boom")
    assert answer.status_code == 500
    assert answer.json == {"code": 500, "status": "Internal Server Error", "message": "Internal error."}
    assert "internals" not in answer.text and "Traceback" not in answer.text
