"""Invitations of a wave: issuing them, their links again, e-mails and reminders, opt-out.

- **Issuing**: one invitation per selected frame entry (`selection_probability IS NOT NULL`: census
  groups and drawn samples alike) that has none yet. Who rates what: citizens and organisations rate
  the unit of their stratum; officials rate units of the other tier (commune leaders rate provincial
  agencies, agency leaders rate communes, provincial delegates any assessed unit), up to
  RATED_UNITS_PER_PERSON each, in rotation so that every unit is rated about as often (the demo's
  commune leaders rate three agencies).
- **Links again**: a token is derived from TOKEN_KEY and the invitation's random salt
  (`tokens.link_token`), so the links CSV and the letters can be downloaded again; the database
  keeps the salt and the token's keyed hash, and neither gives a working link without the key.
- **E-mail**: `send_invitations` sends the first e-mail or a reminder to each eligible person
  through survey/mail.py and records `sent_count` and `last_sent_at`. Reminders go only to people
  who have not completed, have not opted out, were e-mailed before, at most REMINDER_MAX times and
  at least REMINDER_INTERVAL_DAYS after the previous e-mail.

Like every service these functions flush and never commit; the caller commits (after sending, what
was sent is flushed even when the mail server stops half-way, so that it is never sent twice).
"""

import smtplib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app, has_request_context, render_template, request
from flask_babel import force_locale
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, selectinload

from survey.config import ConfigError
from survey.mail import Mailer, message, named
from survey.sampling import crypto, tokens
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
from survey.sampling.service import WaveError, contact, sampled_cluster

COMMUNE_TIER = ("commune", "ward", "special_zone")
KINDS = ("invitation", "reminder")


# ---------------------------------------------------------------- issuing


@dataclass
class Issued:
    """What issuing did: invitations made, and selected people left without one (and why)."""

    created: int = 0
    already: int = 0
    no_questionnaire: int = 0  # their group has no questionnaire in the wave
    no_units: int = 0  # nothing to rate (no assessed unit of the other tier, no stratum unit)


def _pool(person_kind: str, home: Unit | None, assessed: list[Unit]) -> list[Unit]:
    """The units a person of a group kind, belonging to `home`, may be asked to rate."""
    if person_kind != "official":
        return [home] if home is not None else []
    if home is not None and home.kind in COMMUNE_TIER:
        pool = [u for u in assessed if u.kind == "agency"]
    elif home is not None and home.kind == "agency":
        pool = [u for u in assessed if u.kind in COMMUNE_TIER]
    else:
        pool = list(assessed)
    return pool or ([home] if home is not None and home in assessed else [])


def may_rate(session: Session, assignment: WaveGroup, unit: Unit) -> bool:
    """Tell whether the group's form may be about a unit (a paper form entered by a clerk).

    The rule of `_pool` without a person: the unit is assessed in the wave; citizens and
    organisations rate a unit that has a stratum of their group (the commune tier when the wave has
    no such strata yet); officials may rate any assessed unit.
    """
    assessed = session.scalar(select(WaveUnit.unit_id).filter_by(wave_id=assignment.wave_id, unit_id=unit.id))
    if assessed is None:
        return False
    if assignment.group.kind == "official":
        return True
    strata = set(session.scalars(select(Stratum.unit_id).where(
        Stratum.wave_id == assignment.wave_id, Stratum.group_id == assignment.group_id,
        Stratum.unit_id.is_not(None))))
    return unit.id in strata if strata else unit.kind in COMMUNE_TIER


