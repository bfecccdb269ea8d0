"""Factories for tests: `make_*(session, **overrides)` add a valid object and flush."""

import re
from datetime import date, timedelta

from survey.auth.models import User, UserRole
from survey.definitions import load
from survey.instruments import service
from survey.instruments.models import QuestionnaireVersion
from survey.sampling import service as waves
from survey.sampling import tokens
from survey.sampling.models import (
    Invitation,
    InvitationUnit,
    RespondentGroup,
    Stratum,
    Unit,
    Wave,
    WaveGroup,
)

SMALL_QUESTIONNAIRE = {
    "id": "small",
    "version": "1",
    "title": {"vi": "Phiếu nhỏ", "en": "Small form"},
    "framework": "sipas-2023",
    "scales": {
        "sat5": [
            {"code": "1", "label": {"vi": "Rất không hài lòng", "en": "Very dissatisfied"}},
            {"code": "2", "label": {"vi": "Không hài lòng", "en": "Dissatisfied"}},
            {"code": "3", "label": {"vi": "Bình thường", "en": "Neutral"}},
            {"code": "4", "label": {"vi": "Hài lòng", "en": "Satisfied"}, "score": "satisfied"},
            {"code": "5", "label": {"vi": "Rất hài lòng", "en": "Very satisfied"},
             "score": "satisfied"},
            {"code": "9", "label": {"vi": "Không có ý kiến", "en": "No opinion"}, "excluded": True},
        ]
    },
    "sections": [
        {"id": "s1", "title": {"vi": "Phần 1", "en": "Part 1"}, "items": [
            {"id": "used", "type": "single_choice", "required": True,
             "label": {"vi": "Ông/Bà đã sử dụng dịch vụ?", "en": "Did you use the service?"},
             "options": [{"code": "y", "label": {"vi": "Có", "en": "Yes"}},
                         {"code": "n", "label": {"vi": "Không", "en": "No"}}]},
            {"id": "age", "type": "integer", "min": 18, "max": 120,
             "label": {"vi": "Tuổi", "en": "Age"}},
        ]},
        {"id": "s2", "title": {"vi": "Phần 2", "en": "Part 2"}, "relevant": "${used} = 'y'",
         "items": [
             {"id": "m1", "type": "likert", "scale": "sat5",
              "label": {"vi": "Mức độ hài lòng", "en": "Satisfaction"},
              "rows": [{"id": "m1_signs", "label": {"vi": "Biển chỉ dẫn", "en": "Signs"},
                        "score": {"node": "sipas.service.access.signs", "method": "satisfied"}}]},
             {"id": "wish", "type": "multiple_choice",
              "label": {"vi": "Mong muốn", "en": "Wishes"},
              "options": [{"code": "a", "label": {"vi": "Nhanh hơn", "en": "Faster"}},
                          {"code": "b", "label": {"vi": "Rẻ hơn", "en": "Cheaper"}}]},
         ]},
    ],
}

_counter = iter(range(1, 10**9))


def make_unit(session, **overrides) -> Unit:
    """Add a commune."""
    n = next(_counter)
    values = {"code": f"U{n}", "name": f"Xã Thử {n}", "kind": "commune",
              "valid_from": date(2025, 7, 1)}
    unit = Unit(**(values | overrides))
    session.add(unit)
    session.flush()
    return unit


def make_group(session, **overrides) -> RespondentGroup:
    """Add a respondent group of citizens."""
    n = next(_counter)
    group = RespondentGroup(**({"code": f"group_{n}", "name": f"Nhóm {n}", "kind": "citizen"}
                               | overrides))
    session.add(group)
    session.flush()
    return group


def make_version(session, document: dict | None = None) -> QuestionnaireVersion:
    """Publish a questionnaire definition (the small one by default) and return its version."""
    definition = load.from_document(document or SMALL_QUESTIONNAIRE)
    service.publish(session, definition)
    session.flush()
    return service.latest_version(session, definition.id)


