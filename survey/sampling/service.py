"""Waves, their groups, units and strata, the sampling frame, invitations and unit scopes.

The one place that writes them: the demo seeder, the `flask waves` commands and the staff pages all
call these functions. Like every service they flush and never commit; the caller commits once.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.auth.models import User, UserUnit
from survey.instruments.frameworks import pin as pin_framework
from survey.instruments.models import Questionnaire, QuestionnaireVersion
from survey.instruments.service import latest_version
from survey.sampling import tokens
from survey.sampling.models import (
    FrameEntry,
    Invitation,
    InvitationUnit,
    RespondentGroup,
    Stratum,
    Unit,
    Wave,
    WaveGroup,
    WaveUnit,
)

# A wave moves forward only: set up while draft, answered while open, kept for analysis once closed.
TRANSITIONS = {"draft": ("open",), "open": ("closed",), "closed": ()}


class WaveError(ValueError):
    """A wave change that cannot be made as asked; the message says why, in one line.

    `reason` names the condition and `params` its values, so that pages can say it in the user's
    language (survey/sampling/views.py maps each reason to a translated message).
    """

    def __init__(self, message: str, reason: str | None = None, **params):
        super().__init__(message)
        self.reason = reason
        self.params = params


@dataclass(frozen=True)
class NewInvitation:
    """An invitation just made, with the only copy of its token (the database keeps its hash)."""

    invitation: Invitation
    token: str


def find_wave(session: Session, code: str) -> Wave:
    """Return the wave with this code, or raise WaveError."""
    wave = session.scalar(select(Wave).filter_by(code=code))
    if wave is None:
        raise WaveError(f"no wave {code}", "no_wave", code=code)
    return wave


def create_wave(session: Session, code: str, year: int, name: str, opens_on: date, closes_on: date,
                name_en: str | None = None) -> Wave:
    """Create a wave in draft, refusing a taken code or dates that run backwards."""
    code = code.strip()
    if not code:
        raise WaveError("a wave needs a code", "no_code")
    if session.scalar(select(Wave.id).filter_by(code=code)) is not None:
        raise WaveError(f"a wave {code} exists already", "code_taken", code=code)
    if closes_on < opens_on:
        raise WaveError(f"wave {code}: closes on {closes_on}, before it opens on {opens_on}", "dates",
                        opens_on=opens_on, closes_on=closes_on)
    if not 2000 <= year <= 2100:
        raise WaveError(f"wave {code}: year {year} is out of range", "year", year=year)
    wave = Wave(code=code, year=year, name=name.strip(), name_en=name_en, opens_on=opens_on,
                closes_on=closes_on, status="draft")
    session.add(wave)
    session.flush()
    return wave


def set_status(session: Session, wave: Wave, status: str) -> None:
    """Move a wave forward (draft → open → closed); opening needs at least one group and unit."""
    if status not in TRANSITIONS.get(wave.status, ()):
        raise WaveError(f"wave {wave.code}: cannot go from {wave.status} to {status}", "transition",
                        current=wave.status, wanted=status)
    if status == "open":
        if not wave.groups:
            raise WaveError(f"wave {wave.code}: choose at least one respondent group before opening",
                            "no_groups")
        if not session.scalar(select(func.count()).select_from(WaveUnit).filter_by(wave_id=wave.id)):
            raise WaveError(f"wave {wave.code}: choose the assessed units before opening", "no_units")
    wave.status = status
    session.flush()


def _editable(wave: Wave) -> None:
    """Refuse to change what responses depend on once the wave has left draft."""
    if wave.status != "draft":
        raise WaveError(f"wave {wave.code} is {wave.status}: its set-up can no longer change", "frozen",
                        status=wave.status)


def assign_group(session: Session, wave: Wave, group_code: str, questionnaire_id: str,
                 version: str | None = None, open_quota: int | None = None) -> WaveGroup:
    """Give a respondent group a published questionnaire version in the wave (latest by default)."""
    _editable(wave)
    group = session.scalar(select(RespondentGroup).filter_by(code=group_code))
    if group is None:
        raise WaveError(f"no respondent group {group_code}", "no_group", group=group_code)
    if version is None:
        chosen = latest_version(session, questionnaire_id)
    else:
        chosen = session.scalar(
            select(QuestionnaireVersion).join(Questionnaire)
            .where(Questionnaire.code == questionnaire_id, QuestionnaireVersion.version == version,
                   QuestionnaireVersion.status == "published"))
    if chosen is None:
        raise WaveError(f"questionnaire {questionnaire_id} {version or '(any version)'} is not published",
                        "not_published", questionnaire=questionnaire_id, version=version or "")
    assigned = assignment(session, wave.id, group.id)
    if assigned is None:
        assigned = WaveGroup(wave_id=wave.id, group_id=group.id, questionnaire_version_id=chosen.id)
        session.add(assigned)
        wave.groups.append(assigned)
    assigned.questionnaire_version_id = chosen.id
    pin_framework(session, wave.id, chosen)
    if open_quota is not None:
        assigned.open_quota = open_quota
    session.flush()
    return assigned


def assignment(session: Session, wave_id: int, group_id: int) -> WaveGroup | None:
    """Return which questionnaire version a group answers in a wave (and its open link), if any."""
    return session.scalar(select(WaveGroup).filter_by(wave_id=wave_id, group_id=group_id))


def assignment_by_codes(session: Session, wave_code: str,
                        group_code: str) -> tuple[Wave, WaveGroup] | None:
    """Return a wave and a group's assignment in it, found by their codes (as URLs carry them)."""
    row = session.execute(
        select(Wave, WaveGroup).join(WaveGroup, WaveGroup.wave_id == Wave.id)
        .join(RespondentGroup, RespondentGroup.id == WaveGroup.group_id)
        .where(Wave.code == wave_code, RespondentGroup.code == group_code)).first()
    return None if row is None else (row[0], row[1])


