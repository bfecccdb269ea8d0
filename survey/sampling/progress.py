"""Running counts for fieldwork tracking, kept exact by database triggers.

The tracking page of a wave with a million invitations cannot count rows at each view within its
budget (a GROUP BY over a million index entries alone takes about half a second on SQLite). So the
database keeps two small tables of counts, changed by triggers in the same transaction as the rows
they count, whatever code (or hand-typed SQL) writes them; the page runs GROUP BY queries over a
few thousand count rows instead.

- `progress_counts`: invitations per (wave, group, stratum, source, status) with ``kind='person'``
  and ``unit_id=0``, and invitation units (one expected form per rated unit) per (wave, group,
  stratum, unit, source, unit progress) with ``kind='form'``. A missing stratum is stored as 0.
- `response_counts`: complete responses per (wave, group, stratum, unit, mode, submitted_on).
- `unit_progress` (migration 0011): one row per wave and rated unit with its forms invited, started
  and completed (sampled), walk-in forms completed, released responses and the target sample of the
  unit's strata, so that the tracking page sorts and pages units in SQL over a few thousand rows.
- `response_day_counts` (migration 0011): complete responses per (wave, submitted_on, mode), for the
  whole wave's chart (a scoped user's chart reads `response_counts` through its unit index).

Statuses only: no row names an invitation, a person or a response, and nothing is counted by time
except the responses' submission day (the batch's day, see survey/responses/release.py). Every
count row touched by a change is rewritten by it (a decrement then an increment, even when the
status is unchanged), so that on PostgreSQL a release's rewrite of completed invitations also
rewrites their count rows, as it rewrites the invitations themselves.

Deleting an invitation: its BEFORE DELETE trigger takes its units off while they still exist; the
cascade that then deletes the units finds no invitation and changes nothing.
"""

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from survey.db import Base

KINDS = ("person", "form")