def make_wave(session, **overrides) -> Wave:
    """Add an open wave running from last week to next month."""
    n = next(_counter)
    today = date.today()
    values = {"code": f"W{n}", "year": today.year, "name": f"Đợt {n}", "status": "open",
              "opens_on": today - timedelta(days=7), "closes_on": today + timedelta(days=30)}
    wave = Wave(**(values | overrides))
    session.add(wave)
    session.flush()
    return wave


def make_stratum(session, wave, **overrides) -> Stratum:
    """Add a stratum of the wave."""
    n = next(_counter)
    stratum = Stratum(**({"wave_id": wave.id, "code": f"S{n}", "population_size": 100,
                          "sample_size": 10} | overrides))
    session.add(stratum)
    session.flush()
    return stratum


def make_invitation(session, key: str, wave=None, group=None, units=None, stratum=None,
                    version=None, cluster_code="C1") -> tuple[Invitation, str]:
    """Add an invitation with its token and the wave's questionnaire assignment."""
    wave = wave or make_wave(session)
    group = group or make_group(session)
    units = units or [make_unit(session)]
    version = version or make_version(session)
    assigned = waves.assignment(session, wave.id, group.id)
    if assigned is None:
        session.add(WaveGroup(wave_id=wave.id, group_id=group.id,
                              questionnaire_version_id=version.id))
    token = tokens.new_token()
    invitation = Invitation(wave_id=wave.id, group_id=group.id,
                            stratum_id=stratum.id if stratum else None, cluster_code=cluster_code,
                            token_hash=tokens.token_hash(key, token))
    invitation.units = [InvitationUnit(unit_id=u.id, position=i) for i, u in enumerate(units)]
    session.add(invitation)
    session.flush()
    return invitation, token


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
STAFF_PASSWORD = "mật-khẩu-đủ-dài"


def csrf_token(client, url: str = "/staff/login") -> str:
    """Return the CSRF token of the form on a page."""
    return CSRF.search(client.get(url).text).group(1)


def make_staff(session, role: str, **overrides) -> User:
    """Add a staff user holding one role (all units unless told otherwise) and commit."""
    values = {"email": f"{role}@example.vn", "name": "Cán bộ thử", "all_units": True,
              "roles": [UserRole(role=role)]}
    user = User(**(values | overrides))
    user.set_password(STAFF_PASSWORD)
    session.add(user)
    session.commit()
    return user


def log_in(client, session, role: str, **overrides) -> User:
    """Create a staff user with the role and log the client in as them."""
    user = make_staff(session, role, **overrides)
    client.post("/staff/login", data={"csrf_token": csrf_token(client), "email": user.email,
                                      "password": STAFF_PASSWORD})
    return user


def seed_demo(app, session) -> None:
    """Publish the bundled questionnaires and seed the demo province (an open wave), committed."""
    from survey import demo

    good, _ = load.load_paths(app.config["QUESTIONNAIRE_DIRS"])
    for definition in good:
        service.publish(session, definition)
    demo.seed(session, app.config["TOKEN_KEY"])
    session.commit()


def log_in_demo_coordinator(client) -> None:
    """Log the demo's coordinator (also an analyst) in."""
    from survey import demo

    client.post("/staff/login", data={"csrf_token": csrf_token(client), "email": demo.COORDINATOR_EMAIL,
                                      "password": demo.COORDINATOR_PASSWORD})


def log_out(client):
    """Log the client out with the logout button of a staff page."""
    return client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})


def make_assessment(session, unit=None, year: int = 2024):
    """Publish the bundled provincial PAR framework (once) and start a draft assessment of a unit."""
    from survey import bundled
    from survey.assessment import service as assessments
    from survey.definitions.frameworks import load_framework
    from survey.instruments import frameworks

    framework = load_framework(bundled.QUESTIONNAIRES / "frameworks" / "par-province-2024.yaml")
    frameworks.publish(session, framework)
    version = frameworks.latest(session, framework.id)
    assessment = assessments.create(session, unit or make_unit(session), year, version)
    session.commit()
    return assessment