def add_units(session: Session, wave: Wave, units: list[Unit]) -> int:
    """Add assessed units to a draft wave (ones already in are kept); return how many were new."""
    _editable(wave)
    present = set(session.scalars(select(WaveUnit.unit_id).filter_by(wave_id=wave.id)))
    new = [u for u in units if u.id not in present]
    for unit in new:
        if not unit.valid_on(wave.opens_on):
            raise WaveError(f"unit {unit.code} does not exist on {wave.opens_on}", "unit_not_valid",
                            unit=unit.code, day=wave.opens_on)
        session.add(WaveUnit(wave_id=wave.id, unit_id=unit.id))
        present.add(unit.id)
    session.flush()
    return len(new)


def remove_unit(session: Session, wave: Wave, unit: Unit) -> None:
    """Take an assessed unit out of a draft wave, unless invitations or strata already name it."""
    _editable(wave)
    chosen = session.get(WaveUnit, (wave.id, unit.id))
    if chosen is None:
        raise WaveError(f"unit {unit.code} is not in wave {wave.code}", "unit_not_in_wave", unit=unit.code)
    invited = session.scalar(
        select(func.count()).select_from(InvitationUnit)
        .join(Invitation, Invitation.id == InvitationUnit.invitation_id)
        .where(Invitation.wave_id == wave.id, InvitationUnit.unit_id == unit.id))
    stratified = session.scalar(
        select(func.count()).select_from(Stratum).filter_by(wave_id=wave.id, unit_id=unit.id))
    if invited or stratified:
        raise WaveError(f"wave {wave.code}: unit {unit.code} has invitations or strata", "unit_in_use",
                        unit=unit.code)
    session.delete(chosen)
    session.flush()


def set_open_link(session: Session, wave: Wave, group: RespondentGroup, enabled: bool,
                  quota: int | None) -> WaveGroup:
    """Switch a group's open link on or off with its per-unit quota (while draft or open)."""
    if wave.status == "closed":
        raise WaveError(f"wave {wave.code} is closed", "closed")
    assigned = assignment(session, wave.id, group.id)
    if assigned is None:
        raise WaveError(f"group {group.code} has no questionnaire in wave {wave.code}", "not_assigned",
                        group=group.code)
    if quota is not None and quota < 1:
        raise WaveError(f"open link quota {quota} must be at least 1", "quota", quota=quota)
    assigned.open_link = enabled
    assigned.open_quota = quota
    session.flush()
    return assigned