def issue(session: Session, wave: Wave, token_key: str, *, language: str = "vi",
          unit_ids: list[int] | None = None, per_person: int = 3) -> Issued:
    """Make the missing invitations of a wave's selected people (of these units: None for all)."""
    if wave.status == "closed":
        raise WaveError(f"wave {wave.code} is closed", "closed")
    if language not in ("vi", "en"):
        raise WaveError(f"language {language} is not vi or en")
    result = Issued()
    query = (select(FrameEntry, Stratum).join(Stratum, Stratum.id == FrameEntry.stratum_id)
             .where(FrameEntry.wave_id == wave.id, FrameEntry.selection_probability.is_not(None))
             .order_by(Stratum.group_id, FrameEntry.id))
    if unit_ids is not None:
        query = query.where(Stratum.unit_id.in_(unit_ids))
    invited = set(session.scalars(select(Invitation.frame_entry_id).where(
        Invitation.wave_id == wave.id, Invitation.frame_entry_id.is_not(None))))
    assigned = {g.group_id for g in session.scalars(select(WaveGroup).filter_by(wave_id=wave.id))}
    groups = {g.id: g for g in session.scalars(select(RespondentGroup))}
    assessed = list(session.scalars(select(Unit).join(WaveUnit, WaveUnit.unit_id == Unit.id)
                                    .where(WaveUnit.wave_id == wave.id).order_by(Unit.code)))
    units = {u.id: u for u in session.scalars(select(Unit))}
    # Rotation continues from the invitations a group already has, so a later batch stays balanced.
    turns = Counter(dict(session.execute(
        select(Invitation.group_id, func.count()).where(Invitation.wave_id == wave.id,
                                                        Invitation.source == "frame")
        .group_by(Invitation.group_id)).all()))
    rows, rated_ids = [], []
    for person, stratum in session.execute(query).all():
        if person.id in invited:
            result.already += 1
            continue
        if stratum.group_id not in assigned:
            result.no_questionnaire += 1
            continue
        pool = _pool(groups[stratum.group_id].kind, units.get(stratum.unit_id), assessed)
        if not pool:
            result.no_units += 1
            continue
        size = min(per_person, len(pool))
        offset = turns[stratum.group_id] * size
        turns[stratum.group_id] += 1
        rated_ids.append([pool[(offset + j) % len(pool)].id for j in range(size)])
        salt = tokens.new_salt()
        rows.append({"wave_id": wave.id, "group_id": stratum.group_id, "frame_entry_id": person.id,
                     "stratum_id": stratum.id, "cluster_code": sampled_cluster(person),
                     "language": language,
                     "link_salt": salt, "source": "frame", "status": "pending", "sent_count": 0,
                     "token_hash": tokens.token_hash(token_key, tokens.link_token(token_key, wave.id, salt))})
    if rows:  # Bulk statements (insertmanyvalues): 20,000 invitations in seconds, not minutes
        made = insert(Invitation).returning(Invitation.id, sort_by_parameter_order=True)
        ids = session.scalars(made, rows).all()
        session.execute(insert(InvitationUnit), [
            {"invitation_id": id_, "unit_id": unit_id, "position": i, "status": "not_started"}
            for id_, rated in zip(ids, rated_ids, strict=True) for i, unit_id in enumerate(rated)])
    session.flush()
    result.created = len(rows)
    return result


# ---------------------------------------------------------------- links


def token_of(invitation: Invitation, token_key: str) -> str | None:
    """Return an invitation's token made again, or None when it cannot be (no salt)."""
    if not invitation.link_salt:
        return None
    return tokens.link_token(token_key, invitation.wave_id, invitation.link_salt)


def public_base(config=None) -> str:
    """Return the site's public address without a trailing slash (PUBLIC_URL, else the request's).

    Outside a request (commands, jobs) without PUBLIC_URL: the development server's address, and in
    production a configuration error.
    """
    config = config if config is not None else current_app.config
    if config.get("PUBLIC_URL"):
        return str(config["PUBLIC_URL"]).rstrip("/")
    if has_request_context():
        return request.url_root.rstrip("/")
    if config.get("ENV") == "production":
        raise ConfigError("set SURVEY_PUBLIC_URL (e.g. https://khaosat.example.gov.vn) to make links "
                          "outside a request")
    return "http://127.0.0.1:8000"


def link(base: str, token: str) -> str:
    """The respondent link of a token."""
    return f"{base}/r/{token}"


def opt_out_link(base: str, token: str) -> str:
    """The opt-out page of a token."""
    return f"{base}/r/{token}/opt-out"


def national_phone(phone: str | None) -> str:
    """A Vietnamese number as people write it (0912345678), from E.164 (+84912345678)."""
    if not phone:
        return ""
    return "0" + phone[3:] if phone.startswith("+84") else phone


@dataclass
class Person:
    """An invited person with what letters, slips and the links file show (decrypted, never stored)."""

    invitation: Invitation
    unit: Unit | None
    group: RespondentGroup
    stratum_code: str
    full_name: str
    phone: str
    email: str | None
    token: str | None
    rated: list[Unit] = field(default_factory=list)


