"""Fieldwork tracking of a wave: invited, started, completed and response rates, from counts only.

Every figure comes from GROUP BY queries over the count tables that database triggers keep exact
(survey/sampling/progress.py), over the strata and over held submissions; never from rows of
invitations or responses loaded into Python. What is counted:

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
units in scope, persons of the strata whose unit is in scope, held submissions of those units.
Queries only: nothing here writes or commits.
"""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from survey.responses import release
from survey.sampling.models import RespondentGroup, Stratum, Unit, Wave
from survey.sampling.progress import ProgressCount, ResponseCount

STARTED_FORMS = ("in_progress", "done")
STARTED_PERSONS = ("started", "completed")


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
    held: int = 0
    kind: str = ""
    has_children: bool = False

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
        self.invited += other.invited
        self.started += other.started
        self.completed += other.completed
        self.target += other.target
        self.walk_in += other.walk_in
        self.released += other.released
        self.held += other.held


@dataclass
class Progress:
    """Everything the tracking page and its CSV show for a wave and a scope."""

    wave: Wave
    today: date
    total: Row
    persons: Row
    units: dict[int, Row] = field(default_factory=dict)  # every counted unit, on its own (not rolled up)
    tree: dict[int, Row] = field(default_factory=dict)  # the same rolled up over each unit's subtree
    unit_info: dict[int, Unit] = field(default_factory=dict)
    children: dict[int | None, list[int]] = field(default_factory=dict)
    strata: list[Row] = field(default_factory=list)
    groups: list[Row] = field(default_factory=list)
    modes: list[tuple[str, int]] = field(default_factory=list)
    days: list[tuple[date, int]] = field(default_factory=list)
    held: int = 0

    @property
    def days_left(self) -> int:
        """Days until the wave closes (negative once past); the closing day itself counts."""
        return (self.wave.closes_on - self.today).days

    def lagging(self, limit: int = 20) -> list[Row]:
        """Units with invitations or a target, lowest completion against target first."""
        rows = [r for r in self.units.values() if r.invited or r.target]
        return sorted(rows, key=lambda r: (r.lag, -(r.target or r.invited), r.code))[:limit]

    def level(self, parent: int | None) -> list[Row]:
        """Rolled-up rows of the children of a unit (None: the top of the tree), lagging first."""
        return sorted((self.tree[u] for u in self.children.get(parent, [])),
                      key=lambda r: (r.lag, r.code))


def _in_scope(column, units: list[int] | None):
    return column.in_(units) if units is not None else True


