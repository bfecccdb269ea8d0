"""Store validated questionnaire definitions as immutable published versions."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.definitions import load
from survey.definitions.model import Questionnaire as Definition
from survey.instruments.models import Questionnaire, QuestionnaireVersion


class VersionConflict(ValueError):
    """A file whose content differs from the published version of the same number."""


def publish(session: Session, definition: Definition) -> str:
    """Store a definition as a published version; return 'added' or 'unchanged'.

    Raises VersionConflict when the version exists with other content: published versions are
    never edited, a changed questionnaire needs a new version string.
    """
    document = load.normalise(definition.source)
    digest = load.checksum(document)
    questionnaire = session.scalar(select(Questionnaire).filter_by(code=definition.id))
    if questionnaire is None:
        questionnaire = Questionnaire(code=definition.id, title=definition.title.vi,
                                      title_en=definition.title.en)
        session.add(questionnaire)
        session.flush()
    existing = session.scalar(
        select(QuestionnaireVersion).filter_by(questionnaire_id=questionnaire.id,
                                               version=definition.version)
    )
    if existing is not None:
        if existing.checksum == digest:
            return "unchanged"
        raise VersionConflict(
            f"{definition.id} version {definition.version} is published with other content; "
            "give the changed questionnaire a new version"
        )
    session.add(QuestionnaireVersion(
        questionnaire_id=questionnaire.id, version=definition.version, status="published",
        definition=document, checksum=digest, published_at=datetime.now(UTC),
    ))
    return "added"


_BUILT: dict[str, Definition] = {}


def definition_of(version: QuestionnaireVersion) -> Definition:
    """Return the frozen definition a stored version holds (built once per checksum)."""
    if version.checksum not in _BUILT:
        _BUILT[version.checksum] = load.build(version.definition)
    return _BUILT[version.checksum]


def latest_version(session: Session, code: str) -> QuestionnaireVersion | None:
    """Return the newest published version of a questionnaire."""
    return session.scalar(
        select(QuestionnaireVersion)
        .join(Questionnaire)
        .where(Questionnaire.code == code, QuestionnaireVersion.status == "published")
        .order_by(QuestionnaireVersion.id.desc())
        .limit(1)
    )
