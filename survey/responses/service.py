"""Drafts, answers and the submission that cuts every link between a response and its invitation.

Every response is created here: an invited respondent's draft (`start_draft`), a walk-in's from an
open link (`start_walk_in`), a clerk's paper form or phone interview (`start_entry_draft`) and a
complete response imported from ODK or Kobo (`add_complete`).

A submission is held (`held_submissions`) and released into `responses` later, in batches, by
`survey.responses.release`.

Services flush, never commit: the view or command that calls them commits once.
"""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.definitions import engine, expressions
from survey.definitions.model import Questionnaire
from survey.definitions.types import AnswerError, item_type
from survey.responses.models import Answer, DraftLink, EntryCopy, HeldSubmission, Response
from survey.sampling import service as waves
from survey.sampling.models import Invitation, InvitationUnit, Stratum, Unit, Wave, WaveGroup

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
                      cluster_code: str | None = None, form_number: str | None = None,
                      entry_pass: int | None = None) -> Response:
    """Open a clerk's draft (a paper form or a phone interview) for a unit, in the unit's stratum.

    A clerk's draft has no invitation: the person interviewed is not in the database. With a form
    number, `entry_pass` says which entry of it this is (see `form_entries`).
    """
    stratum_id = session.scalar(select(Stratum.id).filter_by(
        wave_id=assignment.wave_id, unit_id=unit_id, group_id=assignment.group_id))
    draft = Response(wave_id=assignment.wave_id,
                     questionnaire_version_id=assignment.questionnaire_version_id, unit_id=unit_id,
                     group_id=assignment.group_id, stratum_id=stratum_id,
                     cluster_code=cluster_code or None, mode=mode, status="draft",
                     form_number=form_number or None,
                     entry_pass=(entry_pass or 1) if form_number else None)
    session.add(draft)
    session.flush()
    return draft


@dataclass
class FormEntries:
    """Where a form number of a wave stands: its drafts and copies by entry pass, and whether a
    response or a held submission has it already."""

    drafts: dict = field(default_factory=dict)  # entry pass -> Response (status draft)
    copies: dict = field(default_factory=dict)  # entry pass -> EntryCopy
    done: bool = False  # a held submission or a complete response carries the number

    def next_pass(self, double_entry: bool) -> int | None:
        """Return the entry pass a new draft of this number gets, or None when it may not be entered."""
        if self.done:
            return None
        taken = set(self.drafts) | set(self.copies)
        if not taken:
            return 1
        return 2 if double_entry and taken == {1} else None


def form_entries(session: Session, wave_id: int, form_number: str) -> FormEntries:
    """Return what the wave holds under a form number (drafts, copies, held or complete)."""
    found = FormEntries()
    for response in session.scalars(select(Response).filter_by(wave_id=wave_id, form_number=form_number)):
        if response.status == "draft":
            found.drafts[response.entry_pass or 1] = response
        else:
            found.done = True
    for copy in session.scalars(select(EntryCopy).filter_by(wave_id=wave_id, form_number=form_number)):
        found.copies[copy.entry_pass] = copy
    held = session.scalar(select(HeldSubmission.id).filter_by(wave_id=wave_id, form_number=form_number))
    found.done = found.done or held is not None
    return found


def discard_draft(session: Session, draft: Response) -> None:
    """Delete a clerk's abandoned draft and its answers (never an invited respondent's draft)."""
    if draft.status != "draft" or draft.mode == "online":
        raise SubmissionError("only a clerk's draft can be discarded")
    session.delete(draft)
    session.flush()


def correct_answer(session: Session, response: Response, definition: Questionnaire, item_id: str, raw):
    """Correct one answer of a complete response entered from a paper form; return the stored value.

    `raw` is read as a page would read it (empty removes the answer); the answer is checked against
    the item (type, bounds, required, constraint) and the form's other answers, and an item that
    these answers hide is refused (AnswerError "not_shown") rather than silently dropped. A corrected
    filter question removes the answers it now hides.
    """
    if response.status != "complete" or response.form_number is None:
        raise SubmissionError("only an entered form can be corrected")
    item = definition.item(item_id)
    before = {a.item_id: a.value for a in response.answers}
    others = {k: v for k, v in before.items() if k != item_id}
    kind = item_type(item)
    value = kind.coerce(item, raw)
    if value is None and item.required:
        raise AnswerError("required")
    if value is not None:
        kind.check(item, value)
        if item.constraint and not expressions.holds(item.constraint_expr(), others, current=value):
            raise AnswerError("constraint")
    merged = {k: v for k, v in (others | {item_id: value}).items() if v is not None}
    kept = engine.prune(definition, merged)  # a corrected filter question hides what it skips
    if value is not None and item_id not in kept:
        raise AnswerError("not_shown")
    save_answers(session, response, definition, {k: kept.get(k) for k in set(before) | {item_id}
                                                 if kept.get(k) != before.get(k)})
    return value


def entered_answers(copy) -> dict:
    """Return an entry copy's (or a held submission's) answers as item id -> stored value."""
    return {item_id: value for item_id, _column, value in copy.answers}


def differences(first, second) -> list[str]:
    """Return the item ids whose answers differ between two entry copies, in item order."""
    a, b = entered_answers(first), entered_answers(second)
    return sorted(item_id for item_id in set(a) | set(b) if a.get(item_id) != b.get(item_id))


