"""The self-assessment workflow: create, declare and score, attach evidence, submit, approve, appraise, lock.

Services flush, never commit: the view or command calling them commits once. Every refusal is an
`AssessmentError` with a reason code (the views translate it) and nothing written.

Workflow (who does what is decided in the views, see survey/assessment/views.py):

    draft --submit--> submitted --approve--> approved --appraise--> appraised --lock--> locked
      ^                  |  ^                   |  ^                    |  ^              |
      +---- return ------+  +----- return ------+  +------ return ------+  +-- return ----+

- submit is refused with the list of nodes lacking a score, or lacking evidence without an
  explanation (`blockers`); approve checks the same list again, and is refused to the person who
  made the latest submission (one person may hold both roles, never both duties on one submission);
- after submission every changed self-score needs a reason and becomes an event and an audit row;
- going back a step (return) always needs a reason;
- appraisal scores and notes are entered while approved (a score other than the self-score needs
  a note); moving to appraised accepts the self-score of every node not appraised yet, and says so
  in the event; after that, a changed appraisal needs a reason too.

Evidence: "missing" when no document is linked; "partial" when the assessor ticks it or fewer
documents are linked than the node's evidence description lists; "complete" otherwise. An
explanation is required wherever evidence is missing or partial, where the node is declared not
applicable, and where the self-score departs from the rule's suggestion.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey.assessment import files, scoring
from survey.assessment.models import (
    ANSWERS,
    Assessment,
    AssessmentEvent,
    AssessmentItem,
    EvidenceDocument,
    EvidenceLink,
)
from survey.assessment.storage import EvidenceStorage
from survey.auth.models import User, record
from survey.definitions import frameworks as fw
from survey.definitions.text import clean
from survey.instruments.models import FrameworkVersion
from survey.sampling.models import Unit

MAX_TEXT = 10_000
# (from, to) -> the move's name; "return" moves go one step back and need a reason.
FORWARD = {("draft", "submitted"): "submit", ("submitted", "approved"): "approve",
           ("approved", "appraised"): "appraise", ("appraised", "locked"): "lock"}
BACK = {(to, frm): "return" for (frm, to) in FORWARD}
EDITABLE = ("draft", "submitted")
APPRAISING = ("approved", "appraised")


class AssessmentError(ValueError):
    """A refused change; `reason` is a code, `params` its details (the views translate both)."""

    def __init__(self, reason: str, **params):
        super().__init__(f"{reason}: {params}" if params else reason)
        self.reason, self.params = reason, params


_BUILT: dict[tuple[int, str], fw.Framework] = {}


def framework_of(version: FrameworkVersion) -> fw.Framework:
    """The frozen Framework of a published version, built once per process (versions never change)."""
    key = (version.id, version.checksum)
    if key not in _BUILT:
        _BUILT[key] = fw.build(version.definition)
    return _BUILT[key]


def _now() -> datetime:
    return datetime.now(UTC)


def _text(value: str | None, limit: int = MAX_TEXT) -> str | None:
    """Clean free text (NFC, no control or bidi characters); empty becomes None; refuse overlong."""
    if value is None:
        return None
    value = clean(value).strip()
    if len(value) > limit:
        raise AssessmentError("too_long", limit=limit)
    return value or None


def clean_text(value: str | None, limit: int = MAX_TEXT) -> str | None:
    """Free text as the service stores it (for callers that show it before it is stored)."""
    return _text(value, limit)


def _event(session: Session, assessment: Assessment, user: User | None, kind: str, **fields) -> None:
    """Add a history event and the matching audit row."""
    session.add(AssessmentEvent(assessment_id=assessment.id, at=_now(), user_id=user.id if user else None,
                                kind=kind, **fields))
    details = {k: v for k, v in fields.items() if v is not None}
    record(session, f"assessment.{kind}", target=f"assessment:{assessment.id}", user=user,
           unit=assessment.unit.code, year=assessment.year, **details)


# -- creation -------------------------------------------------------------------------------------

def create(session: Session, unit: Unit, year: int, version: FrameworkVersion, user: User | None = None,
           deadline: date | None = None) -> Assessment:
    """Start a draft assessment of the unit and year on a published framework version, one item per node."""
    if not 2000 <= year <= 2100:
        raise AssessmentError("year", year=year)
    framework = framework_of(version)
    nodes = scoring.self_assessed(framework)
    if not nodes:
        raise AssessmentError("no_nodes", framework=framework.id)
    exists = session.scalar(select(Assessment.id).filter_by(unit_id=unit.id, year=year,
                                                           framework_version_id=version.id))
    if exists is not None:
        raise AssessmentError("exists", unit=unit.code, year=year)
    assessment = Assessment(unit_id=unit.id, unit=unit, year=year, framework_version_id=version.id,
                            status="draft", deadline=deadline, created_at=_now())
    session.add(assessment)
    session.flush()
    for position, node in enumerate(nodes):
        session.add(AssessmentItem(assessment_id=assessment.id, node_code=node.code, position=position))
    session.flush()
    _event(session, assessment, user, "created", to_status="draft")
    return assessment


# -- reading --------------------------------------------------------------------------------------

def in_scope(query, user: User):
    """Limit a query on assessments to the user's units."""
    scope = user.unit_scope
    return query if scope is None else query.where(Assessment.unit_id.in_(scope))