class ProgressCount(Base):
    """How many invitations (persons) or invitation units (forms) of a cell are in a status."""

    __tablename__ = "progress_counts"
    __table_args__ = (CheckConstraint("kind IN ('person', 'form')", name="kind"),)

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(6), primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stratum_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: no stratum
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0 on person rows
    source: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[str] = mapped_column(String(12), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class ResponseCount(Base):
    """How many complete responses of a cell carry a submission day."""

    __tablename__ = "response_counts"
    __table_args__ = (Index("ix_response_counts_wave_unit", "wave_id", "unit_id"),)

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stratum_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: no stratum
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mode: Mapped[str] = mapped_column(String(12), primary_key=True)
    submitted_on: Mapped[date] = mapped_column(Date, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class UnitProgress(Base):
    """A rated unit's running totals in a wave: what the tracking page sorts, pages and rolls up."""

    __tablename__ = "unit_progress"

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invited: Mapped[int] = mapped_column(Integer, default=0)  # sampled forms (invitation units)
    opened: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # link opened, or started
    started: Mapped[int] = mapped_column(Integer, default=0)  # in progress or done
    completed: Mapped[int] = mapped_column(Integer, default=0)  # done
    walk_in: Mapped[int] = mapped_column(Integer, default=0)  # done open-link forms
    released: Mapped[int] = mapped_column(Integer, default=0)  # complete responses
    target: Mapped[int] = mapped_column(Integer, default=0)  # sample sizes of the unit's strata


class ResponseDayCount(Base):
    """How many complete responses of a wave carry a submission day and a mode."""

    __tablename__ = "response_day_counts"

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True)
    submitted_on: Mapped[date] = mapped_column(Date, primary_key=True)
    mode: Mapped[str] = mapped_column(String(12), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


PROGRESS_KEY = "wave_id, kind, group_id, stratum_id, unit_id, source, status"
RESPONSE_KEY = "wave_id, group_id, stratum_id, unit_id, mode, submitted_on"


def _bump(table: str, key: str, values: str, delta: int, where: str = "") -> str:
    """An upsert adding `delta` to the count row of `values` (a SELECT list; `where` ends it)."""
    return (f"INSERT INTO {table} ({key}, n) SELECT {values}, {delta} {where or 'WHERE 1 = 1'} "
            f"ON CONFLICT ({key}) DO UPDATE SET n = {table}.n + excluded.n")


def _person(row: str, delta: int) -> str:
    return _bump("progress_counts", PROGRESS_KEY,
                 f"{row}.wave_id, 'person', {row}.group_id, COALESCE({row}.stratum_id, 0), 0, "
                 f"{row}.source, {row}.status", delta)


def _forms_of(row: str, delta: int) -> str:
    """Count the units of an invitation (`row` is OLD or NEW of invitations)."""
    return _bump("progress_counts", PROGRESS_KEY,
                 f"{row}.wave_id, 'form', {row}.group_id, COALESCE({row}.stratum_id, 0), iu.unit_id, "
                 f"{row}.source, iu.status", delta,
                 f"FROM invitation_units iu WHERE iu.invitation_id = {row}.id")


def _form(row: str, delta: int) -> str:
    """Count one invitation unit (`row` is OLD or NEW of invitation_units), if its invitation exists."""
    return _bump("progress_counts", PROGRESS_KEY,
                 f"i.wave_id, 'form', i.group_id, COALESCE(i.stratum_id, 0), {row}.unit_id, i.source, "
                 f"{row}.status", delta, f"FROM invitations i WHERE i.id = {row}.invitation_id")


def _response(row: str, delta: int) -> str:
    return _bump("response_counts", RESPONSE_KEY,
                 f"{row}.wave_id, {row}.group_id, COALESCE({row}.stratum_id, 0), {row}.unit_id, "
                 f"{row}.mode, {row}.submitted_on", delta, f"WHERE {row}.status = 'complete'")


KEYS_CHANGED = ("OLD.wave_id IS NOT NEW.wave_id OR OLD.group_id IS NOT NEW.group_id OR "
                "OLD.stratum_id IS NOT NEW.stratum_id OR OLD.source IS NOT NEW.source")

# SQLite: one trigger per table and operation; statements end with ';'.
SQLITE_TRIGGERS = [
    ("progress_invitation_insert", "AFTER INSERT ON invitations", [_person("NEW", 1)]),
    ("progress_invitation_update", "AFTER UPDATE ON invitations", [_person("OLD", -1), _person("NEW", 1)]),
    ("progress_invitation_move", "AFTER UPDATE ON invitations",
     [_forms_of("OLD", -1), _forms_of("NEW", 1)]),
    ("progress_invitation_delete", "BEFORE DELETE ON invitations",
     [_person("OLD", -1), _forms_of("OLD", -1)]),
    ("progress_unit_insert", "AFTER INSERT ON invitation_units", [_form("NEW", 1)]),
    ("progress_unit_update", "AFTER UPDATE ON invitation_units", [_form("OLD", -1), _form("NEW", 1)]),
    ("progress_unit_delete", "AFTER DELETE ON invitation_units", [_form("OLD", -1)]),
    ("progress_response_insert", "AFTER INSERT ON responses", [_response("NEW", 1)]),
    ("progress_response_update", "AFTER UPDATE ON responses", [_response("OLD", -1), _response("NEW", 1)]),
    ("progress_response_delete", "AFTER DELETE ON responses", [_response("OLD", -1)]),
]


def sqlite_ddl() -> list[str]:
    """CREATE TRIGGER statements for SQLite."""
    return [f"CREATE TRIGGER {name} {when} FOR EACH ROW"
            f"{' WHEN ' + KEYS_CHANGED if name == 'progress_invitation_move' else ''} "
            f"BEGIN {' '.join(s + ';' for s in body)} END"
            for name, when, body in SQLITE_TRIGGERS]


def _plpgsql(name: str, body: str) -> str:
    return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$")


WRITES = "AFTER INSERT OR UPDATE OR DELETE"


def _old_then_new(old: str, new: str) -> str:
    """PL/pgSQL taking off a row's old version (update, delete), then counting its new one."""
    return (f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {old}; END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {new}; END IF;")


def _pg_trigger(name: str, when: str, table: str, function: str) -> str:
    return f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"


def postgresql_ddl() -> list[str]:
    """Trigger functions and triggers for PostgreSQL (row triggers, the same statements)."""
    pg_changed = ("(OLD.wave_id, OLD.group_id, OLD.stratum_id, OLD.source) IS DISTINCT FROM "
                  "(NEW.wave_id, NEW.group_id, NEW.stratum_id, NEW.source)")
    invitations = (
        f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_person('OLD', -1)}; END IF; "
        f"IF TG_OP = 'DELETE' THEN {_forms_of('OLD', -1)}; END IF; "
        f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_person('NEW', 1)}; END IF; "
        f"IF TG_OP = 'UPDATE' AND {pg_changed} THEN {_forms_of('OLD', -1)}; {_forms_of('NEW', 1)}; END IF;")
    units = _old_then_new(_form("OLD", -1), _form("NEW", 1))
    responses = _old_then_new(_response("OLD", -1), _response("NEW", 1))
    return [
        _plpgsql("progress_invitations", invitations),
        _plpgsql("progress_units", units),
        _plpgsql("progress_responses", responses),
        _pg_trigger("progress_invitation_write", "AFTER INSERT OR UPDATE", "invitations",
                    "progress_invitations"),
        _pg_trigger("progress_invitation_delete", "BEFORE DELETE", "invitations", "progress_invitations"),
        _pg_trigger("progress_unit_write", WRITES, "invitation_units", "progress_units"),
        _pg_trigger("progress_response_write", WRITES, "responses", "progress_responses"),
    ]


def drop_ddl(dialect: str) -> list[str]:
    """Statements removing the triggers (and PostgreSQL's functions)."""
    if dialect == "postgresql":
        return [f"DROP FUNCTION IF EXISTS {name}() CASCADE"
                for name in ("progress_invitations", "progress_units", "progress_responses")]
    return [f"DROP TRIGGER IF EXISTS {name}" for name, _, _ in SQLITE_TRIGGERS]


# Migration 0011 kept these; 0017 added `opened` (the triggers of each revision are built with its columns).
UNIT_COLUMNS_0011 = ("invited", "started", "completed", "walk_in", "released", "target")
UNIT_COLUMNS = ("invited", "opened", "started", "completed", "walk_in", "released", "target")


def _unit_bump(values: dict[str, str], wave: str, unit: str, where: str, opened: bool = True) -> str:
    """An upsert adding to a unit's running totals; `values` maps some UNIT_COLUMNS to expressions.

    `where` is a FROM ... WHERE clause that must join `waves w` on the wave: a row whose wave is being
    deleted (by cascade) is not counted again. `opened` False builds migration 0011's statement.
    """
    names = UNIT_COLUMNS if opened else UNIT_COLUMNS_0011
    columns = ", ".join(values.get(c, "0") for c in names)
    updates = ", ".join(f"{c} = unit_progress.{c} + excluded.{c}" for c in names)
    return (f"INSERT INTO unit_progress (wave_id, unit_id, {', '.join(names)}) "
            f"SELECT {wave}, {unit}, {columns} {where} "
            f"ON CONFLICT (wave_id, unit_id) DO UPDATE SET {updates}")


def _form_totals(source: str, status: str, delta: int, opened_on: str | None) -> dict[str, str]:
    """A form's contribution: `opened_on` is its invitation's column (None: migration 0011's totals)."""
    frame = f"{source} = 'frame'"
    started = f"{status} IN ('in_progress', 'done')"
    totals = {"invited": f"CASE WHEN {frame} THEN {delta} ELSE 0 END",
              "started": f"CASE WHEN {frame} AND {started} THEN {delta} ELSE 0 END",
              "completed": f"CASE WHEN {frame} AND {status} = 'done' THEN {delta} ELSE 0 END",
              "walk_in": f"CASE WHEN {source} <> 'frame' AND {status} = 'done' THEN {delta} ELSE 0 END"}
    if opened_on is not None:  # opened the link (the landing page), or started without it (a resume)
        totals["opened"] = (f"CASE WHEN {frame} AND ({opened_on} IS NOT NULL OR {started}) "
                            f"THEN {delta} ELSE 0 END")
    return totals


def _unit_forms_of(row: str, delta: int, opened: bool = True) -> str:
    """A unit's totals for every unit of an invitation (`row` is OLD or NEW of invitations)."""
    opened_on = f"{row}.opened_on" if opened else None
    return _unit_bump(_form_totals(f"{row}.source", "iu.status", delta, opened_on), f"{row}.wave_id",
                      "iu.unit_id", f"FROM invitation_units iu JOIN waves w ON w.id = {row}.wave_id "
                      f"WHERE iu.invitation_id = {row}.id", opened)


def _unit_form(row: str, delta: int, opened: bool = True) -> str:
    """A unit's totals for one invitation unit (`row` is OLD or NEW of invitation_units)."""
    return _unit_bump(_form_totals("i.source", f"{row}.status", delta, "i.opened_on" if opened else None),
                      "i.wave_id", f"{row}.unit_id",
                      f"FROM invitations i JOIN waves w ON w.id = i.wave_id WHERE i.id = {row}.invitation_id",
                      opened)


def _unit_response(row: str, delta: int, opened: bool = True) -> str:
    return _unit_bump({"released": str(delta)}, f"{row}.wave_id", f"{row}.unit_id",
                      f"FROM waves w WHERE w.id = {row}.wave_id AND {row}.status = 'complete'", opened)


def _unit_target(row: str, sign: str, opened: bool = True) -> str:
    return _unit_bump({"target": f"{sign}{row}.sample_size"}, f"{row}.wave_id", f"{row}.unit_id",
                      f"FROM waves w WHERE w.id = {row}.wave_id AND {row}.unit_id IS NOT NULL", opened)


def _day(row: str, delta: int) -> str:
    return _bump("response_day_counts", "wave_id, submitted_on, mode",
                 f"{row}.wave_id, {row}.submitted_on, {row}.mode", delta,
                 f"FROM waves w WHERE w.id = {row}.wave_id AND {row}.status = 'complete'")


# Migration 0011's triggers, beside (not instead of) those of 0006; 0017 rebuilt them counting `opened`.
def _unit_sqlite_triggers(opened: bool) -> list[tuple[str, str, list[str]]]:
    o = opened
    return [
        ("unit_progress_invitation_move", "AFTER UPDATE ON invitations",
         [_unit_forms_of("OLD", -1, o), _unit_forms_of("NEW", 1, o)]),
        ("unit_progress_invitation_delete", "BEFORE DELETE ON invitations", [_unit_forms_of("OLD", -1, o)]),
        ("unit_progress_unit_insert", "AFTER INSERT ON invitation_units", [_unit_form("NEW", 1, o)]),
        ("unit_progress_unit_update", "AFTER UPDATE ON invitation_units",
         [_unit_form("OLD", -1, o), _unit_form("NEW", 1, o)]),
        ("unit_progress_unit_delete", "AFTER DELETE ON invitation_units", [_unit_form("OLD", -1, o)]),
        ("unit_progress_response_insert", "AFTER INSERT ON responses",
         [_unit_response("NEW", 1, o), _day("NEW", 1)]),
        ("unit_progress_response_update", "AFTER UPDATE ON responses",
         [_unit_response("OLD", -1, o), _day("OLD", -1), _unit_response("NEW", 1, o), _day("NEW", 1)]),
        ("unit_progress_response_delete", "AFTER DELETE ON responses",
         [_unit_response("OLD", -1, o), _day("OLD", -1)]),
        ("unit_progress_stratum_insert", "AFTER INSERT ON strata", [_unit_target("NEW", "", o)]),
        ("unit_progress_stratum_update", "AFTER UPDATE ON strata",
         [_unit_target("OLD", "-", o), _unit_target("NEW", "", o)]),
        ("unit_progress_stratum_delete", "AFTER DELETE ON strata", [_unit_target("OLD", "-", o)]),
    ]


UNIT_SQLITE_TRIGGERS = _unit_sqlite_triggers(True)
UNIT_FUNCTIONS = ("unit_progress_invitations", "unit_progress_units", "unit_progress_responses",
                  "unit_progress_strata")


def unit_sqlite_ddl(opened: bool = True) -> list[str]:
    """CREATE TRIGGER statements of unit_progress and response_day_counts for SQLite.

    `opened` False: migration 0011's triggers (before the `opened` column, migration 0017).
    """
    moved = "OLD.wave_id IS NOT NEW.wave_id OR OLD.source IS NOT NEW.source"
    if opened:
        moved += " OR OLD.opened_on IS NOT NEW.opened_on"
    return [f"CREATE TRIGGER {name} {when} FOR EACH ROW"
            f"{' WHEN ' + moved if name == 'unit_progress_invitation_move' else ''} "
            f"BEGIN {' '.join(s + ';' for s in body)} END"
            for name, when, body in _unit_sqlite_triggers(opened)]


def unit_postgresql_ddl(opened: bool = True) -> list[str]:
    """Trigger functions and triggers of unit_progress and response_day_counts for PostgreSQL."""
    o = opened
    keys = "wave_id, source, opened_on" if opened else "wave_id, source"
    moved = (f"({', '.join('OLD.' + k for k in keys.split(', '))}) IS DISTINCT FROM "
             f"({', '.join('NEW.' + k for k in keys.split(', '))})")
    invitations = (f"IF TG_OP = 'DELETE' THEN {_unit_forms_of('OLD', -1, o)}; END IF; "
                   f"IF TG_OP = 'UPDATE' AND {moved} THEN {_unit_forms_of('OLD', -1, o)}; "
                   f"{_unit_forms_of('NEW', 1, o)}; END IF;")
    units = _old_then_new(_unit_form("OLD", -1, o), _unit_form("NEW", 1, o))
    responses = _old_then_new(f"{_unit_response('OLD', -1, o)}; {_day('OLD', -1)}",
                              f"{_unit_response('NEW', 1, o)}; {_day('NEW', 1)}")
    strata = _old_then_new(_unit_target("OLD", "-", o), _unit_target("NEW", "", o))
    return [
        _plpgsql("unit_progress_invitations", invitations),
        _plpgsql("unit_progress_units", units),
        _plpgsql("unit_progress_responses", responses),
        _plpgsql("unit_progress_strata", strata),
        _pg_trigger("unit_progress_invitation_move", "AFTER UPDATE", "invitations",
                    "unit_progress_invitations"),
        _pg_trigger("unit_progress_invitation_delete", "BEFORE DELETE", "invitations",
                    "unit_progress_invitations"),
        _pg_trigger("unit_progress_unit_write", WRITES, "invitation_units", "unit_progress_units"),
        _pg_trigger("unit_progress_response_write", WRITES, "responses", "unit_progress_responses"),
        _pg_trigger("unit_progress_stratum_write", WRITES, "strata", "unit_progress_strata"),
    ]


def unit_drop_ddl(dialect: str) -> list[str]:
    """Statements removing migration 0011's triggers (and PostgreSQL's functions)."""
    if dialect == "postgresql":
        return [f"DROP FUNCTION IF EXISTS {name}() CASCADE" for name in UNIT_FUNCTIONS]
    return [f"DROP TRIGGER IF EXISTS {name}" for name, _, _ in UNIT_SQLITE_TRIGGERS]


def unit_backfill(opened: bool = True) -> list[str]:
    """Statements starting the unit totals and day counts from what is there (a recount).

    Migration 0011 ran them without `opened` (`opened` False); with it, a sampled form counts as
    opened when its invitation was opened or the form was started, as the triggers count it.
    """
    opened_column = "opened, " if opened else ""
    opened_sum = "SUM(opened), " if opened else ""
    started = "iu.status IN ('in_progress', 'done')"
    opened_form = (f"CASE WHEN i.source = 'frame' AND (i.opened_on IS NOT NULL OR {started}) "
                   "THEN 1 ELSE 0 END AS opened, " if opened else "")
    zero = "0, " if opened else ""
    return [
        f"INSERT INTO unit_progress (wave_id, unit_id, invited, {opened_column}started, completed, walk_in, "
        f"released, target) SELECT wave_id, unit_id, SUM(invited), {opened_sum}SUM(started), SUM(completed), "
        "SUM(walk_in), SUM(released), SUM(target) FROM ("
        "SELECT i.wave_id, iu.unit_id, "
        f"CASE WHEN i.source = 'frame' THEN 1 ELSE 0 END AS invited, {opened_form}"
        f"CASE WHEN i.source = 'frame' AND {started} THEN 1 ELSE 0 END AS started, "
        "CASE WHEN i.source = 'frame' AND iu.status = 'done' THEN 1 ELSE 0 END AS completed, "
        "CASE WHEN i.source <> 'frame' AND iu.status = 'done' THEN 1 ELSE 0 END AS walk_in, "
        "0 AS released, 0 AS target FROM invitation_units iu JOIN invitations i ON i.id = iu.invitation_id "
        f"UNION ALL SELECT wave_id, unit_id, 0, {zero}0, 0, 0, 1, 0 FROM responses WHERE status = 'complete' "
        f"UNION ALL SELECT wave_id, unit_id, 0, {zero}0, 0, 0, 0, sample_size FROM strata "
        "WHERE unit_id IS NOT NULL) AS counted GROUP BY wave_id, unit_id",
        "INSERT INTO response_day_counts (wave_id, submitted_on, mode, n) "
        "SELECT wave_id, submitted_on, mode, COUNT(*) FROM responses WHERE status = 'complete' "
        "GROUP BY wave_id, submitted_on, mode",
    ]


# The counts start from what is there (migration 0006 uses the same statements).
BACKFILL = [
    "INSERT INTO progress_counts (wave_id, kind, group_id, stratum_id, unit_id, source, status, n) "
    "SELECT wave_id, 'person', group_id, COALESCE(stratum_id, 0), 0, source, status, COUNT(*) "
    "FROM invitations GROUP BY wave_id, group_id, COALESCE(stratum_id, 0), source, status",
    "INSERT INTO progress_counts (wave_id, kind, group_id, stratum_id, unit_id, source, status, n) "
    "SELECT i.wave_id, 'form', i.group_id, COALESCE(i.stratum_id, 0), iu.unit_id, i.source, iu.status, "
    "COUNT(*) FROM invitation_units iu JOIN invitations i ON i.id = iu.invitation_id "
    "GROUP BY i.wave_id, i.group_id, COALESCE(i.stratum_id, 0), iu.unit_id, i.source, iu.status",
    "INSERT INTO response_counts (wave_id, group_id, stratum_id, unit_id, mode, submitted_on, n) "
    "SELECT wave_id, group_id, COALESCE(stratum_id, 0), unit_id, mode, submitted_on, COUNT(*) "
    "FROM responses WHERE status = 'complete' "
    "GROUP BY wave_id, group_id, COALESCE(stratum_id, 0), unit_id, mode, submitted_on",
]


def _create_triggers(target, connection, **_kw) -> None:
    """After create_all made the counted tables (tests, `setup` uses the migrations)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        statements = postgresql_ddl() + unit_postgresql_ddl()
    else:
        statements = sqlite_ddl() + unit_sqlite_ddl()
    for statement in drop_ddl(dialect) + unit_drop_ddl(dialect) + statements:
        connection.exec_driver_sql(statement)


# After the whole metadata is created: the triggers sit on invitations, invitation_units and responses.
event.listen(Base.metadata, "after_create", _create_triggers)