def subtree(session: Session, root_code: str, kinds: tuple[str, ...] | None = None,
            on: date | None = None) -> list[Unit]:
    """Return a unit and everything under it (valid on a day, of some kinds), ordered by code."""
    units = list(session.scalars(select(Unit)))
    root = next((u for u in units if u.code == root_code), None)
    if root is None:
        raise WaveError(f"no unit {root_code}", "no_unit", unit=root_code)
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    found, todo = [], [root]
    while todo:
        unit = todo.pop()
        found.append(unit)
        todo.extend(children.get(unit.id, []))
    return sorted((u for u in found if (kinds is None or u.kind in kinds)
                   and (on is None or u.valid_on(on))), key=lambda u: u.code)


def add_stratum(session: Session, wave: Wave, code: str, population_size: int, sample_size: int,
                unit: Unit | None = None, group: RespondentGroup | None = None) -> Stratum:
    """Add a stratum with its population and sample sizes (the design weights come from them)."""
    _editable(wave)
    if not 0 <= sample_size <= population_size or population_size < 1:
        raise WaveError(f"stratum {code}: sample {sample_size} of population {population_size} is impossible",
                        "stratum_sizes", stratum=code)
    stratum = Stratum(wave_id=wave.id, code=code, unit_id=unit.id if unit else None,
                      group_id=group.id if group else None, population_size=population_size,
                      sample_size=sample_size)
    session.add(stratum)
    wave.strata.append(stratum)
    session.flush()
    return stratum


def add_person(session: Session, wave: Wave, stratum: Stratum, full_name: str, *,
               phone: str | None = None, email: str | None = None, position: str | None = None,
               workplace: Unit | None = None, cluster_code: str | None = None,
               selection_probability: float | None = None) -> FrameEntry:
    """Add a person to the wave's sampling frame: the only row that holds contact details."""
    person = FrameEntry(wave_id=wave.id, stratum_id=stratum.id, full_name=full_name, phone=phone,
                        email=email, position=position, cluster_code=cluster_code,
                        workplace_unit_id=workplace.id if workplace else None,
                        selection_probability=selection_probability)
    session.add(person)
    session.flush()
    return person


def invite(session: Session, wave: Wave, group: RespondentGroup, person: FrameEntry | None,
           rated: list[Unit], token_key: str, token: str | None = None,
           language: str = "vi") -> NewInvitation:
    """Make one invitation to rate the given units; only the keyed hash of its token is stored."""
    if wave.status == "closed":
        raise WaveError(f"wave {wave.code} is closed", "closed")
    if assignment(session, wave.id, group.id) is None:
        raise WaveError(f"group {group.code} has no questionnaire in wave {wave.code}", "not_assigned",
                        group=group.code)
    if not rated:
        raise WaveError("an invitation rates at least one unit", "no_rated_units")
    token = token or tokens.new_token()
    invitation = Invitation(
        wave_id=wave.id, group_id=group.id, frame_entry_id=person.id if person else None,
        stratum_id=person.stratum_id if person else None,
        cluster_code=person.cluster_code if person else None,
        token_hash=tokens.token_hash(token_key, token), language=language,
    )
    invitation.units = [InvitationUnit(unit_id=u.id, position=i) for i, u in enumerate(rated)]
    session.add(invitation)
    session.flush()
    return NewInvitation(invitation, token)


def set_scope(session: Session, user: User, units: list[Unit]) -> None:
    """Limit a staff user to these units (and, where pages drill down, what lies under them)."""
    wanted = {u.id for u in units}
    user.scopes = [s for s in user.scopes if s.unit_id in wanted]
    kept = {s.unit_id for s in user.scopes}
    user.scopes += [UserUnit(unit_id=unit_id) for unit_id in sorted(wanted - kept)]
    user.all_units = False
    session.flush()