def get(session: Session, assessment_id: int, user: User) -> Assessment | None:
    """The assessment if it exists and is within the user's units (the query applies the scope)."""
    return session.scalar(in_scope(select(Assessment).where(Assessment.id == assessment_id), user))


def item(assessment: Assessment, code: str) -> AssessmentItem:
    """The item of a node."""
    for found in assessment.items:
        if found.node_code == code:
            return found
    raise AssessmentError("no_node", node=code)


def evidence_state(entry: AssessmentItem, node: fw.Node) -> str:
    """missing (no document), partial (ticked, or fewer documents than the description lists), complete."""
    if not entry.links:
        return "missing"
    if entry.evidence_partial or len(entry.links) < len(node.evidence):
        return "partial"
    return "complete"


def explanation_needed(entry: AssessmentItem, node: fw.Node) -> bool:
    """Evidence missing or partial, not applicable, or a self-score other than the suggestion."""
    departs = (entry.self_score is not None and entry.suggested is not None
               and abs(entry.self_score - entry.suggested) > 1e-9)
    return evidence_state(entry, node) != "complete" or entry.answer == "na" or departs


def problems(entry: AssessmentItem, node: fw.Node) -> list[str]:
    """What keeps a node from being submitted: no_score, no_evidence (and no explanation), no_explanation."""
    found = []
    if entry.self_score is None:
        found.append("no_score")
    if explanation_needed(entry, node) and not entry.explanation:
        found.append("no_evidence" if evidence_state(entry, node) == "missing" else "no_explanation")
    return found


@dataclass(frozen=True)
class Blocker:
    """A node that cannot be submitted yet, with why."""

    code: str
    name: str
    problems: tuple[str, ...]


def blockers(assessment: Assessment) -> list[Blocker]:
    """Every node lacking a score, evidence or an explanation, in the framework's order."""
    framework = framework_of(assessment.framework_version)
    found = []
    for entry in assessment.items:
        node = framework.node(entry.node_code)
        reasons = problems(entry, node)
        if reasons:
            found.append(Blocker(node.code, node.name.vi, tuple(reasons)))
    return found


def totals(assessment: Assessment) -> dict[str, float]:
    """Max, suggested, self-assessed and appraised (or self where not appraised) points of the items."""
    framework = framework_of(assessment.framework_version)
    result = {"max": 0.0, "suggested": 0.0, "self": 0.0, "appraised": 0.0}
    for entry in assessment.items:
        result["max"] += framework.node(entry.node_code).max_points or 0
        result["suggested"] += entry.suggested or 0
        result["self"] += entry.self_score or 0
        result["appraised"] += (entry.appraisal_score if entry.appraisal_score is not None
                                else entry.self_score or 0)
    return {k: round(v, 4) for k, v in result.items()}


def assessment_points(session: Session, assessment: Assessment) -> dict[str, float]:
    """Points per self-assessed node code for the overall index: the appraised score where there is
    one, else the self-score; nodes without either are left out (not scored is not zero).

    The overall index (analysis/overall.py) adds these to the survey, SIPAS and external points.
    Only an appraised or locked assessment carries the ministry's figures; an earlier status gives
    the province's own view (useful for a preview, not for publication).
    """
    rows = session.execute(select(AssessmentItem.node_code, AssessmentItem.appraisal_score,
                                  AssessmentItem.self_score)
                           .where(AssessmentItem.assessment_id == assessment.id)
                           .order_by(AssessmentItem.position)).all()
    return {code: float(appraised if appraised is not None else own) for code, appraised, own in rows
            if appraised is not None or own is not None}


