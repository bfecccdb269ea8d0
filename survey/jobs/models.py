"""The `jobs` table: one row per piece of long work, its status, progress and outcome."""

from datetime import UTC, datetime

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from survey.db import Base

JOB_STATUSES = ("queued", "running", "done", "failed")
FINISHED = ("done", "failed")


def _now() -> datetime:
    """Return the current time (UTC, aware)."""
    return datetime.now(UTC)


class JobRecord(Base):
    """A job: what to run (kind and parameters), who asked, where it stands and how it ended.

    `done`/`total` and `message` are written by the running job (survey.jobs.runner.Progress) in
    their own short transactions; `result` is a JSON summary for the job page, `error` the reason a
    failed job gives (never a traceback: that goes to the log).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in JOB_STATUSES)})", name="status"),
        CheckConstraint("done >= 0 AND (total IS NULL OR total >= 0)", name="progress"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(String(255))
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    wave_id: Mapped[int | None] = mapped_column(ForeignKey("waves.id", ondelete="SET NULL"), index=True)

    @property
    def finished(self) -> bool:
        """Tell whether the job has ended (done or failed)."""
        return self.status in FINISHED

    @property
    def percent(self) -> int | None:
        """Return the share done in whole percent, or None when the total is not known."""
        if not self.total:
            return 100 if self.status == "done" else None
        return min(100, self.done * 100 // self.total)
