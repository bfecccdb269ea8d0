"""Waves, their groups, units and strata, the sampling frame, invitations and unit scopes.

The one place that writes them: the demo seeder, the `flask waves` commands and the staff pages all
call these functions. Like every service they flush and never commit; the caller commits once.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.orm import Session

from survey.auth.models import User, UserUnit
from survey.instruments.frameworks import pin as pin_framework
from survey.instruments.models import Questionnaire, QuestionnaireVersion
from survey.instruments.service import latest_version
from survey.sampling import crypto, tokens
from survey.sampling.contact import email_key, normalise_email, normalise_phone
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
                name_en: str | None = None, contact_phone: str | None = None,
                contact_email: str | None = None) -> Wave:
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
    set_contact(wave, contact_phone, contact_email)
    session.add(wave)
    session.flush()
    return wave


def set_contact(wave: Wave, phone: str | None, email: str | None) -> None:
    """Set whom respondents contact (hotline, e-mail): at any status, since no answer depends on it."""
    wave.contact_phone = (phone or "").strip() or None
    wave.contact_email = (email or "").strip() or None


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
               selection_probability: float | None = None, cluster_probability: float | None = None,
               cipher: crypto.FrameCipher | None = None) -> FrameEntry:
    """Add a person to the wave's sampling frame: the only row that holds contact details.

    The phone number must be Vietnamese (stored in E.164) and the e-mail address well formed; the
    contact details are stored encrypted (the app's frame key unless a cipher is given), and a
    phone number or address already in the wave's frame is refused. `cluster_probability` is the
    probability of the person's village when the design selected villages first (see the draw).
    """
    cipher = cipher or crypto.cipher()
    if not full_name.strip():
        raise WaveError("a person in the frame needs a name")
    normal_phone = normalise_phone(phone) if phone else None
    if phone and normal_phone is None:
        raise WaveError(f"{phone!r} is not a Vietnamese phone number")
    normal_email = normalise_email(email) if email else None
    if email and normal_email is None:
        raise WaveError(f"{email!r} is not an e-mail address")
    digests = {"phone_digest": cipher.digest(normal_phone),
               "email_digest": cipher.digest(normal_email and email_key(normal_email))}
    for column, digest in digests.items():
        if digest and session.scalar(select(FrameEntry.id).filter_by(wave_id=wave.id, **{column: digest})):
            raise WaveError(f"wave {wave.code}: this {column.split('_')[0]} is in the frame already")
    person = FrameEntry(wave_id=wave.id, stratum_id=stratum.id, cluster_code=cluster_code,
                        full_name=cipher.seal(full_name.strip(), "full_name"),
                        phone=cipher.seal(normal_phone, "phone"),
                        email=cipher.seal(normal_email, "email"),
                        position=cipher.seal(position, "position"), **digests,
                        workplace_unit_id=workplace.id if workplace else None,
                        selection_probability=selection_probability,
                        cluster_probability=cluster_probability)
    session.add(person)
    session.flush()
    return person


@dataclass(frozen=True)
class Person:
    """A checked row of a frame file: codes resolved to ids, phone in E.164, nothing encrypted yet."""

    stratum_code: str
    unit_id: int
    group_id: int
    full_name: str
    phone: str | None = None
    email: str | None = None
    position: str | None = None
    cluster_code: str | None = None
    workplace_unit_id: int | None = None
    phone_digest: str | None = None  # when the checker has computed them already
    email_digest: str | None = None


@dataclass(frozen=True)
class FrameWritten:
    """What replacing part of a frame did."""

    added: int
    removed: int
    strata_created: int
    strata_updated: int
    strata_removed: int


@dataclass(frozen=True)
class Contact:
    """A frame entry's contact details, decrypted for a coordinator who needs them."""

    full_name: str
    phone: str | None
    email: str | None
    position: str | None


def contact(person: FrameEntry, cipher: crypto.FrameCipher | None = None) -> Contact:
    """Decrypt a frame entry's contact details (legacy plaintext rows read as they are)."""
    cipher = cipher or crypto.cipher()
    return Contact(*(cipher.open(getattr(person, c), c) for c in ("full_name", "phone", "email", "position")))


def frame_entries_in(session: Session, wave: Wave, pairs: set[tuple[int, int]]):
    """Return a query of the ids of a wave's frame entries whose stratum is of these (unit, group) pairs."""
    return (select(FrameEntry.id).join(Stratum, Stratum.id == FrameEntry.stratum_id)
            .where(FrameEntry.wave_id == wave.id,
                   tuple_(Stratum.unit_id, Stratum.group_id).in_(sorted(pairs))))


def replace_frame(session: Session, wave: Wave, people: list[Person], census_groups: set[int],
                  cipher: crypto.FrameCipher | None = None) -> FrameWritten:
    """Replace the frame of every (unit, group) pair the people belong to; other pairs are kept.

    The people must have been checked (survey/sampling/frame.py does). Strata are found by code or
    created, each with its population set to its number of people; a census group's sample is its
    whole population, other groups keep their sample size for the draw to set (0 when new). Strata of
    the replaced pairs left without people are removed. Refused unless the wave is a draft and no
    invitation was made for a replaced person.
    """
    _editable(wave)
    cipher = cipher or crypto.cipher()
    pairs = {(p.unit_id, p.group_id) for p in people}
    replaced = frame_entries_in(session, wave, pairs)
    invited = session.scalar(select(func.count()).select_from(Invitation)
                             .where(Invitation.frame_entry_id.in_(replaced)))
    if invited:
        raise WaveError(f"wave {wave.code}: {invited} invitation(s) were made for people of this frame; "
                        "it can no longer be replaced")
    removed = session.execute(delete(FrameEntry).where(FrameEntry.id.in_(replaced))
                              .execution_options(synchronize_session=False)).rowcount
    strata = {s.code: s for s in session.scalars(select(Stratum).filter_by(wave_id=wave.id))}
    sizes = Counter(p.stratum_code for p in people)
    created = updated = 0
    for person in people:
        if person.stratum_code in strata:
            continue
        stratum = Stratum(wave_id=wave.id, code=person.stratum_code, unit_id=person.unit_id,
                          group_id=person.group_id, population_size=1, sample_size=0)
        session.add(stratum)
        strata[stratum.code] = stratum
        created += 1
    for code, size in sizes.items():
        stratum = strata[code]
        updated += stratum.id is not None
        stratum.population_size = size
        stratum.sample_size = size if stratum.group_id in census_groups else min(stratum.sample_size, size)
    session.flush()
    stale = [s for s in strata.values()
             if (s.unit_id, s.group_id) in pairs and s.code not in sizes
             and not session.scalar(select(func.count()).select_from(Invitation).filter_by(stratum_id=s.id))]
    for stratum in stale:
        session.delete(stratum)
    rows = [{"wave_id": wave.id, "stratum_id": strata[p.stratum_code].id, "cluster_code": p.cluster_code,
             "full_name": cipher.seal(p.full_name, "full_name"), "phone": cipher.seal(p.phone, "phone"),
             "email": cipher.seal(p.email, "email"), "position": cipher.seal(p.position, "position"),
             "phone_digest": p.phone_digest or cipher.digest(p.phone),
             "email_digest": p.email_digest or cipher.digest(p.email and email_key(p.email)),
             "workplace_unit_id": p.workplace_unit_id} for p in people]
    if rows:
        session.execute(insert(FrameEntry.__table__), rows)  # Core executemany: 100,000 rows in seconds
    session.flush()
    return FrameWritten(len(rows), removed or 0, created, updated, len(stale))


def encrypt_legacy(session: Session, cipher: crypto.FrameCipher | None = None) -> int:
    """Encrypt frame entries still holding plaintext (from before migration 0005); return how many.

    Their digests are filled too when the phone number or address is valid; a plaintext value that
    is not (an old free-form phone number) is encrypted as it is, without a digest.
    """
    cipher = cipher or crypto.cipher()
    columns = ("full_name", "phone", "email", "position")
    changed = 0
    taken = {(w, d) for w, *ds in session.execute(
        select(FrameEntry.wave_id, FrameEntry.phone_digest, FrameEntry.email_digest)) for d in ds if d}

    def digest(wave_id: int, value: str | None) -> str | None:
        """Digest a legacy value unless another entry of the wave has it (a duplicate is kept, unmarked)."""
        found = cipher.digest(value)
        if found is None or (wave_id, found) in taken:
            return None
        taken.add((wave_id, found))
        return found

    for person in session.scalars(select(FrameEntry).order_by(FrameEntry.id)):
        if all(crypto.is_sealed(getattr(person, c)) for c in columns):
            continue
        for column in columns:
            value = getattr(person, column)
            if not crypto.is_sealed(value):
                setattr(person, column, cipher.seal(value, column))
                if column == "phone" and person.phone_digest is None:
                    person.phone_digest = digest(person.wave_id, normalise_phone(value))
                if column == "email" and person.email_digest is None:
                    normal = normalise_email(value)
                    person.email_digest = digest(person.wave_id, normal and email_key(normal))
        changed += 1
    session.flush()
    return changed


def sampled_cluster(person: FrameEntry) -> str | None:
    """The person's village as the primary sampling unit, only when the draw selected villages first.

    Without a village stage (a census, or people drawn directly within the stratum) the village is not
    a stage of the design, and treating it as a cluster would misstate the standard errors.
    """
    return person.cluster_code if person.cluster_probability is not None else None


def invite(session: Session, wave: Wave, group: RespondentGroup, person: FrameEntry | None,
           rated: list[Unit], token_key: str, token: str | None = None,
           language: str = "vi", source: str = "frame") -> NewInvitation:
    """Make one invitation to rate the given units; only the keyed hash of its token is stored.

    `source` is "frame" for a person of the sampling frame (or a demo respondent) and "open" for a
    walk-in who started from an open link (survey.responses.service.start_walk_in). Without a given
    token, the token is derived from the key and a random salt kept in the row, so that its link can
    be made again (survey/sampling/invitations.py); a given token cannot.
    """
    if wave.status == "closed":
        raise WaveError(f"wave {wave.code} is closed", "closed")
    if assignment(session, wave.id, group.id) is None:
        raise WaveError(f"group {group.code} has no questionnaire in wave {wave.code}", "not_assigned",
                        group=group.code)
    if not rated:
        raise WaveError("an invitation rates at least one unit", "no_rated_units")
    salt = None if token else tokens.new_salt()
    token = token or tokens.link_token(token_key, wave.id, salt)
    invitation = Invitation(
        wave_id=wave.id, group_id=group.id, frame_entry_id=person.id if person else None,
        stratum_id=person.stratum_id if person else None,
        cluster_code=sampled_cluster(person) if person else None,
        token_hash=tokens.token_hash(token_key, token), language=language, source=source, link_salt=salt,
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