def points_by_unit(session: Session, year: int, unit_ids: list[int],
                   version_id: int | None = None) -> dict[int, dict[str, float]]:
    """`assessment_points` of every listed unit's assessment of the year: unit id -> node code -> points.

    With `version_id`, only assessments on that framework version count; otherwise, where a unit has
    several (different versions), the newest. The shape survey/overall/service.py expects.
    """
    query = select(Assessment).where(Assessment.year == year, Assessment.unit_id.in_(unit_ids))
    if version_id is not None:
        query = query.where(Assessment.framework_version_id == version_id)
    newest = {a.unit_id: a for a in session.scalars(query.order_by(Assessment.id))}
    return {unit_id: assessment_points(session, a) for unit_id, a in newest.items()}


# -- declaring and scoring -----------------------------------------------------------------------

@dataclass
class ItemInput:
    """What a form posts for one node (None: left empty)."""

    answer: str | None = None
    count: int | None = None
    numerator: float | None = None
    denominator: float | None = None
    done_on: date | None = None
    due_on: date | None = None
    level: int | None = None
    self_score: float | None = None
    explanation: str | None = None
    evidence_partial: bool = False
    reason: str | None = None


def _check_score(score: float, node: fw.Node, grain: float) -> None:
    """0 ≤ score ≤ max, a multiple of the grain."""
    if score < 0 or score > (node.max_points or 0) + 1e-9:
        raise AssessmentError("score_range", node=node.code, max=node.max_points)
    if not scoring.on_step(score, grain):
        raise AssessmentError("score_step", node=node.code, step=grain)


def _check_declared(data: ItemInput, node: fw.Node) -> None:
    """The declared data must make sense for the node's rule."""
    if data.answer is not None and data.answer not in ANSWERS:
        raise AssessmentError("answer", node=node.code)
    if data.count is not None and data.count < 0:
        raise AssessmentError("count", node=node.code)
    if (data.numerator is not None and data.numerator < 0) or (
            data.denominator is not None and data.denominator < 0):
        raise AssessmentError("ratio", node=node.code)
    if (data.numerator is not None and data.denominator is not None
            and node.scoring_rule.type in ("ratio_bands", "linear") and data.numerator > data.denominator):
        raise AssessmentError("ratio", node=node.code)
    levels = node.scoring_rule.params.get("levels") or []
    if data.level is not None and not 0 <= data.level < len(levels):
        raise AssessmentError("level", node=node.code)


def save_item(session: Session, assessment: Assessment, code: str, data: ItemInput, user: User) -> bool:
    """Store a node's declared data, suggested score, self-score and explanation; return whether
    the self-score changed. After submission a changed self-score needs a reason (an event)."""
    if assessment.status not in EDITABLE:
        raise AssessmentError("not_editable", status=assessment.status)
    entry = item(assessment, code)
    node = framework_of(assessment.framework_version).node(code)
    _check_declared(data, node)
    if data.self_score is not None:
        _check_score(data.self_score, node, scoring.step(node))
    explanation = _text(data.explanation)
    reason = _text(data.reason, 2000)
    changed = data.self_score != entry.self_score
    if changed and assessment.status != "draft" and not reason:
        raise AssessmentError("reason_needed", node=code)
    old = entry.self_score
    for name in ("answer", "count", "numerator", "denominator", "done_on", "due_on", "level", "self_score"):
        setattr(entry, name, getattr(data, name))
    entry.explanation, entry.evidence_partial = explanation, bool(data.evidence_partial)
    entry.suggested = scoring.suggest(node, scoring.Declared(
        data.answer, data.count, data.numerator, data.denominator, data.done_on, data.due_on, data.level))
    session.flush()
    if changed and assessment.status != "draft":
        _event(session, assessment, user, "score_changed", node_code=code, old_value=old,
               new_value=data.self_score, reason=reason)
    elif assessment.status != "draft":  # declared data or explanation edited after submission
        record(session, "assessment.item_edited", target=f"assessment:{assessment.id}", user=user, node=code,
               reason=reason)
    return changed


# -- evidence -------------------------------------------------------------------------------------

@dataclass
class DocumentInput:
    """The metadata of an evidence document."""

    number: str | None = None
    issued_on: date | None = None
    issuer: str | None = None


