"""Respondent pages: the invitation landing, one page per section, submission, thanks."""

from datetime import UTC, date, datetime, timedelta
from typing import NoReturn

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from survey.db import db, lock_row
from survey.instruments.service import definition_of
from survey.respond import answering as answering_service
from survey.respond import limits, pages
from survey.respond.forms import PageForm
from survey.respond.pages import language
from survey.responses import service
from survey.sampling import service as waves
from survey.sampling import tokens
from survey.sampling.models import Invitation, InvitationUnit, Unit, Wave, WaveGroup

bp = Blueprint("respond", __name__)


def find_invitation(token: str) -> Invitation:
    """Return the invitation of a token, or answer 404 (the same for malformed and unknown)."""
    if not 16 <= len(token) <= 64:
        _unknown_link()
    digest = tokens.token_hash(current_app.config["TOKEN_KEY"], token)
    invitation = db.session.scalar(
        select(Invitation).filter_by(token_hash=digest)
        .options(joinedload(Invitation.wave),
                 selectinload(Invitation.units).joinedload(InvitationUnit.unit)))
    if invitation is None:
        _unknown_link()
    g.respondent_wave = invitation.wave  # its deadline and contact, on the error pages too
    return invitation


def _unknown_link() -> NoReturn:
    """Count a failed lookup and answer 404; with one wave open today, its deadline and contact.

    A mistyped or cut link (an SMS split in two) cannot tell its wave; when the province runs one
    wave at a time, the person still learns whom to call. With several open, none is guessed.
    """
    limits.lookup_failed()
    today = date.today()
    open_now = [wave for wave in db.session.scalars(select(Wave).where(Wave.status == "open"))
                if wave.is_open_on(today)]
    if len(open_now) == 1:
        g.respondent_wave = open_now[0]
    abort(404)


def assignment(invitation: Invitation) -> WaveGroup:
    """Return which questionnaire version the invitation's group answers in its wave."""
    found = waves.assignment(db.session, invitation.wave_id, invitation.group_id)
    if found is None:
        abort(404)
    return found


def entry_for(invitation: Invitation, unit_id: int) -> InvitationUnit:
    """Return the invitation's entry for a unit, or 404 for a unit it does not rate."""
    entry = next((e for e in invitation.units if e.unit_id == unit_id), None)
    if entry is None:
        abort(404)
    return entry


def province() -> Unit | None:
    """Return the current province, whose Department of Home Affairs runs the survey."""
    return db.session.scalar(select(Unit).where(Unit.kind == "province", Unit.valid_to.is_(None))
                             .order_by(Unit.valid_from.desc()).limit(1))


def draft_cutoff(now: datetime | None = None) -> datetime:
    """Return the start time before which an unfinished open-link answer has expired."""
    hours = current_app.config["OPEN_LINK_DRAFT_HOURS"]
    return (now or datetime.now(UTC)) - timedelta(hours=hours)


def is_expired(invitation: Invitation, now: datetime | None = None) -> bool:
    """Tell whether an open-link invitation was started longer ago than drafts are kept."""
    if invitation.source != "open" or invitation.created_at is None:
        return False
    created = invitation.created_at
    if created.tzinfo is None:  # SQLite stores CURRENT_TIMESTAMP in UTC without a zone
        created = created.replace(tzinfo=UTC)
    return created < draft_cutoff(now)


def closed_page(invitation: Invitation):
    """Say politely that the wave is not open, with its dates."""
    return render_template("respond/closed.html", wave=invitation.wave), 410


def answerable(token: str, unit_id: int):
    """Return (invitation, entry, None) when the unit can be answered now.

    Otherwise the third value is the page to answer with instead: "already answered" for a unit
    that is done, "closed" when the wave is not open.
    """
    invitation = find_invitation(token)
    entry = entry_for(invitation, unit_id)
    if entry.status == "done":
        return invitation, entry, redirect(url_for(".done", token=token, unit_id=unit_id))
    if not invitation.wave.is_open_on(date.today()):
        return invitation, entry, closed_page(invitation)
    if is_expired(invitation):
        return invitation, entry, (render_template("respond/expired.html", wave=invitation.wave), 410)
    return invitation, entry, None


@bp.get("/r/<token>")
@limits.failed_lookups
@limits.lookups
def landing(token: str):
    """Show who runs the survey, why, how answers stay anonymous, and the units to rate.

    The first visit marks the invitation opened (the day only), for the coordinator's tracking; a
    mail scanner that follows links counts too, as with any e-mail open rate.
    """
    invitation = find_invitation(token)
    if invitation.opened_on is None:
        invitation.opened_on = date.today()
        db.session.commit()
    version = assignment(invitation).questionnaire_version
    return render_template(
        "respond/landing.html", invitation=invitation, wave=invitation.wave, token=token,
        questionnaire=version, is_open=invitation.wave.is_open_on(date.today()), province=province(),
        start_form=PageForm(),
    )


