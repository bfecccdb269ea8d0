"""Drafts, answers and the submission that cuts every link between a response and its invitation.

Services flush, never commit: the view or command that calls them commits once.
"""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.definitions.model import Questionnaire
from survey.definitions.types import item_type
from survey.responses.models import Answer, DraftLink, Response
from survey.sampling.models import Invitation, InvitationUnit


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


def submit(session: Session, draft: Response, invitation: Invitation | None,
           today: date | None = None) -> Response:
    """Turn a draft into a complete response in one flush and forget which invitation it came from.

    The complete response is a new row with a new random id; the draft and its link are deleted.
    The invitation keeps only that the unit is done.
    """
    if draft.status != "draft":
        raise SubmissionError("only a draft can be submitted")
    complete = Response(
        wave_id=draft.wave_id, questionnaire_version_id=draft.questionnaire_version_id,
        unit_id=draft.unit_id, group_id=draft.group_id, stratum_id=draft.stratum_id,
        cluster_code=draft.cluster_code, mode=draft.mode, language=draft.language,
        status="complete", submitted_on=today or date.today(), current_page=0,
        device_class=draft.device_class, page_seconds=draft.page_seconds,
        answers=[Answer(item_id=a.item_id, value_text=a.value_text, value_number=a.value_number,
                        value_date=a.value_date, value_list=a.value_list) for a in draft.answers],
    )
    if invitation is not None:
        _progress(invitation, draft.unit_id).status = "done"
        if all(entry.status == "done" for entry in invitation.units):
            invitation.status = "completed"
    session.delete(draft)
    session.add(complete)
    session.flush()
    return complete
