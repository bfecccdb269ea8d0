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


class IndexFramework(Base):
    """An index framework (PAR INDEX, SIPAS), identified by the `id` of its files."""

    __tablename__ = "frameworks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))

    versions: Mapped[list["FrameworkVersion"]] = relationship(
        back_populates="framework", order_by="FrameworkVersion.id"
    )


class FrameworkVersion(Base):
    """One published version of a framework: the validated document and its checksum, never edited."""

    __tablename__ = "framework_versions"
    __table_args__ = (UniqueConstraint("framework_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"))
    version: Mapped[str] = mapped_column(String(32))
    definition: Mapped[dict] = mapped_column(JSON, deferred=True)
    checksum: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    framework: Mapped[IndexFramework] = relationship(back_populates="versions")


class WaveFramework(Base):
    """The framework version a wave's results are computed with: one per framework and wave."""

    __tablename__ = "wave_frameworks"
    __table_args__ = (UniqueConstraint("wave_id", "framework_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"))
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"))
    framework_version_id: Mapped[int] = mapped_column(ForeignKey("framework_versions.id"))

    framework_version: Mapped[FrameworkVersion] = relationship()


class PublishedVersionError(RuntimeError):
    """Raised on an attempt to change a published questionnaire or framework version."""


@event.listens_for(Session, "before_flush")
def _refuse_published_edits(session: Session, _context, _instances) -> None:
    """Refuse edits and deletions of published versions; responses point at them."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, FrameworkVersion):
            _refuse_framework_edit(session, obj)
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


def _refuse_framework_edit(session: Session, version: FrameworkVersion) -> None:
    """Refuse any change or deletion of a framework version: every one is published when stored."""
    state = inspect(version)
    if version in session.deleted or any(a.history.has_changes() for a in state.attrs):
        raise PublishedVersionError(
            f"framework version {version.version} is published and cannot be changed"
        )
