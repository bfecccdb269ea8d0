"""Responses and answers, and the draft link that disappears at submission."""

import uuid
from datetime import date

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base

MODES = ("online", "paper", "phone", "face_to_face")
STATUSES = ("draft", "complete")
DEVICE_CLASSES = ("phone", "tablet", "desktop")


def _in(column: str, values: tuple[str, ...]) -> str:
    """Render a CHECK clause that keeps a column within a fixed vocabulary."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def new_response_id() -> str:
    """Return a random id: sequential ids would leak the order of submissions."""
    return uuid.uuid4().hex


class CellColumns:
    """The design columns a response, a held submission and an entry copy share (with mode and language,
    declared by each: a response's have defaults)."""

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id"), index=True)
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("respondent_groups.id"))
    stratum_id: Mapped[int | None] = mapped_column(ForeignKey("strata.id"))
    cluster_code: Mapped[str | None] = mapped_column(String(64))


class Response(CellColumns, Base):
    """One respondent's answers about one assessed unit; carries design codes, never identity."""

    __tablename__ = "responses"
    __table_args__ = (
        CheckConstraint(_in("mode", MODES), name="mode"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("language IN ('vi', 'en')", name="language"),
        CheckConstraint(
            "device_class IS NULL OR " + _in("device_class", DEVICE_CLASSES), name="device"
        ),
        CheckConstraint(
            "(status = 'complete' AND submitted_on IS NOT NULL) OR "
            "(status = 'draft' AND submitted_on IS NULL)",
            name="submitted",
        ),
        CheckConstraint("current_page >= 0", name="page"),
        # A paper form's number (số phiếu) is entered once per wave (twice with double entry: pass 1
        # and pass 2 of the same number); online responses have none.
        Index("uq_responses_form_number", "wave_id", "form_number", "entry_pass", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_response_id)
    mode: Mapped[str] = mapped_column(String(12), default="online")
    language: Mapped[str] = mapped_column(String(2), default="vi")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    # A day, never a time: a precise timestamp could be joined to the invitation's activity.
    submitted_on: Mapped[date | None] = mapped_column(Date)
    current_page: Mapped[int] = mapped_column(Integer, default=0)
    device_class: Mapped[str | None] = mapped_column(String(10))
    page_seconds: Mapped[dict | None] = mapped_column(JSON)
    # A clerk's form: the number printed or written on the paper form, and which entry of it this is
    # (1, or 2 for the second clerk's entry of a double-entered form); both NULL for online answers.
    form_number: Mapped[str | None] = mapped_column(String(32))
    entry_pass: Mapped[int | None] = mapped_column(Integer)

    answers: Mapped[list["Answer"]] = relationship(
        back_populates="response", cascade="all, delete-orphan", order_by="Answer.item_id"
    )
    questionnaire_version: Mapped["QuestionnaireVersion"] = relationship(viewonly=True)  # noqa: F821


class Answer(Base):
    """The typed value given to one item; exactly one value column is set."""

    __tablename__ = "answers"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN value_text IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN value_number IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN value_date IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN value_list IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_value",
        ),
    )

    response_id: Mapped[str] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_text: Mapped[str | None] = mapped_column(String)
    value_number: Mapped[float | None] = mapped_column(Float)
    value_date: Mapped[date | None] = mapped_column(Date)
    value_list: Mapped[list | None] = mapped_column(JSON(none_as_null=True))

    response: Mapped[Response] = relationship(back_populates="answers")

    @property
    def value(self):
        """Return whichever value column is set."""
        for candidate in (self.value_text, self.value_number, self.value_date, self.value_list):
            if candidate is not None:
                return candidate
        return None


class HeldSubmission(CellColumns, Base):
    """A submitted response waiting to be released into `responses` with at least k others of its cell.

    Submission writes this row in the transaction that marks the invitation's unit done, so on
    PostgreSQL it shares that transaction's id (`xmin`) with the invitation: this table, never
    `responses`, is what carries the submission's time order. `survey.responses.release` moves
    held rows into `responses` in batches of at least `RELEASE_BATCH` per cell, in random order,
    in another transaction, deletes them and vacuums. The answers are kept as one JSON list of
    `[item_id, column, value]` so that a held submission is one row, deleted whole.
    """

    __tablename__ = "held_submissions"
    __table_args__ = (
        CheckConstraint(_in("mode", MODES), name="mode"),
        CheckConstraint("language IN ('vi', 'en')", name="language"),
        CheckConstraint(
            "device_class IS NULL OR " + _in("device_class", DEVICE_CLASSES), name="device"
        ),
        Index("uq_held_submissions_form_number", "wave_id", "form_number", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_response_id)
    mode: Mapped[str] = mapped_column(String(12))
    language: Mapped[str] = mapped_column(String(2))
    submitted_on: Mapped[date] = mapped_column(Date)
    device_class: Mapped[str | None] = mapped_column(String(10))
    page_seconds: Mapped[dict | None] = mapped_column(JSON)
    answers: Mapped[list] = mapped_column(JSON)
    form_number: Mapped[str | None] = mapped_column(String(32))


class EntryCopy(CellColumns, Base):
    """One clerk's entry of a double-entered paper form, waiting for the other entry or for resolution.

    With double entry (`Wave.double_entry`) two clerks enter the same form number. When the second
    entry is saved and both agree, they become one held submission; when they differ, both wait here
    until a staff member picks one value for each differing item (`service.resolve_copies`). Only the
    resolved submission ever reaches `responses`, so one paper form counts once.
    """

    __tablename__ = "entry_copies"
    __table_args__ = (
        UniqueConstraint("wave_id", "form_number", "entry_pass"),
        CheckConstraint("entry_pass IN (1, 2)", name="entry_pass"),
        CheckConstraint(_in("mode", MODES), name="mode"),
        CheckConstraint("language IN ('vi', 'en')", name="language"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mode: Mapped[str] = mapped_column(String(12))
    language: Mapped[str] = mapped_column(String(2))
    form_number: Mapped[str] = mapped_column(String(32))
    entry_pass: Mapped[int] = mapped_column(Integer)
    page_seconds: Mapped[dict | None] = mapped_column(JSON)
    answers: Mapped[list] = mapped_column(JSON)  # [item_id, column, value] as in held submissions


class DraftLink(Base):
    """Ties a draft to the invitation it resumes from; deleted in the submitting transaction."""

    __tablename__ = "draft_links"
    __table_args__ = (UniqueConstraint("invitation_id", "unit_id"),)

    response_id: Mapped[str] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
