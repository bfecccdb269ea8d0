"""Fieldwork tracking of a wave: invited, started, completed and response rates, from counts only.

Every figure comes from queries over the count tables that database triggers keep exact
(survey/sampling/progress.py), over the strata and over held submissions; never from rows of
invitations or responses loaded into Python. Units are sorted, rolled up over the unit tree and
paged in SQL (`unit_progress` holds one row per wave and rated unit), so a page reads a few dozen
rows whatever the size of the wave. What is counted:

- **Forms (phiếu)**: one per invited person and rated unit (an invitation unit). A unit's invited,
  started (in progress or done) and completed (done) forms come from the invitation side, so
  submissions still held for release (survey/responses/release.py) count as completed there.
  Open-link (walk-in) forms are counted apart: they have no sampled denominator.
- **Persons**: invitations per stratum and group, pending / started / completed, against the
  stratum's target sample (`strata.sample_size`).
- **Released responses** by mode and by submission day: only responses carry a mode, and their
  day is the release batch's day, not the day each person finished (invitations keep no time).
- "Opened" is not recorded: an invitation is `pending` until its first page is saved. The page
  says so and shows started.

Unit scope (`units`, a list of unit ids, None for every unit): forms and responses of the rated
units in scope, persons of the strata whose unit is in scope, held submissions of those units. A
unit of the tree above the scope (the province for a commune's user) shows the sum of the units in
scope under it, nothing more. Queries only: nothing here writes or commits.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Float, case, cast, func, literal, or_, select, text
from sqlalchemy.orm import Session, aliased

from survey.responses import release
from survey.sampling.models import RespondentGroup, Stratum, Unit, Wave
from survey.sampling.progress import ProgressCount, ResponseCount, ResponseDayCount, UnitProgress

STARTED_FORMS = ("in_progress", "done")
STARTED_PERSONS = ("started", "completed")
COUNTS = ("invited", "started", "completed", "target", "walk_in", "released", "opened")


@dataclass
class Row:
    """Counts of one line of a table (a unit, a stratum, a group, the whole wave)."""

    key: object
    label: str = ""
    code: str = ""
    invited: int = 0
    started: int = 0
    completed: int = 0
    target: int = 0
    walk_in: int = 0  # completed open-link forms (no denominator)
    released: int = 0  # responses released into the data
    opened: int = 0  # sampled forms whose link was opened (or which were started)
    held: int = 0
    kind: str = ""
    has_children: bool = False
    parent_code: str = ""
    name_en: str | None = None

    @property
    def rate(self) -> float | None:
        """Completed over invited (None when nobody is invited)."""
        return self.completed / self.invited if self.invited else None

    @property
    def attainment(self) -> float | None:
        """Completed over the target sample (None without a target)."""
        return self.completed / self.target if self.target else None

    @property
    def lag(self) -> float:
        """What lagging-first order sorts on: completion against the target, else against invited."""
        base = self.target or self.invited
        return self.completed / base if base else 1.0

    def add(self, other: "Row") -> None:
        """Add another row's counts to this one."""
        for name in (*COUNTS, "held"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _lag(completed, target, invited):
    """The SQL of Row.lag, for ORDER BY."""
    base = case((target > 0, target), else_=invited)
    return case((base > 0, cast(completed, Float) / base), else_=literal(1.0))


def _in_scope(column, units: list[int] | None):
    return column.in_(units) if units is not None else True


def _sums(source) -> list:
    """SUM of each count column of a selectable (0 when empty)."""
    return [func.coalesce(func.sum(getattr(source.c, name)), 0).label(name) for name in COUNTS]


@dataclass
class Progress:
    """A wave's fieldwork for a scope: totals at once, units, strata and the tree by query."""

    session: Session
    wave: Wave
    today: date
    scope: list[int] | None
    total: Row = field(default_factory=lambda: Row("total"))
    persons: Row = field(default_factory=lambda: Row("persons"))
    groups: list[Row] = field(default_factory=list)
    modes: list[tuple[str, int]] = field(default_factory=list)
    days: list[tuple[date, int]] = field(default_factory=list)
    held: int = 0

    @property
    def days_left(self) -> int:
        """Days until the wave closes (negative once past); the closing day itself counts."""
        return (self.wave.closes_on - self.today).days

    # Units, each on its own.

    def _unit_rows(self):
        """The wave's unit_progress rows in scope (a selectable)."""
        up = UnitProgress
        return (select(up.unit_id, *(getattr(up, name).label(name) for name in COUNTS))
                .where(up.wave_id == self.wave.id, _in_scope(up.unit_id, self.scope)))

    def _rows(self, query, source) -> list[Row]:
        """Run a query of (unit id, the COUNTS, has children) joined to `source`; return labelled rows."""
        parent = aliased(Unit)
        query = (query.join(Unit, Unit.id == source.c.unit_id)
                 .outerjoin(parent, parent.id == Unit.parent_id)
                 .add_columns(Unit.code, Unit.name, Unit.name_en, Unit.kind, parent.code))
        found = []
        for unit_id, *counts, deeper, code, name, name_en, kind, parent_code in self.session.execute(query):
            found.append(Row(unit_id, name, code, *counts, kind=kind, parent_code=parent_code or "",
                             name_en=name_en, has_children=bool(deeper)))
        return found

    def lagging(self, limit: int | None = 20, offset: int = 0, everything: bool = False) -> list[Row]:
        """Units with invitations or a target (`everything`: any count), lowest completion against
        target first, then the larger, then by code."""
        units = self._unit_rows().subquery()
        c = units.c
        query = select(c.unit_id, *(getattr(c, name) for name in COUNTS), literal(0))
        if not everything:
            query = query.where(or_(c.invited > 0, c.target > 0))
        query = query.order_by(_lag(c.completed, c.target, c.invited),
                               case((c.target > 0, c.target), else_=c.invited).desc(), Unit.code)
        return self._rows(query.limit(limit).offset(offset), units)

    def lagging_count(self) -> int:
        """How many units `lagging` can list."""
        units = self._unit_rows().subquery()
        return self.session.scalar(select(func.count()).select_from(units)
                                   .where(or_(units.c.invited > 0, units.c.target > 0)))

    def unit(self, unit_id: int) -> Row | None:
        """A unit's own counts (not rolled up), or None when it has none in scope."""
        units = self._unit_rows().where(UnitProgress.unit_id == unit_id).subquery()
        found = self._rows(select(units.c.unit_id, *(getattr(units.c, n) for n in COUNTS), literal(0)), units)
        return found[0] if found else None

    def all_units(self) -> Iterator[Row]:
        """Every unit with any count in scope, lagging first (the CSV)."""
        yield from self.lagging(limit=None, everything=True)

    # The unit tree, rolled up.

    def _level(self, parent: int | None):
        """Each child of `parent` (None: the top of the tree) with its subtree's summed counts."""
        start = select(Unit.id.label("root_id"), Unit.id.label("unit_id")).where(
            Unit.parent_id == parent if parent is not None else Unit.parent_id.is_(None))
        tree = start.cte("subtree", recursive=True)
        below = aliased(Unit)
        tree = tree.union_all(select(tree.c.root_id, below.id).join(below, below.parent_id == tree.c.unit_id))
        units = self._unit_rows().subquery()
        return (select(tree.c.root_id.label("unit_id"), *_sums(units),
                       func.max(case((tree.c.unit_id != tree.c.root_id, 1), else_=0)).label("deeper"))
                .join(units, units.c.unit_id == tree.c.unit_id).group_by(tree.c.root_id).subquery())

    def level(self, parent: int | None, limit: int | None = None, offset: int = 0) -> list[Row]:
        """Rolled-up rows of the children of a unit (None: the top of the tree), lagging first."""
        rolled = self._level(parent)
        c = rolled.c
        query = (select(c.unit_id, *(getattr(c, name) for name in COUNTS), c.deeper)
                 .order_by(_lag(c.completed, c.target, c.invited), Unit.code).limit(limit).offset(offset))
        return self._rows(query, rolled)

    def level_count(self, parent: int | None) -> int:
        """How many children of a unit have counts in scope."""
        return self.session.scalar(select(func.count()).select_from(self._level(parent)))

    def path(self, unit_id: int) -> list[Row]:
        """The unit and its ancestors, from the top (for the breadcrumb), labels only."""
        found, current, seen = [], unit_id, set()
        while current is not None and current not in seen:
            seen.add(current)
            unit = self.session.execute(select(Unit.id, Unit.code, Unit.name, Unit.parent_id)
                                        .where(Unit.id == current)).first()
            if unit is None:
                break
            found.insert(0, Row(unit.id, unit.name, unit.code))
            current = unit.parent_id
        return found

    # Strata (persons).

    def _person_scope(self):
        if self.scope is None:
            return True
        return ProgressCount.stratum_id.in_(select(Stratum.id).where(
            Stratum.wave_id == self.wave.id, Stratum.unit_id.in_(self.scope)))

    def _persons(self, by):
        pc = ProgressCount
        return (select(by.label("key"), func.sum(pc.n).label("invited"),
                       func.sum(case((pc.status.in_(STARTED_PERSONS), pc.n), else_=0)).label("started"),
                       func.sum(case((pc.status == "completed", pc.n), else_=0)).label("completed"))
                .where(pc.wave_id == self.wave.id, pc.kind == "person", pc.source == "frame",
                       self._person_scope()).group_by(by))

    def _strata(self):
        persons = self._persons(ProgressCount.stratum_id).subquery()
        invited, started, completed = (func.coalesce(getattr(persons.c, n), 0)
                                       for n in ("invited", "started", "completed"))
        query = (select(Stratum.code, RespondentGroup.name, invited, started, completed, Stratum.sample_size)
                 .outerjoin(persons, persons.c.key == Stratum.id)
                 .outerjoin(RespondentGroup, RespondentGroup.id == Stratum.group_id)
                 .where(Stratum.wave_id == self.wave.id, _in_scope(Stratum.unit_id, self.scope)))
        return query, _lag(completed, Stratum.sample_size, invited)

    def strata(self, limit: int | None = None, offset: int = 0) -> list[Row]:
        """Strata in scope with their persons, lowest completion against target first."""
        query, lag = self._strata()
        rows = self.session.execute(query.order_by(lag, Stratum.code).limit(limit).offset(offset)).all()
        return [Row(code, group or "—", code, invited, started, completed, target)
                for code, group, invited, started, completed, target in rows]

    def strata_count(self) -> int:
        """How many strata are in scope."""
        return self.session.scalar(select(func.count()).select_from(Stratum).where(
            Stratum.wave_id == self.wave.id, _in_scope(Stratum.unit_id, self.scope)))


def wave_progress(session: Session, wave: Wave, units: list[int] | None = None,
                  today: date | None = None) -> Progress:
    """Count a wave's totals, groups, modes and days for a scope (a list of unit ids, None for all).

    On PostgreSQL, JIT compilation is switched off for the rest of the transaction: the planner
    cannot estimate the recursive unit tree (it guesses millions of rows for a few thousand), and
    compiling the query then costs more than running it (about 45 of 130 ms at a million invitations).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
    progress = Progress(session, wave, today or date.today(), units)
    totals = progress._unit_rows().subquery()
    for name, value in zip(COUNTS, session.execute(select(*_sums(totals))).one(), strict=True):
        setattr(progress.total, name, value)

    # Persons per group, with the targets of the strata in scope.
    targets = dict(session.execute(
        select(Stratum.group_id, func.sum(Stratum.sample_size))
        .where(Stratum.wave_id == wave.id, _in_scope(Stratum.unit_id, units))
        .group_by(Stratum.group_id)).all())
    held = {g: n for (w, g), n in release.held_counts(session, units).items() if w == wave.id}
    rows: dict[int | None, Row] = {}
    for group_id, invited, started, completed in session.execute(
            progress._persons(ProgressCount.group_id)).all():
        rows[group_id] = Row(group_id, invited=invited, started=started, completed=completed)
    for group_id in set(targets) | set(held):
        rows.setdefault(group_id, Row(group_id))
    names = {g.id: g for g in session.scalars(select(RespondentGroup).where(
        RespondentGroup.id.in_([g for g in rows if g is not None])))}
    for group_id, row in rows.items():
        group = names.get(group_id)
        row.label, row.code = (group.name, group.code) if group else ("—", "")
        row.name_en = group.name_en if group else None
        row.target, row.held = targets.get(group_id) or 0, held.get(group_id, 0)
        progress.persons.add(row)
    progress.groups = sorted(rows.values(), key=lambda r: r.label)
    progress.held = progress.persons.held
    progress.total.held = progress.held

    # Released responses by mode and day: the wave's day counts, or a scope's cells by unit index.
    if units is None:
        rdc = ResponseDayCount
        source, where = rdc, [rdc.wave_id == wave.id]
    else:
        source, where = ResponseCount, [ResponseCount.wave_id == wave.id, ResponseCount.unit_id.in_(units)]
    progress.modes = [(mode, n) for mode, n in session.execute(
        select(source.mode, func.sum(source.n)).where(*where).group_by(source.mode)
        .order_by(source.mode)).all() if n]
    progress.days = [(day, n) for day, n in session.execute(
        select(source.submitted_on, func.sum(source.n)).where(*where).group_by(source.submitted_on)
        .order_by(source.submitted_on)).all() if n]
    return progress


def unit_by_code(session: Session, code: str) -> Unit | None:
    """The unit with a code, or None."""
    return session.scalar(select(Unit).where(Unit.code == code))