def wave_progress(session: Session, wave: Wave, units: list[int] | None = None,
                  today: date | None = None) -> Progress:
    """Count a wave's fieldwork for a scope (a list of unit ids, None for every unit)."""
    pc, rc = ProgressCount, ResponseCount
    done = func.sum(case((pc.status.in_(("done", "completed")), pc.n), else_=0))
    started = func.sum(case((pc.status.in_(STARTED_FORMS + STARTED_PERSONS), pc.n), else_=0))
    progress = Progress(wave=wave, today=today or date.today(), total=Row("total"), persons=Row("persons"))

    # Forms per rated unit and source: one GROUP BY over the wave's count rows.
    forms = session.execute(
        select(pc.unit_id, pc.source, func.sum(pc.n), started, done)
        .where(pc.wave_id == wave.id, pc.kind == "form", _in_scope(pc.unit_id, units))
        .group_by(pc.unit_id, pc.source)).all()
    rows: dict[int, Row] = {}
    for unit_id, source, invited, n_started, n_done in forms:
        row = rows.setdefault(unit_id, Row(unit_id))
        if source == "frame":
            row.invited, row.started, row.completed = invited, n_started, n_done
        else:
            row.walk_in += n_done

    # Targets: the sample sizes of the strata of each unit.
    stratum_scope = _in_scope(Stratum.unit_id, units)
    for unit_id, target in session.execute(
            select(Stratum.unit_id, func.sum(Stratum.sample_size))
            .where(Stratum.wave_id == wave.id, Stratum.unit_id.is_not(None), stratum_scope)
            .group_by(Stratum.unit_id)).all():
        rows.setdefault(unit_id, Row(unit_id)).target = target

    # Released responses per unit, mode and day.
    response_scope = _in_scope(rc.unit_id, units)
    for unit_id, n in session.execute(
            select(rc.unit_id, func.sum(rc.n)).where(rc.wave_id == wave.id, response_scope)
            .group_by(rc.unit_id)).all():
        rows.setdefault(unit_id, Row(unit_id)).released = n
    progress.modes = [(mode, n) for mode, n in session.execute(
        select(rc.mode, func.sum(rc.n)).where(rc.wave_id == wave.id, response_scope)
        .group_by(rc.mode).order_by(rc.mode)).all() if n]
    progress.days = [(day, n) for day, n in session.execute(
        select(rc.submitted_on, func.sum(rc.n)).where(rc.wave_id == wave.id, response_scope)
        .group_by(rc.submitted_on).order_by(rc.submitted_on)).all() if n]

    # Persons per stratum (and so per group), with the strata's targets.
    strata = {s.id: s for s in session.execute(
        select(Stratum.id, Stratum.code, Stratum.group_id, Stratum.sample_size)
        .where(Stratum.wave_id == wave.id, stratum_scope)).all()}
    person_scope = True if units is None else pc.stratum_id.in_(list(strata) or [-1])
    by_stratum: dict[tuple[int, int], Row] = {}
    for group_id, stratum_id, invited, n_started, n_done in session.execute(
            select(pc.group_id, pc.stratum_id, func.sum(pc.n), started, done)
            .where(pc.wave_id == wave.id, pc.kind == "person", pc.source == "frame", person_scope)
            .group_by(pc.group_id, pc.stratum_id)).all():
        if invited or n_done:
            by_stratum[group_id, stratum_id] = Row((group_id, stratum_id), invited=invited,
                                                    started=n_started, completed=n_done)
    first_row = {}  # a stratum's persons are normally of one group: its target goes on the first
    for (_, stratum_id), row in by_stratum.items():
        first_row.setdefault(stratum_id, row)
    for stratum in strata.values():
        row = first_row.get(stratum.id) or by_stratum.setdefault((stratum.group_id, stratum.id),
                                                                 Row((stratum.group_id, stratum.id)))
        row.target = stratum.sample_size

    held = release.held_counts(session, units)
    groups = {g.id: g for g in session.scalars(
        select(RespondentGroup).where(RespondentGroup.id.in_(
            {g for g, _ in by_stratum if g is not None} | {g for w, g in held if w == wave.id})))}
    group_rows: dict[int | None, Row] = {}
    for (group_id, stratum_id), row in by_stratum.items():
        stratum = strata.get(stratum_id)
        row.code = stratum.code if stratum else "—"
        row.label = _name(groups.get(group_id))
        group_rows.setdefault(group_id, Row(group_id, label=row.label)).add(row)
        progress.persons.add(row)
    for (wave_id, group_id), n in held.items():
        if wave_id == wave.id:
            group_rows.setdefault(group_id, Row(group_id, label=_name(groups.get(group_id)))).held = n
            progress.held += n
    progress.persons.held = progress.held
    progress.strata = sorted(by_stratum.values(), key=lambda r: (r.label, r.code))
    progress.groups = sorted(group_rows.values(), key=lambda r: r.label)
    for group in progress.groups:
        group.code = groups[group.key].code if group.key in groups else ""

    _build_tree(session, progress, rows)
    for row in rows.values():
        progress.total.add(row)
    progress.total.held = progress.held
    return progress


def _name(thing) -> str:
    return thing.name if thing is not None else "—"


def _build_tree(session: Session, progress: Progress, rows: dict[int, Row]) -> None:
    """Label the unit rows and roll them up over the unit tree (the units table, a few thousand rows)."""
    info = {u.id: u for u in session.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.name_en, Unit.kind, Unit.parent_id)).all()}
    progress.unit_info = info
    tree: dict[int, Row] = {}
    for unit_id, row in rows.items():
        unit = info.get(unit_id)
        row.code, row.label, row.kind = (unit.code, unit.name, unit.kind) if unit else (str(unit_id), "?", "")
        seen = set()
        current = unit_id
        while current is not None and current not in seen:  # the unit and each of its ancestors
            seen.add(current)
            node = tree.get(current)
            if node is None:
                parent = info.get(current)
                node = tree[current] = Row(current, label=parent.name if parent else "?",
                                           code=parent.code if parent else str(current),
                                           kind=parent.kind if parent else "")
            node.add(row)
            current = info[current].parent_id if current in info else None
    children: dict[int | None, list[int]] = {}
    for unit_id in tree:
        parent = info[unit_id].parent_id if unit_id in info else None
        children.setdefault(parent if parent in tree else None, []).append(unit_id)
        if parent in tree:
            tree[parent].has_children = True
    progress.units, progress.tree, progress.children = rows, tree, children
