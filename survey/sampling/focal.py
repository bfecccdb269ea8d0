"""Focal officials (đầu mối) of agencies and communes, and a wave's milestones with what is overdue.

Each agency and commune names its survey focal official(s) and IT contact; the province sends the
list to the ministry as an XLSX. Names, positions, phones and e-mails are stored encrypted like the
sampling frame (survey/sampling/crypto.py, the column name as associated data), and shown only to
coordinators and to the unit's own scoped users.

A wave's milestones ("gửi danh sách đầu mối", "hoàn thành khảo sát") each have a due date and the
units they concern; a unit's milestone is done when marked so, or, for the focal-list kind, as soon
as the unit has a focal official recorded. Overdue: past the due date and not done.

Services flush and never commit; the caller commits once.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    String,
    Text,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from survey.db import Base
from survey.sampling import crypto
from survey.sampling.contact import normalise_email, normalise_phone
from survey.sampling.models import Unit, Wave, WaveUnit, _in
from survey.sampling.service import WaveError

FOCAL_ROLES = ("focal", "it")
MILESTONE_KINDS = ("manual", "focal_list")
SEALED = ("full_name", "position", "phone", "email")
MAX_TEXT = 255


class FocalOfficial(Base):
    """A unit's survey focal official or IT contact; contact details are ciphertext."""

    __tablename__ = "focal_officials"
    __table_args__ = (CheckConstraint(_in("role", FOCAL_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    role: Mapped[str] = mapped_column(String(10), default="focal")
    full_name: Mapped[str] = mapped_column(Text)
    position: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=lambda: datetime.now(UTC))

    unit: Mapped[Unit] = relationship()


class Milestone(Base):
    """A dated step of a wave for some of its units."""

    __tablename__ = "milestones"
    __table_args__ = (CheckConstraint(_in("kind", MILESTONE_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    due_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20), default="manual", server_default="manual")

    units: Mapped[list["MilestoneUnit"]] = relationship(cascade="all, delete-orphan")


class MilestoneUnit(Base):
    """A unit a milestone concerns, and the day it was done (NULL: not yet)."""

    __tablename__ = "milestone_units"

    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"),
                                              primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)
    done_on: Mapped[date | None] = mapped_column(Date)


class FocalError(WaveError):
    """Input that cannot be recorded; `reason` names the problem, `params` its values."""


@dataclass(frozen=True)
class Contact:
    """A focal official in clear text, for a page or the ministry's list."""

    id: int
    unit_id: int
    unit_code: str
    unit_name: str
    role: str
    full_name: str
    position: str
    phone: str
    email: str


def _clean(full_name: str, position: str | None, phone: str | None, email: str | None,
           role: str) -> dict[str, str | None]:
    """Check and normalise an official's details; raise FocalError naming the first problem."""
    values = {"full_name": (full_name or "").strip(), "position": (position or "").strip() or None,
              "phone": (phone or "").strip() or None, "email": (email or "").strip() or None}
    if not values["full_name"]:
        raise FocalError("a focal official needs a name", "no_name")
    for column, value in values.items():
        if value is not None and len(value) > MAX_TEXT:
            raise FocalError(f"{column} is longer than {MAX_TEXT} characters", "too_long", field=column)
    if role not in FOCAL_ROLES:
        raise FocalError(f"unknown role {role!r}", "role", role=role)
    if values["phone"] is not None:
        normal = normalise_phone(values["phone"])
        if normal is None:
            raise FocalError(f"{values['phone']!r} is not a Vietnamese phone number", "phone",
                             phone=values["phone"])
        values["phone"] = normal
    if values["email"] is not None:
        normal = normalise_email(values["email"])
        if normal is None:
            raise FocalError(f"{values['email']!r} is not an e-mail address", "email", email=values["email"])
        values["email"] = normal
    return values


def _seal(official: FocalOfficial, values: dict, cipher: crypto.FrameCipher) -> None:
    for column in SEALED:
        setattr(official, column, cipher.seal(values[column], f"focal_officials.{column}"))
    official.updated_at = datetime.now(UTC)


def add_official(session: Session, unit: Unit, full_name: str, *, role: str = "focal",
                 position: str | None = None, phone: str | None = None, email: str | None = None,
                 cipher: crypto.FrameCipher | None = None) -> FocalOfficial:
    """Record a focal official (or IT contact) of a unit, encrypted."""
    values = _clean(full_name, position, phone, email, role)
    official = FocalOfficial(unit_id=unit.id, role=role)
    _seal(official, values, cipher or crypto.cipher())
    session.add(official)
    session.flush()
    return official


def update_official(session: Session, official: FocalOfficial, full_name: str, *, role: str,
                    position: str | None = None, phone: str | None = None, email: str | None = None,
                    cipher: crypto.FrameCipher | None = None) -> FocalOfficial:
    """Change a focal official's details (the unit stays)."""
    values = _clean(full_name, position, phone, email, role)
    official.role = role
    _seal(official, values, cipher or crypto.cipher())
    session.flush()
    return official


def remove_official(session: Session, official: FocalOfficial) -> None:
    """Delete a focal official."""
    session.delete(official)
    session.flush()


def _in_scope(column, units: list[int] | None):
    return column.in_(units) if units is not None else True


def count_contacts(session: Session, units: list[int] | None = None) -> int:
    """How many focal officials a scope has."""
    return session.scalar(select(func.count()).select_from(FocalOfficial)
                          .where(_in_scope(FocalOfficial.unit_id, units)))


def contacts(session: Session, units: list[int] | None = None, unit_ids: list[int] | None = None,
             cipher: crypto.FrameCipher | None = None, limit: int | None = None,
             offset: int = 0) -> list[Contact]:
    """Focal officials of a scope (None: every unit), optionally of some units only, decrypted,
    by unit code, focal officials before IT contacts (a page of them with `limit` and `offset`)."""
    cipher = cipher or crypto.cipher()
    query = (select(FocalOfficial, Unit.code, Unit.name).join(Unit, Unit.id == FocalOfficial.unit_id)
             .where(_in_scope(FocalOfficial.unit_id, units)))
    if unit_ids is not None:
        query = query.where(FocalOfficial.unit_id.in_(unit_ids))
    rows = session.execute(query.order_by(Unit.code, case((FocalOfficial.role == "focal", 0), else_=1),
                                          FocalOfficial.id).limit(limit).offset(offset)).all()
    return [Contact(o.id, o.unit_id, code, name, o.role,
                    *(cipher.open(getattr(o, c), f"focal_officials.{c}") or "" for c in SEALED))
            for o, code, name in rows]


XLSX_HEADERS = ("STT", "Đơn vị", "Họ và tên", "Chức vụ", "Điện thoại", "Email", "Vai trò")
ROLE_NAMES_VI = {"focal": "Đầu mối khảo sát", "it": "Cán bộ công nghệ thông tin"}


def display_phone(phone: str) -> str:
    """A phone number as Vietnamese write it (0912 345 678) from E.164."""
    if phone.startswith("+84"):
        national = "0" + phone[3:]
        return f"{national[:4]} {national[4:7]} {national[7:]}".strip()
    return phone


def workbook(found: list[Contact], title: str):
    """The list the province sends to the ministry, as an openpyxl workbook (one sheet)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from analysis.outputs import escape_formula

    book = Workbook()
    sheet = book.active
    sheet.title = "Đầu mối"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(list(XLSX_HEADERS))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for number, c in enumerate(found, start=1):
        sheet.append([number] + [escape_formula(v) for v in (
            c.unit_name, c.full_name, c.position, display_phone(c.phone), c.email, ROLE_NAMES_VI[c.role])])
    for column, width in zip("ABCDEFG", (6, 36, 28, 28, 16, 32, 28), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A3"
    return book


# Milestones.

def add_milestone(session: Session, wave: Wave, name: str, due_on: date, unit_ids: list[int],
                  kind: str = "manual") -> Milestone:
    """Add a milestone of a wave for some of its units (none given: every unit of the wave)."""
    name = (name or "").strip()
    if not name or len(name) > MAX_TEXT:
        raise FocalError("a milestone needs a name of at most 255 characters", "milestone_name")
    if kind not in MILESTONE_KINDS:
        raise FocalError(f"unknown milestone kind {kind!r}", "kind", kind=kind)
    in_wave = set(session.scalars(select(WaveUnit.unit_id).where(WaveUnit.wave_id == wave.id)))
    chosen = sorted(set(unit_ids)) if unit_ids else sorted(in_wave)
    stray = [u for u in chosen if u not in in_wave]
    if stray:
        code = session.scalar(select(Unit.code).where(Unit.id == stray[0]))
        raise FocalError(f"unit {code} is not in wave {wave.code}", "unit_not_in_wave", unit=code)
    if not chosen:
        raise FocalError(f"wave {wave.code} has no units", "no_units")
    milestone = Milestone(wave_id=wave.id, name=name, due_on=due_on, kind=kind,
                          units=[MilestoneUnit(unit_id=u) for u in chosen])
    session.add(milestone)
    session.flush()
    return milestone


def mark_done(session: Session, milestone: Milestone, unit_ids: list[int], on: date,
              done: bool = True) -> int:
    """Mark (or unmark) a milestone done for some of its units; return how many rows changed."""
    changed = 0
    for row in milestone.units:
        if row.unit_id in unit_ids and (row.done_on is None) == done:
            row.done_on = on if done else None
            changed += 1
    session.flush()
    return changed


@dataclass
class MilestoneStatus:
    """A milestone with how many of its units (in scope) are done and which are overdue."""

    milestone: Milestone
    units: int
    done: int
    overdue: list[tuple[str, str]]  # (code, name) of the first overdue units, by code
    overdue_count: int

    @property
    def is_overdue(self) -> bool:
        """Tell whether any unit in scope is past the due date and not done."""
        return self.overdue_count > 0


def _done_clause(milestone_kind):
    """A unit's milestone is done: marked so, or for the focal-list kind, a focal official exists."""
    has_focal = exists().where(FocalOfficial.unit_id == MilestoneUnit.unit_id)
    return or_(MilestoneUnit.done_on.is_not(None), and_(milestone_kind == "focal_list", has_focal))


def milestones(session: Session, wave: Wave, today: date, units: list[int] | None = None,
               show: int = 10) -> list[MilestoneStatus]:
    """The wave's milestones by due date, counted over the units in scope (queries, no unit rows)."""
    done = _done_clause(Milestone.kind)
    counts = session.execute(
        select(Milestone.id, func.count(), func.sum(case((done, 1), else_=0)))
        .join(MilestoneUnit, MilestoneUnit.milestone_id == Milestone.id)
        .where(Milestone.wave_id == wave.id, _in_scope(MilestoneUnit.unit_id, units))
        .group_by(Milestone.id)).all()
    by_id = {m: (n, d or 0) for m, n, d in counts}
    found = []
    for milestone in session.scalars(select(Milestone).where(Milestone.wave_id == wave.id)
                                     .order_by(Milestone.due_on, Milestone.id)):
        n, d = by_id.get(milestone.id, (0, 0))
        overdue, late = [], 0
        if milestone.due_on < today and d < n:
            late = n - d
            overdue = [tuple(r) for r in session.execute(
                select(Unit.code, Unit.name).join(MilestoneUnit, MilestoneUnit.unit_id == Unit.id)
                .where(MilestoneUnit.milestone_id == milestone.id, _in_scope(MilestoneUnit.unit_id, units),
                       ~_done_clause(literal(milestone.kind))).order_by(Unit.code).limit(show)).all()]
        found.append(MilestoneStatus(milestone, n, d, overdue, late))
    return found


def overdue_units(session: Session, wave: Wave, today: date, unit_ids: list[int]) -> dict[int, list[str]]:
    """Names of the overdue milestones of some units (the units shown on a page), by unit id."""
    if not unit_ids:
        return {}
    rows = session.execute(
        select(MilestoneUnit.unit_id, Milestone.name)
        .join(Milestone, Milestone.id == MilestoneUnit.milestone_id)
        .where(Milestone.wave_id == wave.id, Milestone.due_on < today, MilestoneUnit.unit_id.in_(unit_ids),
               ~_done_clause(Milestone.kind)).order_by(Milestone.due_on, Milestone.id)).all()
    found: dict[int, list[str]] = {}
    for unit_id, name in rows:
        found.setdefault(unit_id, []).append(name)
    return found


def delete_milestone(session: Session, milestone: Milestone) -> None:
    """Delete a milestone and its units."""
    session.delete(milestone)
    session.flush()