def _check_pages(pages: str | None) -> str | None:
    return _text(pages, 255)


def add_document(session: Session, storage: EvidenceStorage, assessment: Assessment, user: User,
                 data: bytes, name: str | None, meta: DocumentInput,
                 links: list[tuple[str, str | None]]) -> EvidenceDocument:
    """Check and store an uploaded file, record it (once per assessment) and link it to nodes.

    Raises files.UploadRefused for a file that cannot be evidence and AssessmentError for the rest.
    The file is stored last, once the rows are flushed; the caller removes it  when
    the commit fails (`remove_unused_file`), so that a failed write leaves no orphaned file.
    """
    if assessment.status not in EDITABLE:
        raise AssessmentError("not_editable", status=assessment.status)
    checked = files.check(data, name)
    entries = [(item(assessment, code), _check_pages(pages)) for code, pages in links]
    number, issuer = _text(meta.number, 128), _text(meta.issuer, 255)
    key = hashlib.sha256(data).hexdigest()  # the storage's key; the file is written once the rows are flushed
    document = session.scalar(select(EvidenceDocument).filter_by(assessment_id=assessment.id, sha256=key))
    if document is None:
        document = EvidenceDocument(assessment_id=assessment.id, sha256=key, file_name=checked.file_name,
                                    media_type=checked.media_type, size=len(data), number=number,
                                    issued_on=meta.issued_on, issuer=issuer, uploaded_by=user.id,
                                    uploaded_at=_now())
        try:
            with session.begin_nested():  # the same file sent twice at once: keep the first
                session.add(document)
        except IntegrityError:
            document = session.scalar(select(EvidenceDocument).filter_by(assessment_id=assessment.id,
                                                                          sha256=key))
    for entry, pages in entries:
        _link(session, document, entry, pages)
    session.flush()
    record(session, "assessment.evidence_added", target=f"assessment:{assessment.id}", user=user,
           document=document.id, sha256=key, nodes=[code for code, _ in links])
    session.flush()
    if storage.put(data) != key:  # only after every row is in: a failed write leaves no file behind
        raise RuntimeError("evidence storage keys are not SHA-256")
    return document


def _link(session: Session, document: EvidenceDocument, entry: AssessmentItem, pages: str | None) -> None:
    """Link a document to an item (or update the page reference of an existing link)."""
    existing = next((link for link in entry.links if link.document_id == document.id), None)
    if existing is None:
        entry.links.append(EvidenceLink(document=document, item=entry, pages=pages))
    else:
        existing.pages = pages


def link(session: Session, assessment: Assessment, user: User, document_id: int, code: str,
         pages: str | None) -> None:
    """Let an already uploaded document support another node."""
    if assessment.status not in EDITABLE:
        raise AssessmentError("not_editable", status=assessment.status)
    document = next((d for d in assessment.documents if d.id == document_id), None)
    if document is None:
        raise AssessmentError("no_document")
    _link(session, document, item(assessment, code), _check_pages(pages))
    session.flush()
    record(session, "assessment.evidence_linked", target=f"assessment:{assessment.id}", user=user,
           document=document.id, node=code)


def unlink(session: Session, assessment: Assessment, user: User, link_id: int) -> None:
    """Stop a document supporting a node (the document stays with the assessment)."""
    if assessment.status not in EDITABLE:
        raise AssessmentError("not_editable", status=assessment.status)
    found = next((lk for entry in assessment.items for lk in entry.links if lk.id == link_id), None)
    if found is None:
        raise AssessmentError("no_document")
    code = found.item.node_code
    found.item.links.remove(found)
    session.flush()
    record(session, "assessment.evidence_unlinked", target=f"assessment:{assessment.id}", user=user,
           document=found.document_id, node=code)


def update_document(session: Session, assessment: Assessment, user: User, document_id: int,
                    meta: DocumentInput) -> EvidenceDocument:
    """Correct a document's number, date and issuer after upload (the file itself never changes)."""
    if assessment.status not in EDITABLE:
        raise AssessmentError("not_editable", status=assessment.status)
    found = document(assessment, document_id)
    if found is None:
        raise AssessmentError("no_document")
    number, issuer = _text(meta.number, 128), _text(meta.issuer, 255)
    before = {"number": found.number, "issued_on": found.issued_on.isoformat() if found.issued_on else None,
              "issuer": found.issuer}
    found.number, found.issued_on, found.issuer = number, meta.issued_on, issuer
    session.flush()
    record(session, "assessment.evidence_edited", target=f"assessment:{assessment.id}", user=user,
           document=found.id, before=before)
    return found


