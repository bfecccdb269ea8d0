"""Self-assessments of a unit for a year: items per self-assessed node, evidence documents, history.

An assessment pins the framework version it was created with (`framework_version_id`), so that a
new version of the framework file never changes a past assessment. Items hold the declared data,
the suggested score, the self-score and the appraisal of one node; evidence documents are stored
once per assessment (content-addressed in the evidence storage) and linked to as many items as they
support, each link with the page or section that applies. `AssessmentEvent` is the workflow
history with reasons, shown on the page; every event is also written to the audit log.
"""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base
from survey.instruments.models import FrameworkVersion
from survey.sampling.models import Unit, _in

STATUSES = ("draft", "submitted", "approved", "appraised", "locked")
ANSWERS = ("yes", "no", "na")


class Assessment(Base):
    """One unit's self-assessment for one year, with its deadlines and workflow status."""

    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("unit_id", "year", "framework_version_id"),
        CheckConstraint(_in("status", STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    framework_version_id: Mapped[int] = mapped_column(ForeignKey("framework_versions.id"))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    deadline: Mapped[date | None] = mapped_column(Date)  # the ministry's deadline
    submit_by: Mapped[date | None] = mapped_column(Date)  # internal: the unit submits to Sở Nội vụ
    approve_by: Mapped[date | None] = mapped_column(Date)  # internal: the Chairman approves
    difficulties: Mapped[str | None] = mapped_column(Text)  # khó khăn, vướng mắc và kiến nghị
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    unit: Mapped[Unit] = relationship()
    framework_version: Mapped[FrameworkVersion] = relationship()
    items: Mapped[list["AssessmentItem"]] = relationship(back_populates="assessment",
                                                         order_by="AssessmentItem.position")
    documents: Mapped[list["EvidenceDocument"]] = relationship(back_populates="assessment",
                                                              order_by="EvidenceDocument.id")


class AssessmentItem(Base):
    """One self-assessed node of an assessment: declared data, scores, explanation, appraisal."""

    __tablename__ = "assessment_items"
    __table_args__ = (
        UniqueConstraint("assessment_id", "node_code"),
        CheckConstraint(f"answer IS NULL OR {_in('answer', ANSWERS)}", name="answer"),
        CheckConstraint("self_score IS NULL OR self_score >= 0", name="self_score"),
        CheckConstraint("appraisal_score IS NULL OR appraisal_score >= 0", name="appraisal_score"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    node_code: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer)
    answer: Mapped[str | None] = mapped_column(String(8))
    count: Mapped[int | None] = mapped_column(Integer)
    numerator: Mapped[float | None] = mapped_column(Float)
    denominator: Mapped[float | None] = mapped_column(Float)
    done_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    level: Mapped[int | None] = mapped_column(Integer)
    suggested: Mapped[float | None] = mapped_column(Float)
    self_score: Mapped[float | None] = mapped_column(Float)
    explanation: Mapped[str | None] = mapped_column(Text)
    evidence_partial: Mapped[bool] = mapped_column(Boolean, default=False)
    appraisal_score: Mapped[float | None] = mapped_column(Float)
    appraisal_note: Mapped[str | None] = mapped_column(Text)

    assessment: Mapped[Assessment] = relationship(back_populates="items")
    links: Mapped[list["EvidenceLink"]] = relationship(back_populates="item", cascade="all, delete-orphan",
                                                       order_by="EvidenceLink.id")


class EvidenceDocument(Base):
    """An evidence document (tài liệu kiểm chứng) of an assessment, stored under its SHA-256."""

    __tablename__ = "evidence_documents"
    __table_args__ = (UniqueConstraint("assessment_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(255))  # sanitised, for display and downloads only
    media_type: Mapped[str] = mapped_column(String(128))  # detected from the content
    size: Mapped[int] = mapped_column(Integer)
    number: Mapped[str | None] = mapped_column(String(128))  # số hiệu văn bản
    issued_on: Mapped[date | None] = mapped_column(Date)
    issuer: Mapped[str | None] = mapped_column(String(255))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    assessment: Mapped[Assessment] = relationship(back_populates="documents")
    links: Mapped[list["EvidenceLink"]] = relationship(back_populates="document",
                                                       cascade="all, delete-orphan")


class EvidenceLink(Base):
    """A document supporting an item, with the page or section that applies."""

    __tablename__ = "evidence_links"
    __table_args__ = (UniqueConstraint("document_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("evidence_documents.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("assessment_items.id", ondelete="CASCADE"), index=True)
    pages: Mapped[str | None] = mapped_column(String(255))

    document: Mapped[EvidenceDocument] = relationship(back_populates="links")
    item: Mapped[AssessmentItem] = relationship(back_populates="links")


class AssessmentEvent(Base):
    """One step of an assessment's history: a move, a changed score after submission, a reminder."""

    __tablename__ = "assessment_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessments.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    node_code: Mapped[str | None] = mapped_column(String(128))
    old_value: Mapped[float | None] = mapped_column(Float)
    new_value: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)
    # An e-mailed reminder: [{"kind": "assessor", "name": ..., "sent": true}, {"kind": "focal", "sent": ...}]
    # (staff names only; a focal official's contact details stay sealed in the sampling frame).
    recipients: Mapped[list | None] = mapped_column(JSON)
