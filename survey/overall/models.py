"""External points: nodes scored from outside data (statistics office, national systems), entered by staff."""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from survey.db import Base


class ExternalPoints(Base):
    """The points of one externally measured node for a unit and year (the last entry wins, each audited)."""

    __tablename__ = "external_points"
    __table_args__ = (UniqueConstraint("year", "unit_id", "framework_id", "node_code"),
                      CheckConstraint("points >= 0", name="points_not_negative"))

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"))
    node_code: Mapped[str] = mapped_column(String(64))
    points: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