def people(session: Session, wave: Wave, token_key: str, *, unit_ids: list[int] | None = None,
           group_id: int | None = None, cipher: crypto.FrameCipher | None = None) -> list[Person]:
    """The wave's frame invitations of these units (of their stratum: None for all), by unit, group, name."""
    cipher = cipher or crypto.cipher()
    query = (select(Invitation, FrameEntry, Stratum)
             .join(FrameEntry, FrameEntry.id == Invitation.frame_entry_id)
             .join(Stratum, Stratum.id == FrameEntry.stratum_id)
             .where(Invitation.wave_id == wave.id, Invitation.source == "frame")
             .options(selectinload(Invitation.units)))
    if unit_ids is not None:
        query = query.where(Stratum.unit_id.in_(unit_ids))
    if group_id is not None:
        query = query.where(Invitation.group_id == group_id)
    units = {u.id: u for u in session.scalars(select(Unit))}
    groups = {g.id: g for g in session.scalars(select(RespondentGroup))}
    found = []
    for invitation, person, stratum in session.execute(query).all():
        details = contact(person, cipher)
        found.append(Person(invitation, units.get(stratum.unit_id), groups[invitation.group_id], stratum.code,
                            details.full_name, national_phone(details.phone), details.email,
                            token_of(invitation, token_key),
                            [units[e.unit_id] for e in invitation.units]))
    found.sort(key=lambda p: (p.unit.code if p.unit else "", p.group.code, p.full_name, p.invitation.id))
    return found


LINK_COLUMNS = ("unit_code", "unit_name", "group_code", "group_name", "stratum_code", "full_name", "phone",
                "email", "rated_units", "language", "status", "link")


def links_csv(found: list[Person], base: str) -> str:
    """The personalised links as CSV text (with a BOM for Excel), formulas escaped."""
    import csv
    import io

    from analysis.outputs import escape_formula

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(LINK_COLUMNS)
    for p in found:
        writer.writerow([escape_formula(v) for v in (
            p.unit.code if p.unit else "", p.unit.name if p.unit else "", p.group.code, p.group.name,
            p.stratum_code, p.full_name, p.phone, p.email or "", "; ".join(u.code for u in p.rated),
            p.invitation.language, p.invitation.status, link(base, p.token) if p.token else "")])
    return "\ufeff" + out.getvalue()


# ---------------------------------------------------------------- e-mail


@dataclass
class Counts:
    """Who gets an e-mail and why the others do not (a preview and the result of sending)."""

    kind: str = "invitation"
    eligible: int = 0
    sent: int = 0
    failed: int = 0  # refused by the mail server (a bad address): tried again next time
    completed: int = 0
    opted_out: int = 0
    no_email: int = 0
    no_link: int = 0  # the token cannot be made again (made before links were regenerable)
    already_sent: int = 0  # invitations: e-mailed before (send a reminder instead)
    not_invited: int = 0  # reminders: never e-mailed (send the invitation first)
    at_maximum: int = 0  # reminders: REMINDER_MAX reminders sent
    too_soon: int = 0  # reminders: the last e-mail is less than REMINDER_INTERVAL_DAYS old
    stopped: str | None = None  # why sending stopped half-way (the mail server went away)
    ids: list[int] = field(default_factory=list, repr=False)

    @property
    def total(self) -> int:
        """Every invitation looked at."""
        return (self.eligible + self.completed + self.opted_out + self.no_email + self.no_link
                + self.already_sent + self.not_invited + self.at_maximum + self.too_soon)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive times: they are UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def plan(session: Session, wave: Wave, kind: str = "invitation", unit_ids: list[int] | None = None,
         now: datetime | None = None, config=None) -> Counts:
    """Count who would be e-mailed now (and why not the others), for a preview or for sending."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    config = config if config is not None else current_app.config
    now = now or datetime.now(UTC)
    maximum, interval = int(config["REMINDER_MAX"]), timedelta(days=config["REMINDER_INTERVAL_DAYS"])
    query = (select(Invitation.id, Invitation.status, Invitation.opted_out_at, FrameEntry.email.is_not(None),
                    Invitation.link_salt.is_not(None), Invitation.sent_count, Invitation.last_sent_at)
             .join(FrameEntry, FrameEntry.id == Invitation.frame_entry_id)
             .join(Stratum, Stratum.id == FrameEntry.stratum_id)
             .where(Invitation.wave_id == wave.id, Invitation.source == "frame").order_by(Invitation.id))
    if unit_ids is not None:
        query = query.where(Stratum.unit_id.in_(unit_ids))
    counts = Counts(kind=kind)
    for id_, status, opted_out_at, has_email, has_salt, sent_count, last_sent_at in session.execute(query):
        if status == "completed":
            counts.completed += 1
        elif opted_out_at is not None:
            counts.opted_out += 1
        elif not has_email:
            counts.no_email += 1
        elif not has_salt:
            counts.no_link += 1
        elif kind == "invitation" and sent_count:
            counts.already_sent += 1
        elif kind == "reminder" and not sent_count:
            counts.not_invited += 1
        elif kind == "reminder" and sent_count - 1 >= maximum:
            counts.at_maximum += 1
        elif kind == "reminder" and last_sent_at is not None and _aware(last_sent_at) > now - interval:
            counts.too_soon += 1
        else:
            counts.eligible += 1
            counts.ids.append(id_)
    return counts


def compose(config, invitation: Invitation, person_name: str, email: str, token: str, base: str,
            kind: str, province_name: str | None = None):
    """The e-mail for one person, in the invitation's language: plain text and HTML, with opt-out."""
    wave = invitation.wave
    context = {"wave": wave, "name": person_name, "link": link(base, token), "kind": kind,
               "opt_out": opt_out_link(base, token), "units": [e.unit for e in invitation.units],
               "province": province_name, "language": invitation.language}
    with force_locale(invitation.language):
        subject = render_template("invitations/email_subject.txt", **context).strip()
        text = render_template("invitations/email.txt", **context)
        html = render_template("invitations/email.html", **context)
    return message(config, named(person_name, email), subject, text, html,
                   headers={"List-Unsubscribe": f"<{context['opt_out']}>"})


