"""Drafts, answers and the submission that cuts every link between a response and its invitation.

Every response is created here: an invited respondent's draft (`start_draft`), a walk-in's from an
open link (`start_walk_in`), a clerk's paper form or phone interview (`start_entry_draft`) and a
complete response imported from ODK or Kobo (`add_complete`).

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
from survey.sampling import service as waves
from survey.sampling.models import Invitation, InvitationUnit, Stratum, Unit, WaveGroup

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


def start_walk_in(session: Session, assignment: WaveGroup, unit_id: int, token_key: str,
                  language: str = "vi") -> tuple[str, Response]:
    """Make an open-link invitation for one unit and its draft; return the new token and the draft.

    The walk-in's invitation is like any other (source "open"), so that answering, resuming and
    progress work the same way; the token is shown to this browser only.
    """
    made = waves.invite(session, assignment.wave, assignment.group, None, [session.get(Unit, unit_id)],
                        token_key, language=language, source="open")
    draft = start_draft(session, made.invitation, unit_id, assignment.questionnaire_version_id)
    return made.token, draft


def start_entry_draft(session: Session, assignment: WaveGroup, unit_id: int, mode: str,
                      cluster_code: str | None = None) -> Response:
    """Open a clerk's draft (a paper form or a phone interview) for a unit, in the unit's stratum.

    A clerk's draft has no invitation: the person interviewed is not in the database.
    """
    stratum_id = session.scalar(select(Stratum.id).filter_by(
        wave_id=assignment.wave_id, unit_id=unit_id, group_id=assignment.group_id))
    draft = Response(wave_id=assignment.wave_id,
                     questionnaire_version_id=assignment.questionnaire_version_id, unit_id=unit_id,
                     group_id=assignment.group_id, stratum_id=stratum_id,
                     cluster_code=cluster_code or None, mode=mode, status="draft")
    session.add(draft)
    session.flush()
    return draft


def add_complete(session: Session, assignment: WaveGroup, definition: Questionnaire, unit_id: int,
                 stratum_id: int | None, answers: dict, submitted_on: date, mode: str = "face_to_face",
                 language: str = "vi") -> Response:
    """Store a complete response collected elsewhere (an ODK or Kobo submission), answers checked.

    The caller adds a batch in random order: the insertion order must not follow the interviews.
    """
    response = Response(wave_id=assignment.wave_id,
                        questionnaire_version_id=assignment.questionnaire_version_id, unit_id=unit_id,
                        group_id=assignment.group_id, stratum_id=stratum_id, mode=mode,
                        language=language, status="complete", submitted_on=submitted_on, current_page=0)
    session.add(response)
    save_answers(session, response, definition, answers)
    return response


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


def copy_answers(session: Session, source: Response, target: Response, definition: Questionnaire,
                 item_ids: list[str]) -> None:
    """Make a draft's answers to `item_ids` those of another draft of the same link (the respondent
    profile, answered once for several units); an item unanswered in `source` is unanswered in `target`."""
    given = {a.item_id: a.value for a in source.answers}
    save_answers(session, target, definition, {item_id: given.get(item_id) for item_id in item_ids})


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