def _held_from_copy(session: Session, copy: EntryCopy, answers: list, today: date | None) -> HeldSubmission:
    """Hold one submission made of a double-entered form's agreed answers."""
    held = HeldSubmission(
        wave_id=copy.wave_id, questionnaire_version_id=copy.questionnaire_version_id,
        unit_id=copy.unit_id, group_id=copy.group_id, stratum_id=copy.stratum_id,
        cluster_code=copy.cluster_code, mode=copy.mode, language=copy.language,
        submitted_on=today or date.today(), page_seconds=copy.page_seconds, answers=answers,
        form_number=copy.form_number)
    session.add(held)
    return held


def _submit_copy(session: Session, draft: Response, today: date | None) -> EntryCopy:
    """Keep a double-entered draft as an entry copy; when both copies are in and agree, hold one."""
    copy = EntryCopy(
        wave_id=draft.wave_id, questionnaire_version_id=draft.questionnaire_version_id,
        unit_id=draft.unit_id, group_id=draft.group_id, stratum_id=draft.stratum_id,
        cluster_code=draft.cluster_code, mode=draft.mode, language=draft.language,
        form_number=draft.form_number, entry_pass=draft.entry_pass or 1,
        page_seconds=coarse_seconds(draft.page_seconds), answers=[held_answer(a) for a in draft.answers])
    other = session.scalar(select(EntryCopy).filter_by(
        wave_id=draft.wave_id, form_number=draft.form_number, entry_pass=3 - copy.entry_pass))
    session.delete(draft)
    session.add(copy)
    session.flush()
    if other is not None and not differences(copy, other) and _same_design(copy, other):
        _held_from_copy(session, copy, copy.answers, today)
        session.delete(copy)
        session.delete(other)
        session.flush()
    return copy


DESIGN = ("unit_id", "group_id", "stratum_id", "cluster_code", "mode", "questionnaire_version_id")


def _same_design(first: EntryCopy, second: EntryCopy) -> bool:
    """Tell whether two entries of a form agree on what the form is about (unit, group, mode...)."""
    return all(getattr(first, name) == getattr(second, name) for name in DESIGN)


def copy_pair(session: Session, wave_id: int, form_number: str) -> tuple[EntryCopy, EntryCopy] | None:
    """Return both entry copies of a double-entered form, or None while one is missing."""
    found = form_entries(session, wave_id, form_number).copies
    return (found[1], found[2]) if set(found) == {1, 2} else None


def resolve_copies(session: Session, first: EntryCopy, second: EntryCopy, chosen: dict,
                   design_from: int = 1, today: date | None = None) -> HeldSubmission:
    """Make one held submission of two differing entries: `chosen` maps every differing item id to
    the pass (1 or 2) whose value is right; the design (unit, mode...) comes from `design_from`."""
    missing = set(differences(first, second)) - set(chosen)
    if missing:
        raise SubmissionError(f"no choice for {', '.join(sorted(missing))}")
    by_pass = {1: entered_answers(first), 2: entered_answers(second)}
    columns = {item_id: column for copy in (first, second) for item_id, column, _v in copy.answers}
    merged = dict(by_pass[1])
    for item_id, entry_pass in chosen.items():
        if entry_pass not in (1, 2):
            raise SubmissionError(f"entry pass {entry_pass!r} is neither 1 nor 2")
        merged.pop(item_id, None)
        if item_id in by_pass[entry_pass]:
            merged[item_id] = by_pass[entry_pass][item_id]
    answers = [[item_id, columns[item_id], merged[item_id]] for item_id in sorted(merged)]
    held = _held_from_copy(session, first if design_from == 1 else second, answers, today)
    session.delete(first)
    session.delete(second)
    session.flush()
    return held


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
           today: date | None = None) -> HeldSubmission | EntryCopy:
    """Hold a draft's answers for release and forget which invitation they came from, in one flush.

    The answers go to a `held_submissions` row (not to `responses`): this transaction also marks
    the invitation's unit done, and on PostgreSQL every row it writes carries the same transaction
    id (`xmin`). `survey.responses.release` later moves held rows into `responses` in batches of at
    least k per cell, in another transaction and in random order. The draft and its link are
    deleted; the invitation keeps only that the unit is done. A clerk's double-entered form becomes an
    entry copy instead (`_submit_copy`), held only once both entries agree or are resolved.
    """
    if draft.status != "draft":
        raise SubmissionError("only a draft can be submitted")
    if draft.form_number is not None and session.get(Wave, draft.wave_id).double_entry:
        return _submit_copy(session, draft, today)  # held once both entries agree or are resolved
    held = HeldSubmission(
        wave_id=draft.wave_id, questionnaire_version_id=draft.questionnaire_version_id,
        unit_id=draft.unit_id, group_id=draft.group_id, stratum_id=draft.stratum_id,
        cluster_code=draft.cluster_code, mode=draft.mode, language=draft.language,
        submitted_on=today or date.today(), device_class=draft.device_class,
        page_seconds=coarse_seconds(draft.page_seconds),
        answers=[held_answer(a) for a in draft.answers], form_number=draft.form_number,
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