def _province_name(session: Session) -> str | None:
    """The current province's name, whose Department of Home Affairs runs the survey."""
    return session.scalar(select(Unit.name).where(Unit.kind == "province", Unit.valid_to.is_(None))
                          .order_by(Unit.valid_from.desc()).limit(1))


def send_invitations(session: Session, wave: Wave, *, kind: str = "invitation",
                     unit_ids: list[int] | None = None,
                     progress: Callable[[int, int], None] | None = None) -> Counts:
    """E-mail the invitation (or a reminder) to every eligible person of the wave (of these units).

    Runs in an app context (a job queue may call it). Each sent e-mail is recorded and flushed at
    once; `progress(done, total)` is called after each. A message the server refuses counts as
    failed and is tried again next time; when the server goes away, sending stops and `stopped`
    says why. The caller commits.
    """
    if wave.status != "open":
        raise WaveError(f"wave {wave.code} is {wave.status}: e-mails go out only while it is open",
                        "not_open_for_mail", status=wave.status)
    app = current_app
    config = app.config
    counts = plan(session, wave, kind, unit_ids, config=config)
    if not counts.ids:
        return counts
    base = public_base(config)
    key = config["TOKEN_KEY"]
    cipher = crypto.cipher()
    province_name = _province_name(session)
    total = len(counts.ids)
    try:
        with Mailer(config, app.instance_path) as mailer:
            for done, invitation_id in enumerate(counts.ids, start=1):
                invitation = session.get(Invitation, invitation_id)
                details = contact(session.get(FrameEntry, invitation.frame_entry_id), cipher)
                msg = compose(config, invitation, details.full_name, details.email,
                              token_of(invitation, key), base, kind, province_name)
                try:
                    mailer.send(msg)
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused):
                    counts.failed += 1
                else:
                    invitation.sent_count += 1
                    invitation.last_sent_at = datetime.now(UTC)
                    counts.sent += 1
                    session.flush()
                if progress is not None:
                    progress(done, total)
    except (smtplib.SMTPException, OSError) as exc:
        counts.stopped = f"{type(exc).__name__}: {exc}"
    return counts


# ---------------------------------------------------------------- opt-out


def opt_out(session: Session, invitation: Invitation, now: datetime | None = None) -> bool:
    """Mark an invitation opted out of e-mails (once); return whether it was just marked."""
    if invitation.opted_out_at is not None:
        return False
    invitation.opted_out_at = now or datetime.now(UTC)
    session.flush()
    return True