def delete_document(session: Session, assessment: Assessment, user: User, document_id: int) -> str | None:
    """Remove a document that supports no node; return its key when no document row uses that content
    any more, so that the caller removes the stored file once the deletion is committed."""
    if assessment.status not in EDITABLE:
        raise AssessmentError("not_editable", status=assessment.status)
    found = document(assessment, document_id)
    if found is None:
        raise AssessmentError("no_document")
    if found.links:
        raise AssessmentError("document_linked", nodes=", ".join(link.item.node_code for link in found.links))
    key, name = found.sha256, found.file_name
    assessment.documents.remove(found)
    session.delete(found)
    session.flush()
    record(session, "assessment.evidence_deleted", target=f"assessment:{assessment.id}", user=user,
           document=document_id, sha256=key, file_name=name)
    return None if file_in_use(session, key) else key


def file_in_use(session: Session, key: str) -> bool:
    """Whether any document row (of any assessment) uses the stored content."""
    found = session.scalar(select(EvidenceDocument.id).where(EvidenceDocument.sha256 == key).limit(1))
    return found is not None


def remove_unused_file(session: Session, storage: EvidenceStorage, key: str) -> bool:
    """After a deletion is committed, or an upload's commit failed and was rolled back: remove the
    stored file unless a committed row uses it; say whether it was removed."""
    if file_in_use(session, key):
        return False
    storage.delete(key)
    return True


def document(assessment: Assessment, document_id: int) -> EvidenceDocument | None:
    """One of the assessment's documents."""
    return next((d for d in assessment.documents if d.id == document_id), None)


# -- workflow -------------------------------------------------------------------------------------

def move(session: Session, assessment: Assessment, target: str, user: User, reason: str | None = None) -> str:
    """Move the assessment one step forward or back; return the move's name.

    Forward: submit and approve need no blocker; appraise accepts the self-score of every node not
    appraised yet. Back: always with a reason.
    """
    current = assessment.status
    name = FORWARD.get((current, target)) or BACK.get((current, target))
    if name is None:
        raise AssessmentError("transition", current=current, wanted=target)
    reason = _text(reason, 2000)
    if name == "return" and not reason:
        raise AssessmentError("reason_needed")
    if name == "approve" and user is not None and submitted_by(session, assessment) == user.id:
        raise AssessmentError("own_submission")
    if name in ("submit", "approve"):
        found = blockers(assessment)
        if found:
            raise AssessmentError("blocked", blockers=found)
    accepted = []
    if name == "appraise":
        for entry in assessment.items:
            if entry.appraisal_score is None and entry.self_score is not None:
                entry.appraisal_score = entry.self_score
                accepted.append(entry.node_code)
    assessment.status = target
    session.flush()
    _event(session, assessment, user, name if name != "return" else "returned", from_status=current,
           to_status=target, reason=reason if not accepted else
           "; ".join(filter(None, [reason, f"accepted as self-assessed: {len(accepted)}"])))
    return name


def submitted_by(session: Session, assessment: Assessment) -> int | None:
    """Who made the latest submission (separation of duties: they may not approve it themselves)."""
    return session.scalar(select(AssessmentEvent.user_id).where(
        AssessmentEvent.assessment_id == assessment.id, AssessmentEvent.kind == "submit")
        .order_by(AssessmentEvent.at.desc(), AssessmentEvent.id.desc()).limit(1))


def appraise_item(session: Session, assessment: Assessment, code: str, score: float, note: str | None,
                  user: User, reason: str | None = None) -> None:
    """Enter the ministry's (or council's) appraisal of one node: a score and a note.

    A score other than the self-score needs a note; once the assessment is appraised, a changed
    appraisal needs a reason as well.
    """
    if assessment.status not in APPRAISING:
        raise AssessmentError("not_appraising", status=assessment.status)
    entry = item(assessment, code)
    node = framework_of(assessment.framework_version).node(code)
    _check_score(score, node, scoring.FINE_STEP)
    note, reason = _text(note), _text(reason, 2000)
    if (entry.self_score is None or abs(score - entry.self_score) > 1e-9) and not note:
        raise AssessmentError("note_needed", node=code)
    old = entry.appraisal_score
    if assessment.status == "appraised" and old is not None and abs(old - score) > 1e-9 and not reason:
        raise AssessmentError("reason_needed", node=code)
    entry.appraisal_score, entry.appraisal_note = score, note
    session.flush()
    _event(session, assessment, user, "appraisal", node_code=code,
           old_value=old if old is not None else entry.self_score, new_value=score,
           reason="; ".join(filter(None, [note, reason])) or None)


