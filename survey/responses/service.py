"""Drafts, answers and the submission that cuts every link between a response and its invitation.

A submission is held (`held_submissions`) and released into `responses` later, in batches, by
`survey.responses.release`.

Services flush, never commit: the view or command that calls them commits once.
"""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.definitions.model import Questionnaire
from survey.definitions.types import item_type
from survey.responses.models import Answer, DraftLink, HeldSubmission, Response
from survey.sampling.models import Invitation, InvitationUnit

# Page durations are kept in steps of this many seconds (see coarse_seconds).
PARADATA_STEP = 5


class SubmissionError(ValueError):
    """A draft that cannot be submitted as it is."""


def draft_for(session: Session, invitation: Invitation, unit_id: int) -> Response | None:
    """Return the invitation's draft for a unit, if one was started."""
    return session.scalar(
        select(Response).join(DraftLink, DraftLink.response_id == Response.id)
        .where(DraftLink.invitation_id == invitation.id, DraftLink.unit_id == unit_id)
    )


def start_draft(session: Session, invitation: Invitation, unit_id: int, version_id: int,
                mode: str = "online") -> Response:
    """Open a draft for one unit of an invitation, copying the design codes, never the identity."""
    progress = _progress(invitation, unit_id)
    draft = Response(
        wave_id=invitation.wave_id, questionnaire_version_id=version_id, unit_id=unit_id,
        group_id=invitation.group_id, stratum_id=invitation.stratum_id,
        cluster_code=invitation.cluster_code, mode=mode, language=invitation.language,
        status="draft",
    )
    session.add(draft)
    session.flush()
    session.add(DraftLink(response_id=draft.id, invitation_id=invitation.id, unit_id=unit_id))
    progress.status = "in_progress"
    if invitation.status == "pending":
        invitation.status = "started"
    session.flush()
    return draft


def _progress(invitation: Invitation, unit_id: int) -> InvitationUnit:
    """Return the invitation's entry for a unit, refusing units it does not rate."""
    for entry in invitation.units:
        if entry.unit_id == unit_id:
            return entry
    raise SubmissionError(f"the invitation does not rate unit {unit_id}")


def save_answers(session: Session, response: Response, definition: Questionnaire,
                 values: dict) -> None:
    """Store typed answers for the given items (None removes an answer)."""
    current = {a.item_id: a for a in response.answers}
    for item_id, value in values.items():
        item = definition.item(item_id)
        answer = current.get(item_id)
        if value is None:
            if answer is not None:
                response.answers.remove(answer)
            continue
        item_type(item).check(item, value)
        if answer is None:
            answer = Answer(item_id=item_id)
            response.answers.append(answer)
        for column in ("value_text", "value_number", "value_date", "value_list"):
            setattr(answer, column, value if column == item_type(item).column else None)
    session.flush()


def coarse_seconds(page_seconds: dict | None) -> dict | None:
    """Round page durations to whole steps of PARADATA_STEP seconds.

    Durations to a tenth of a second could be matched to the spans between the request lines of a
    web server's log; steps of five seconds still tell a speeder (a page read in 5 s) from a reader.
    """
    if not page_seconds:
        return page_seconds
    return {key: int(PARADATA_STEP * round(float(value) / PARADATA_STEP))
            for key, value in page_seconds.items()}


def submit(session: Session, draft: Response, invitation: Invitation | None,
           today: date | None = None) -> HeldSubmission:
    """Hold a draft's answers for release and forget which invitation they came from, in one flush.

    The answers go to a `held_submissions` row (not to `responses`): this transaction also marks
    the invitation's unit done, and on PostgreSQL every row it writes carries the same transaction
    id (`xmin`). `survey.responses.release` later moves held rows into `responses` in batches of at
    least k per cell, in another transaction and in random order. The draft and its link are
    deleted; the invitation keeps only that the unit is done.
    """
    if draft.status != "draft":
        raise SubmissionError("only a draft can be submitted")
    held = HeldSubmission(
        wave_id=draft.wave_id, questionnaire_version_id=draft.questionnaire_version_id,
        unit_id=draft.unit_id, group_id=draft.group_id, stratum_id=draft.stratum_id,
        cluster_code=draft.cluster_code, mode=draft.mode, language=draft.language,
        submitted_on=today or date.today(), device_class=draft.device_class,
        page_seconds=coarse_seconds(draft.page_seconds),
        answers=[held_answer(a) for a in draft.answers],
    )
    if invitation is not None:
        _progress(invitation, draft.unit_id).status = "done"
        if all(entry.status == "done" for entry in invitation.units):
            invitation.status = "completed"
    session.delete(draft)
    session.add(held)
    session.flush()
    return held


VALUE_COLUMNS = ("value_text", "value_number", "value_date", "value_list")


def held_answer(answer: Answer) -> list:
    """Return an answer as `[item_id, column, value]` (dates as ISO text) for a held submission."""
    for column in VALUE_COLUMNS:
        value = getattr(answer, column)
        if value is not None:
            return [answer.item_id, column, value.isoformat() if column == "value_date" else value]
    raise SubmissionError(f"answer {answer.item_id} has no value")