@bp.post("/r/<token>/u/<int:unit_id>/start")
@limits.failed_lookups
@limits.lookups
def start(token: str, unit_id: int):
    """Open (or reopen) the draft for a unit and go to its current page."""
    invitation, _, stop = answerable(token, unit_id)
    if stop is not None:
        return stop
    version = assignment(invitation).questionnaire_version
    draft = answering_service.open_draft(db.session, invitation, unit_id, version.id, language(),
                                         definition_of(version))
    db.session.commit()
    return redirect(url_for(".page", token=token, unit_id=unit_id, number=draft.current_page + 1))


@bp.get("/r/<token>/u/<int:unit_id>")
@limits.failed_lookups
@limits.lookups
def resume(token: str, unit_id: int):
    """Go to where the respondent left off for a unit."""
    invitation = find_invitation(token)
    entry = entry_for(invitation, unit_id)
    draft = service.draft_for(db.session, invitation, unit_id)
    if entry.status == "done":
        return redirect(url_for(".done", token=token, unit_id=unit_id))
    if draft is None:
        return redirect(url_for(".landing", token=token))
    return redirect(url_for(".page", token=token, unit_id=unit_id, number=draft.current_page + 1))


@bp.route("/r/<token>/u/<int:unit_id>/p/<int:number>", methods=["GET", "POST"])
@limits.failed_lookups
@limits.pages
def page(token: str, unit_id: int, number: int):
    """Show a page (GET) or save it and move on (POST); the server decides what is shown."""
    found = _answering(token, unit_id, number, request.method == "POST")
    if not isinstance(found, pages.Answering):
        return found
    if request.method == "POST":
        return pages.post(found, number - 1)
    return pages.show(found, number - 1)


@bp.post("/r/<token>/u/<int:unit_id>/p/<int:number>/autosave")
@limits.failed_lookups
@limits.pages
def autosave(token: str, unit_id: int, number: int):
    """Store a page's answers as the person goes (the page script's debounced post; CSRF-checked).

    Never submits and never starts a draft: a unit done or not started answers 409.
    """
    found = _answering(token, unit_id, number, True)
    if not isinstance(found, pages.Answering):
        return jsonify(saved=False), 409
    return pages.autosave(found, number - 1)


def _answering(token: str, unit_id: int, number: int, posting: bool):
    """Return the unit's draft being answered at page `number`, or the response to answer instead."""
    invitation, entry, stop = answerable(token, unit_id)
    if stop is not None:
        return stop
    if posting:
        # Two posts of one unit at once (a double tap, two tabs) run one after the other: the second
        # waits here until the first has committed, then finds the unit done and thanks too.
        lock_row(db.session, InvitationUnit, InvitationUnit.invitation_id == invitation.id,
                 InvitationUnit.unit_id == unit_id, touch=InvitationUnit.status)
        db.session.refresh(entry)
        if entry.status == "done":
            return redirect(url_for(".done", token=token, unit_id=unit_id))
    draft = service.draft_for(db.session, invitation, unit_id)
    if draft is None:
        return redirect(url_for(".landing", token=token))
    definition = definition_of(draft.questionnaire_version)
    if not 1 <= number <= len(definition.sections):
        abort(404)
    return pages.Answering(draft, definition, InvitationUrls(token, unit_id), entry.unit, invitation)


class InvitationUrls:
    """The URLs of one unit's pages for an invitation."""

    def __init__(self, token: str, unit_id: int):
        self.token, self.unit_id = token, unit_id

    def page(self, index: int) -> str:
        """URL of a page by 0-based index."""
        return url_for(".page", token=self.token, unit_id=self.unit_id, number=index + 1)

    def autosave(self, index: int) -> str:
        """URL the page script posts a page's answers to as the person goes."""
        return url_for(".autosave", token=self.token, unit_id=self.unit_id, number=index + 1)

    def done(self) -> str:
        """URL of the thank-you page."""
        return url_for(".done", token=self.token, unit_id=self.unit_id)


@bp.get("/r/<token>/u/<int:unit_id>/done")
@limits.failed_lookups
@limits.lookups
def done(token: str, unit_id: int):
    """Thank the respondent, or say the unit was already answered, and list what remains."""
    invitation = find_invitation(token)
    entry = entry_for(invitation, unit_id)
    if entry.status != "done":
        return redirect(url_for(".resume", token=token, unit_id=unit_id))
    remaining = [e for e in invitation.units if e.status != "done"]
    return render_template("respond/done.html", invitation=invitation, entry=entry, token=token,
                           remaining=remaining, start_form=PageForm())