def set_difficulties(session: Session, assessment: Assessment, user: User, text: str | None) -> None:
    """Store the report's difficulties and proposals (while the scores may still change)."""
    if assessment.status not in EDITABLE:
        raise AssessmentError("not_editable", status=assessment.status)
    assessment.difficulties = _text(text)
    session.flush()
    record(session, "assessment.report", target=f"assessment:{assessment.id}", user=user)


# -- deadlines and reminders ----------------------------------------------------------------------

def set_deadlines(session: Session, assessment: Assessment, user: User, deadline: date | None,
                  submit_by: date | None, approve_by: date | None) -> None:
    """Set the ministry's deadline and the internal milestones (submission, approval)."""
    if assessment.status == "locked":
        raise AssessmentError("not_editable", status=assessment.status)
    dates = [d for d in (submit_by, approve_by, deadline) if d is not None]
    if dates != sorted(dates):
        raise AssessmentError("milestone_order")
    assessment.deadline, assessment.submit_by, assessment.approve_by = deadline, submit_by, approve_by
    session.flush()
    _event(session, assessment, user, "deadlines",
           reason=", ".join(f"{k}={v.isoformat()}" for k, v in
                            (("submit_by", submit_by), ("approve_by", approve_by), ("deadline", deadline))
                            if v is not None) or None)


def next_milestone(assessment: Assessment, today: date) -> tuple[str, date] | None:
    """The milestone the unit works towards now: submission, approval or the ministry's deadline."""
    steps = [("submit_by", assessment.submit_by, ("draft",)),
             ("approve_by", assessment.approve_by, ("draft", "submitted")),
             ("deadline", assessment.deadline, ("draft", "submitted", "approved"))]
    for name, day, statuses in steps:
        if day is not None and assessment.status in statuses:
            return name, day
    return None


def remind(session: Session, assessment: Assessment, user: User, message: str | None,
           recipients: list[dict] | None = None) -> None:
    """Record a reminder to the unit (an event and an audit row); survey/assessment/reminders.py sends it
    by e-mail first and passes who it went to."""
    if assessment.status not in ("draft", "submitted"):
        raise AssessmentError("not_unfinished", status=assessment.status)
    open_nodes = len(blockers(assessment))
    _event(session, assessment, user, "reminder",
           reason=_text(message, 2000) or f"{open_nodes} unfinished nodes", recipients=recipients)


@dataclass(frozen=True)
class Unfinished:
    """An assessment that is not approved yet, with what is left to do."""

    assessment: Assessment
    open_nodes: int
    milestone: tuple[str, date] | None
    last_reminder: datetime | None


def unfinished(session: Session, user: User, today: date) -> list[Unfinished]:
    """Assessments of the user's units still in draft or submitted, the most urgent first."""
    rows = session.scalars(in_scope(select(Assessment).where(Assessment.status.in_(EDITABLE)), user)
                           .order_by(Assessment.year.desc(), Assessment.id)).all()
    reminders = dict(session.execute(
        select(AssessmentEvent.assessment_id, AssessmentEvent.at).where(
            AssessmentEvent.kind == "reminder", AssessmentEvent.assessment_id.in_([a.id for a in rows]))
        .order_by(AssessmentEvent.at)).all())
    found = [Unfinished(a, len(blockers(a)), next_milestone(a, today), reminders.get(a.id)) for a in rows]
    return sorted(found, key=lambda u: (u.milestone[1] if u.milestone else date.max, -u.open_nodes))


def history(session: Session, assessment: Assessment) -> list[tuple[AssessmentEvent, str | None]]:
    """The assessment's events, newest first, with the name of who did each."""
    return session.execute(select(AssessmentEvent, User.name)
                           .outerjoin(User, User.id == AssessmentEvent.user_id)
                           .where(AssessmentEvent.assessment_id == assessment.id)
                           .order_by(AssessmentEvent.at.desc(), AssessmentEvent.id.desc())).all()
