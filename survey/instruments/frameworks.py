"""Store validated index frameworks as immutable published versions and pin them to waves.

A wave computes its results with the framework versions pinned here when its groups were assigned,
so that loading an edited framework file (a new version) never changes a past wave's report.
"""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.definitions import load
from survey.definitions.frameworks import Framework
from survey.instruments.models import FrameworkVersion, IndexFramework, QuestionnaireVersion, WaveFramework
from survey.instruments.service import VersionConflict
from survey.sampling.models import WaveGroup


def publish(session: Session, framework: Framework) -> str:
    """Store a validated framework as a published version; return 'added' or 'unchanged'.

    Raises VersionConflict when the version exists with other content: a changed framework needs a
    new version string, because waves already computed with the old one keep pointing at it.
    """
    document = load.normalise(framework.document)
    digest = load.checksum(document)
    stored = session.scalar(select(IndexFramework).filter_by(code=framework.id))
    if stored is None:
        stored = IndexFramework(code=framework.id, name=framework.name.vi, name_en=framework.name.en)
        session.add(stored)
        session.flush()
    existing = session.scalar(select(FrameworkVersion).filter_by(framework_id=stored.id,
                                                                 version=framework.version))
    if existing is not None:
        if existing.checksum == digest:
            return "unchanged"
        raise VersionConflict(
            f"framework {framework.id} version {framework.version} is published with other content; "
            "give the changed framework a new version"
        )
    session.add(FrameworkVersion(framework_id=stored.id, version=framework.version, definition=document,
                                 checksum=digest, published_at=datetime.now(UTC)))
    session.flush()
    return "added"


def latest(session: Session, code: str) -> FrameworkVersion | None:
    """Return the newest published version of a framework, or None."""
    return session.scalar(select(FrameworkVersion).join(IndexFramework)
                          .where(IndexFramework.code == code)
                          .order_by(FrameworkVersion.id.desc()).limit(1))


def pinned(session: Session, wave_id: int) -> dict[str, FrameworkVersion]:
    """Return framework code -> the version the wave is pinned to."""
    rows = session.execute(select(IndexFramework.code, FrameworkVersion)
                           .join(WaveFramework, WaveFramework.framework_id == IndexFramework.id)
                           .join(FrameworkVersion, FrameworkVersion.id == WaveFramework.framework_version_id)
                           .where(WaveFramework.wave_id == wave_id)).all()
    return dict(rows)


def pin(session: Session, wave_id: int, questionnaire: QuestionnaireVersion) -> FrameworkVersion | None:
    """Pin the newest version of the questionnaire's framework to the wave, unless one is pinned.

    The first assignment decides: every group of a wave is scored with the same framework version.
    Returns the pinned version, or None when the questionnaire has no framework or the framework
    is not published yet (the export then falls back and says so).
    """
    code = questionnaire.definition.get("framework")
    if code is None:
        return None
    already = pinned(session, wave_id).get(code)
    if already is not None:
        return already
    version = latest(session, code)
    if version is None:
        return None
    session.add(WaveFramework(wave_id=wave_id, framework_id=version.framework_id,
                              framework_version_id=version.id))
    session.flush()
    return version


def pin_unpinned(session: Session) -> int:
    """Pin every wave whose questionnaires name a framework it has no version of; return how many pins.

    Waves assigned before frameworks were stored get the oldest published version: the closest to the
    file they were run with. Run after loading frameworks (`flask setup`, `flask questionnaires load`).
    """
    count = 0
    for assigned in session.scalars(select(WaveGroup).order_by(WaveGroup.id)):
        code = assigned.questionnaire_version.definition.get("framework")
        if code is None or code in pinned(session, assigned.wave_id):
            continue
        oldest = session.scalar(select(FrameworkVersion).join(IndexFramework)
                                .where(IndexFramework.code == code).order_by(FrameworkVersion.id).limit(1))
        if oldest is not None:
            session.add(WaveFramework(wave_id=assigned.wave_id, framework_id=oldest.framework_id,
                                      framework_version_id=oldest.id))
            session.flush()
            count += 1
    return count


def check_table(session: Session, code: str, data: bytes, mode: str, version: str, status: str,
                source: str):
    """Read a criteria table against the newest published version of a framework (writes nothing)."""
    from survey.instruments.framework_table import Outcome, problem, read_table

    base = latest(session, code)
    if base is None:
        return Outcome([problem(None, "no_framework", code=code)])
    return read_table(data, base.definition, mode, version, status, source)


def apply_table(session: Session, outcome, user=None, filename: str = "") -> str:
    """Publish an accepted table's candidate as a new framework version, with an audit entry.

    Raises VersionConflict when the version string is taken. Flushes; the caller commits.
    """
    from survey.auth.models import record
    from survey.definitions.frameworks import build

    document = outcome.document
    result = publish(session, build(document))
    kinds = ("added", "removed", "changed")
    counts = {kind: sum(1 for c in outcome.changes if c.kind == kind) for kind in kinds}
    record(session, "framework.imported", target=f"{document['id']}:{document['version']}", user=user,
           file=filename, outcome=result, **counts)
    return result
