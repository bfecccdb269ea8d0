"""A small demo province (Quảng Ngãi after the 2025 merger) to try the platform on.

The unit and group lists are data files beside this module, imported through the same importers a
province uses; the names of communes are illustrative and must not be taken as the official list.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey import bundled
from survey.auth.models import User, UserRole, record
from survey.demo.answers import answer_invitation
from survey.instruments.service import definition_of
from survey.responses.release import release
from survey.sampling import service as waves
from survey.sampling import tokens
from survey.sampling.groups import import_groups
from survey.sampling.models import RespondentGroup, Unit, Wave
from survey.sampling.units import import_units

HERE = bundled.DEMO
WAVE_CODE = "CCHC-DEMO"
COORDINATOR_EMAIL = "dieuphoi@demo.quangngai.gov.vn"
COORDINATOR_PASSWORD = "quang-ngai-thu-nghiem"  # noqa: S105 - printed on purpose: it is the demo login
CITIZEN_GROUP, LEADER_GROUP = "nguoi_dan", "lanh_dao_xa"
QUESTIONNAIRES = {CITIZEN_GROUP: "sipas-service", LEADER_GROUP: "par-lanh-dao-xa"}
PRINTED = {CITIZEN_GROUP: f"{WAVE_CODE}:citizen", LEADER_GROUP: f"{WAVE_CODE}:leader"}
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Đặng"]
GIVEN = ["Văn An", "Thị Bình", "Minh Châu", "Quốc Dũng", "Thị Hoa", "Văn Hùng", "Thu Hà", "Đức Long"]


@dataclass
class DemoLinks:
    """What `make run` prints: who the demo links are for, and their tokens."""

    citizen_token: str
    leader_token: str
    created: bool


def seed(session: Session, token_key: str, today: date | None = None) -> DemoLinks:
    """Seed the demo province once; later calls add nothing and return the same links."""
    citizen, leader = (tokens.derived_token(token_key, PRINTED[g]) for g in (CITIZEN_GROUP, LEADER_GROUP))
    if session.scalar(select(Wave).filter_by(code=WAVE_CODE)) is not None:
        return DemoLinks(citizen, leader, created=False)
    import_units(session, (HERE / "units.csv").read_text(encoding="utf-8"))
    import_groups(session, (HERE / "groups.csv").read_text(encoding="utf-8"))
    _coordinator(session)
    wave = _wave(session, today or date.today())
    _invitations(session, wave, token_key)
    # The simulated submissions are released at once: they are invented, and the demo's
    # dashboards need them. Real submissions wait for k of their cell (survey/responses/release.py).
    release(session, 1, force=True)
    waves.set_status(session, wave, "open")
    record(session, "demo.seeded", target=f"wave:{wave.code}")
    session.flush()
    return DemoLinks(citizen, leader, created=True)


def _coordinator(session: Session) -> None:
    """Create the demo coordinator login if it does not exist."""
    if session.scalar(select(User).filter_by(email=COORDINATOR_EMAIL)) is not None:
        return
    user = User(email=COORDINATOR_EMAIL, name="Điều phối viên (demo)", all_units=True)
    user.set_password(COORDINATOR_PASSWORD)
    user.roles = [UserRole(role="coordinator"), UserRole(role="analyst")]
    session.add(user)


def _wave(session: Session, today: date) -> Wave:
    """Create the demo wave (opened once its frame is in): citizens rate communes, leaders rate agencies."""
    wave = waves.create_wave(session, WAVE_CODE, today.year,
                             f"Khảo sát xã hội học Chỉ số CCHC năm {today.year} (demo)",
                             today - timedelta(days=7), today + timedelta(days=60),
                             name_en=f"PAR index sociological survey {today.year} (demo)")
    for code, questionnaire in QUESTIONNAIRES.items():
        waves.assign_group(session, wave, code, questionnaire)
    waves.add_units(session, wave, _assessed(session))
    return wave


def _assessed(session: Session) -> list[Unit]:
    """Return the current agencies and commune-level units of the demo province."""
    return list(session.scalars(
        select(Unit).where(Unit.kind.in_(("agency", "commune", "ward", "special_zone")),
                           Unit.valid_to.is_(None)).order_by(Unit.code)))


def _invitations(session: Session, wave: Wave, token_key: str) -> None:
    """Build strata, a frame and invitations: 4 citizens per commune, one leader per commune."""
    rng = random.Random(2025)
    groups = {g.code: g for g in session.scalars(select(RespondentGroup))}
    units = _assessed(session)
    communes = [u for u in units if u.kind != "agency"]
    agencies = [u for u in units if u.kind == "agency"]
    printed = dict(PRINTED)
    for commune in communes:
        for code, population, sample in ((CITIZEN_GROUP, rng.randint(800, 3000), 8),
                                         (LEADER_GROUP, rng.randint(3, 6), 2)):
            stratum = waves.add_stratum(session, wave, f"{commune.code}:{code}", population, sample,
                                        unit=commune, group=groups[code])
            for _ in range(sample):
                rated = [commune] if code == CITIZEN_GROUP else rng.sample(agencies, 3)
                label = printed.pop(code, None)
                _invite(session, wave, stratum, groups[code], commune, rated, token_key, label, rng)
    session.flush()


def _invite(session, wave, stratum, group, commune, rated, token_key, label, rng) -> None:
    """Add one person to the frame and their invitation; the first two get printable tokens.

    Most people without a printed link have already answered (simulated), so that the demo's
    dashboards and analysis have data; the printed links stay unanswered for you to try.
    """
    person = waves.add_person(session, wave, stratum, f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}",
                              phone=f"091{rng.randint(10_000_000, 99_999_999) % 10_000_000:07d}",
                              workplace=commune if group.kind == "official" else None)
    token = tokens.derived_token(token_key, label) if label else None
    invitation = waves.invite(session, wave, group, person, rated, token_key, token).invitation
    if label is None and rng.random() < 0.75:
        assigned = waves.assignment(session, wave.id, group.id)
        definition = definition_of(assigned.questionnaire_version)
        answer_invitation(session, invitation, definition, assigned.questionnaire_version_id, rng,
                          wave.opens_on + timedelta(days=7))
