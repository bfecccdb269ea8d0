"""E-mailed reminders to a unit whose self-assessment is unfinished (draft or submitted).

Who gets one: every active user holding the assessor role whose scope names the assessment's unit
(province-wide assessors are not the unit's officers and are left out), and the unit's survey focal
officials (survey/sampling/focal.py) that have an e-mail address. The message is in Vietnamese,
sent through survey/mail.py (SMTP, or the console outbox in development), one connection for the
batch. The reminder event records who it went to: staff by name, focal officials only as such (their
contact details stay sealed in the sampling frame). When nothing could be sent, nothing is recorded
and the caller gets an AssessmentError ("no_recipients" or "mail_failed").
"""

import smtplib
from dataclasses import dataclass
from datetime import date

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.assessment import service
from survey.assessment.models import Assessment
from survey.auth.models import User, UserRole, UserUnit
from survey.mail import Mailer, message, named
from survey.sampling import focal
from survey.sampling.invitations import public_base


@dataclass(frozen=True)
class Recipient:
    """One address a reminder goes to; `name` is None for a focal official (not recorded)."""

    kind: str  # assessor | focal
    name: str | None
    email: str


def recipients(session: Session, assessment: Assessment) -> list[Recipient]:
    """The unit's active assessors, then its focal officials with an e-mail, each address once."""
    found: list[Recipient] = []
    users = session.execute(
        select(User.name, User.email).join(UserRole, UserRole.user_id == User.id)
        .join(UserUnit, UserUnit.user_id == User.id)
        .where(UserRole.role == "assessor", UserUnit.unit_id == assessment.unit_id, User.active.is_(True))
        .order_by(User.name, User.id)).all()
    found += [Recipient("assessor", name, email) for name, email in users]
    has_focal = session.scalar(select(focal.FocalOfficial.id).where(
        focal.FocalOfficial.unit_id == assessment.unit_id, focal.FocalOfficial.role == "focal",
        focal.FocalOfficial.email.is_not(None)).limit(1))
    if has_focal is not None:
        contacts = focal.contacts(session, unit_ids=[assessment.unit_id])
        found += [Recipient("focal", None, c.email) for c in contacts if c.role == "focal" and c.email]
    seen: set[str] = set()
    unique = []
    for recipient in found:
        if recipient.email.lower() not in seen:
            seen.add(recipient.email.lower())
            unique.append(recipient)
    return unique


def compose(config, assessment: Assessment, recipient: Recipient, note: str | None, open_nodes: int,
            milestone: tuple[str, date] | None, link: str):
    """The reminder for one recipient, in Vietnamese: plain text only."""
    context = {"a": assessment, "unit": assessment.unit.name, "note": note, "open_nodes": open_nodes,
               "milestone": milestone, "link": link, "name": recipient.name}
    with force_locale("vi"):
        subject = render_template("assessment/reminder_subject.txt", **context).strip()
        text = render_template("assessment/reminder_email.txt", **context)
    return message(config, named(recipient.name, recipient.email), subject, text)


def send(session: Session, assessment: Assessment, user: User, note: str | None,
         today: date | None = None) -> list[dict]:
    """E-mail a reminder to the unit's assessors and focal officials, then record it; return who got it.

    Runs in a request (the link to the assessment page is absolute). Raises AssessmentError when the
    assessment is finished, when the unit has nobody to write to, or when no message went out.
    """
    if assessment.status not in service.EDITABLE:
        raise service.AssessmentError("not_unfinished", status=assessment.status)
    note = service.clean_text(note, 2000)
    found = recipients(session, assessment)
    if not found:
        raise service.AssessmentError("no_recipients")
    app = current_app
    config = app.config
    open_nodes = len(service.blockers(assessment))
    milestone = service.next_milestone(assessment, today or date.today())
    link = public_base(config) + url_for("assessment.view", assessment_id=assessment.id)
    sent: list[dict] = []
    try:
        with Mailer(config, app.instance_path) as mailer:
            for recipient in found:
                msg = compose(config, assessment, recipient, note, open_nodes, milestone, link)
                try:
                    mailer.send(msg)
                    ok = True
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused):
                    ok = False
                sent.append({"kind": recipient.kind, "name": recipient.name, "sent": ok})
    except (smtplib.SMTPException, OSError) as exc:
        if not any(entry["sent"] for entry in sent):
            raise service.AssessmentError("mail_failed", error=type(exc).__name__) from exc
    if not any(entry["sent"] for entry in sent):
        raise service.AssessmentError("mail_failed", error="refused")
    service.remind(session, assessment, user, note, recipients=sent)
    return sent
