"""The answering service: one draft's current page, language, paradata and submission.

Shared by respondents (invitation links) and clerks (paper forms, interviews). It reads no request and
commits nothing: the views parse what was posted into `Posted`, call `post_page`, and commit once
(survey/respond/pages.py). What the view should show comes back as an `Outcome`.

A submission runs in a savepoint after the page is saved. When the database refuses it (a constraint,
a trigger, a row changed under us), the savepoint is rolled back, the page's answers stay in the draft,
the failure is logged with the request id (never the answers) and the outcome says so: nobody is told
a form was sent when it was not.

Saving without moving on (`flow.SAVING`: "Lưu và tiếp tục sau", a language switch, the page script's
autosave) stores the page's valid answers in the draft and stays on the page: it never validates,
never submits and never creates a response.

**The respondent profile once per link.** Sections marked `once` (position, sex, age group) are about
the person, not the rated unit. A link rating several units asks them in one unit's pages only: the
first unit whose profile page is saved becomes `invitation.profile_unit_id`, and the other units skip
those pages (`skipped`). The profile's answers are copied into the other units' drafts (existing
drafts when the page is saved, new ones when a draft is started, and every remaining unit's draft is
started when the profile's unit is submitted, before its draft is deleted), so each unit's response
carries them as if they had been answered there, and no page records time on them (any link): nothing
is stored outside the drafts, and a submitted response carries the same columns and answers as
before, whichever unit asked the profile (docs/security.md, "Several units from one link").
"""

import logging
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from survey.definitions import engine
from survey.definitions.model import Questionnaire
from survey.respond import flow
from survey.responses import service
from survey.responses.models import Response
from survey.sampling.models import Invitation

log = logging.getLogger(__name__)

FAILURES = (DBAPIError, StaleDataError)  # what a refused submission raises (IntegrityError is a DBAPIError)


@dataclass
class PageView:
    """What a page shows: its place in the questionnaire, the answers so far, its button.

    `position` is the section's number and `total` the number of sections, skipped ones included.

    `redirect_to` is set when the requested page may not be shown (a tampered or hidden page number):
    the view goes there instead.
    """

    index: int
    answers: dict
    position: int
    total: int
    is_last: bool
    back: int | None
    not_shown: set
    redirect_to: int | None = None


@dataclass
class Posted:
    """One posted page, parsed by the view: raw values by item id, the button, and paradata."""

    values: dict
    action: str
    language: str
    seconds: float | None = None
    device: str | None = None


@dataclass
class Outcome:
    """What the view should show after a post.

    `errors`: re-show the posted page with these errors. `failed`: re-show it saying the submission
    failed (`status` 409 or 500). `submitted`: thank / go on. Otherwise go to page `page`, flashing
    `notice` (a message id of survey/respond/messages.NOTICES) when set.
    """

    page: int
    status: int = 200
    errors: dict | None = None
    submitted: bool = False
    failed: bool = False
    notice: str | None = None
    held: object = None


def open_draft(session: Session, invitation: Invitation, unit_id: int, version_id: int,
               language: str, definition: Questionnaire | None = None) -> Response:
    """Return the unit's draft, started now in the page language when there is none yet.

    A new draft of a link whose profile was already answered for another unit gets its answers.
    """
    draft = service.draft_for(session, invitation, unit_id)
    if draft is None:
        draft = service.start_draft(session, invitation, unit_id, version_id)
        draft.language = language
        owner = invitation.profile_unit_id
        if definition is not None and owner is not None and owner != unit_id:
            source = service.draft_for(session, invitation, owner)
            if source is not None:
                service.copy_answers(session, source, draft, definition, profile_items(definition))
    return draft


def profile_pages(definition: Questionnaire) -> frozenset[int]:
    """Return the indices of the pages about the person (sections marked `once`)."""
    return frozenset(i for i, section in enumerate(definition.sections) if section.once)


def profile_items(definition: Questionnaire) -> list[str]:
    """Return the ids of the items answered on the profile pages."""
    return [item.id for i in sorted(profile_pages(definition))
            for item in engine.page_items(definition.sections[i])]


def shares_profile(definition: Questionnaire, invitation: Invitation | None) -> bool:
    """Tell whether a draft's profile pages are asked once for several units (a link rating several)."""
    return invitation is not None and len(invitation.units) > 1 and bool(profile_pages(definition))


def skipped(definition: Questionnaire, draft: Response, invitation: Invitation | None) -> frozenset[int]:
    """Return the pages this draft does not ask: the profile, when it is asked in another unit's pages."""
    if not shares_profile(definition, invitation):
        return frozenset()
    owner = invitation.profile_unit_id
    return profile_pages(definition) if owner is not None and owner != draft.unit_id else frozenset()


