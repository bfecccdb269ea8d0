"""Questionnaires and their published versions."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    String,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from survey.db import Base


class Questionnaire(Base):
    """A questionnaire, identified by the `id` of its definition files."""

    __tablename__ = "questionnaires"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    title_en: Mapped[str | None] = mapped_column(String(255))

    versions: Mapped[list["QuestionnaireVersion"]] = relationship(
        back_populates="questionnaire", order_by="QuestionnaireVersion.id"
    )


class QuestionnaireVersion(Base):
    """One version of a questionnaire's definition; once published it is never edited."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (
        UniqueConstraint("questionnaire_id", "version"),
        CheckConstraint("status IN ('draft', 'published')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaires.id"))
    version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(10), default="published")
    # Deferred: pages need only the checksum to find the definition already built in memory.
    definition: Mapped[dict] = mapped_column(JSON, deferred=True)
    checksum: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="versions")


class PublishedVersionError(RuntimeError):
    """Raised on an attempt to change a published questionnaire version."""


@event.listens_for(Session, "before_flush")
def _refuse_published_edits(session: Session, _context, _instances) -> None:
    """Refuse edits and deletions of published versions; responses point at them."""
    for obj in list(session.dirty) + list(session.deleted):
        if not isinstance(obj, QuestionnaireVersion):
            continue
        state = inspect(obj)
        status = state.attrs.status.history
        was_published = "published" in (status.deleted or ()) or "published" in (
            status.unchanged or ()
        )
        changed = obj in session.deleted or any(a.history.has_changes() for a in state.attrs)
        if was_published and changed:
            raise PublishedVersionError(
                f"questionnaire version {obj.version} is published and cannot be changed"
            )
