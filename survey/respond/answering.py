"""The answering service: one draft's current page, language, paradata and submission.

Shared by respondents (invitation links) and clerks (paper forms, interviews). It reads no request and
commits nothing: the views parse what was posted into `Posted`, call `post_page`, and commit once
(survey/respond/pages.py). What the view should show comes back as an `Outcome`.

A submission runs in a savepoint after the page is saved. When the database refuses it (a constraint,
a trigger, a row changed under us), the savepoint is rolled back, the page's answers stay in the draft,
the failure is logged with the request id (never the answers) and the outcome says so: nobody is told
a form was sent when it was not.
"""

import logging
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

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
               language: str) -> Response:
    """Return the unit's draft, started now in the page language when there is none yet."""
    draft = service.draft_for(session, invitation, unit_id)
    if draft is None:
        draft = service.start_draft(session, invitation, unit_id, version_id)
        draft.language = language
    return draft


def page_view(draft: Response, definition: Questionnaire, index: int, stay: bool = False) -> PageView:
    """Return what page `index` shows; unless `stay` (a page re-shown with its errors), a page that
    may not be shown yet names the page to show instead."""
    answers = flow.answers_of(draft)
    visible = flow.visible_pages(definition, answers)
    allowed = index if stay else flow.resolve_page(definition, answers, index, visible)
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
    flow.add_paradata(draft, section.id, posted.seconds, posted.device)
    draft.language = posted.language
    step = flow.save_page(session, draft, definition, index, posted.values, posted.action)
    if step.errors:
        return Outcome(page=index, status=422, errors=step.errors)
    draft.current_page = step.page
    if not step.submit:
        return Outcome(page=step.page, notice="last_page" if step.last else None)
    missing = flow.ready_to_submit(definition, draft)
    if missing is not None:
        draft.current_page = missing
        return Outcome(page=missing, notice="required_missing")
    return submit(session, draft, invitation, index, request_id)


def submit(session: Session, draft: Response, invitation: Invitation | None, index: int,
           request_id: str = "-") -> Outcome:
    """Submit a draft in a savepoint; a refusal keeps the draft as it is and is logged, not hidden."""
    session.flush()  # the page's answers are saved whatever happens to the submission
    try:
        with session.begin_nested():
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