def page_view(draft: Response, definition: Questionnaire, index: int, stay: bool = False,
              invitation: Invitation | None = None) -> PageView:
    """Return what page `index` shows; unless `stay` (a page re-shown with its errors), a page that
    may not be shown yet names the page to show instead."""
    answers = flow.answers_of(draft)
    skip = skipped(definition, draft, invitation)
    visible = flow.visible_pages(definition, answers, skip)
    allowed = index if stay else flow.resolve_page(definition, answers, index, visible, skip)
    position = visible.index(index) if index in visible else len(visible) - 1
    # Progress counts every section, skipped ones too, so that "Phần k/N" never changes its N as
    # answers change which sections apply; k is the section's own number (its heading's "k.").
    return PageView(
        index=index, answers=answers, position=index + 1, total=len(definition.sections),
        is_last=flow.is_last_page(definition, answers, index, visible),
        back=visible[position - 1] if position > 0 else None,
        not_shown=flow.not_shown(definition.sections[index], answers),
        redirect_to=allowed if allowed != index else None)


def post_page(session: Session, draft: Response, definition: Questionnaire, invitation: Invitation | None,
              index: int, posted: Posted, request_id: str = "-") -> Outcome:
    """Save a posted page and decide what follows; submit when asked and everything is answered.

    Sets the draft's language, paradata and current page here and nowhere else. Flushes only.
    """
    section = definition.sections[index]
    # No page time for a page about the person: it would tell the unit whose pages asked it from the
    # units that got a copy, splitting a cell into the links rating one unit and those rating several.
    flow.add_paradata(draft, section.id, None if section.once else posted.seconds, posted.device)
    draft.language = posted.language
    skip = skipped(definition, draft, invitation)
    step = flow.save_page(session, draft, definition, index, posted.values, posted.action, skip)
    if step.errors:
        return Outcome(page=index, status=422, errors=step.errors)
    draft.current_page = step.page
    if section.once and shares_profile(definition, invitation):
        if invitation.profile_unit_id is None:
            invitation.profile_unit_id = draft.unit_id
        share_profile(session, draft, definition, invitation)
    if posted.action in flow.SAVING:
        return Outcome(page=index, notice="saved" if posted.action == "save" else None)
    if not step.submit:
        return Outcome(page=step.page, notice="last_page" if step.last else None)
    missing = flow.ready_to_submit(definition, draft, skip)
    if missing is not None:
        draft.current_page = missing
        return Outcome(page=missing, notice="required_missing")
    return submit(session, draft, invitation, index, request_id, definition)


def share_profile(session: Session, draft: Response, definition: Questionnaire, invitation: Invitation,
                  start_missing: bool = False) -> None:
    """Copy the profile's answers from a draft into the drafts of the link's other units not done yet;
    with `start_missing`, start the drafts not started yet (the profile's unit is being submitted)."""
    items = profile_items(definition)
    for entry in invitation.units:
        if entry.unit_id == draft.unit_id or entry.status == "done":
            continue
        other = service.draft_for(session, invitation, entry.unit_id)
        if other is None and start_missing:
            other = service.start_draft(session, invitation, entry.unit_id, draft.questionnaire_version_id,
                                        mode=draft.mode)
            other.language = draft.language
        if other is not None:
            service.copy_answers(session, draft, other, definition, items)


def submit(session: Session, draft: Response, invitation: Invitation | None, index: int,
           request_id: str = "-", definition: Questionnaire | None = None) -> Outcome:
    """Submit a draft in a savepoint; a refusal keeps the draft as it is and is logged, not hidden.

    Submitting the unit whose pages asked the profile first starts the link's remaining units' drafts
    with its answers (in the same savepoint): its draft, the only other copy, is deleted.
    """
    session.flush()  # the page's answers are saved whatever happens to the submission
    try:
        with session.begin_nested():
            if (definition is not None and shares_profile(definition, invitation)
                    and invitation.profile_unit_id == draft.unit_id):
                share_profile(session, draft, definition, invitation, start_missing=True)
            held = service.submit(session, draft, invitation)
    except FAILURES as error:
        log_failure(error, request_id)
        return Outcome(page=index, failed=True, status=failure_status(error))
    return Outcome(page=index, submitted=True, held=held)


def failure_status(error: Exception) -> int:
    """409 for a conflict (a constraint, a row changed or gone meanwhile), else 500."""
    return 409 if isinstance(error, IntegrityError | StaleDataError) else 500


def log_failure(error: Exception, request_id: str, what: str = "submission") -> None:
    """Log a failed write with the request id and the error's class and SQLSTATE, never its message.

    A database error's message carries the statement's parameters, that is the answers.
    """
    original = getattr(error, "orig", None)
    state = getattr(original, "sqlstate", None) or getattr(original, "sqlite_errorname", None) or "-"
    log.error("%s failed: request %s, %s (%s, %s)", what, request_id, type(error).__name__,
              type(original).__name__ if original is not None else "-", state)
