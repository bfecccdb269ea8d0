"""Import administrative units from CSV: validate every row first, then write in one go."""

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from survey.sampling.models import UNIT_KINDS, Unit, UnitPredecessor

COLUMNS = ("code", "name", "name_en", "kind", "parent_code", "valid_from", "valid_to",
           "predecessors")
REQUIRED = ("code", "name", "kind", "valid_from")
Parent = aliased(Unit)


class ImportRefused(ValueError):
    """An import with problems; nothing was written. `errors` holds one line per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass
class ImportReport:
    """What an import did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    codes: list[str] = field(default_factory=list)


def _row_problems(line: int, row: dict) -> list[str]:
    """Check one row on its own: required fields, kind, dates."""
    problems = [f"line {line}: {name} is empty" for name in REQUIRED if not row.get(name)]
    if row.get("kind") and row["kind"] not in UNIT_KINDS:
        problems.append(f"line {line}: unknown kind {row['kind']!r} (one of {', '.join(UNIT_KINDS)})")
    for name in ("valid_from", "valid_to"):
        if row.get(name):
            try:
                row[name] = date.fromisoformat(row[name])
            except ValueError:
                problems.append(f"line {line}: {name} {row[name]!r} is not a date (yyyy-mm-dd)")
    if isinstance(row.get("valid_from"), date) and isinstance(row.get("valid_to"), date) \
            and row["valid_to"] < row["valid_from"]:
        problems.append(f"line {line}: valid_to is before valid_from")
    return problems


def read_rows(text: str) -> tuple[list[dict], list[str]]:
    """Parse CSV text into cleaned rows (NFC, stripped) and the problems found in them."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in REQUIRED + ("parent_code",) if c not in (reader.fieldnames or [])]
    if missing:
        return [], [f"header: missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}"]
    rows, problems, seen = [], [], {}
    for line, raw in enumerate(reader, start=2):
        row = {k: unicodedata.normalize("NFC", (v or "").strip()) for k, v in raw.items() if k}
        problems += _row_problems(line, row)
        if row.get("code") in seen:
            problems.append(f"line {line}: code {row['code']!r} repeats line {seen[row['code']]}")
        seen.setdefault(row.get("code"), line)
        row["line"] = line
        rows.append(row)
    return rows, problems


def _reference_problems(session: Session, rows: list[dict]) -> list[str]:
    """Check that parents and predecessors exist in the file or the database."""
    in_file = {row["code"] for row in rows}
    wanted = {row["parent_code"] for row in rows if row.get("parent_code")}
    wanted |= {code for row in rows for code in _codes(row.get("predecessors"))}
    known = in_file | set(session.scalars(select(Unit.code).where(Unit.code.in_(wanted - in_file))))
    problems = []
    for row in rows:
        if row.get("parent_code") and row["parent_code"] not in known:
            problems.append(f"line {row['line']}: parent_code {row['parent_code']!r} is unknown")
        if row.get("parent_code") == row["code"]:
            problems.append(f"line {row['line']}: a unit cannot be its own parent")
        for code in _codes(row.get("predecessors")):
            if code not in known or code == row["code"]:
                problems.append(f"line {row['line']}: predecessor {code!r} is unknown or itself")
    return problems


def _cycle_problems(session: Session, rows: list[dict]) -> list[str]:
    """Refuse parent links that would make a unit its own ancestor, with the file's and the database's."""
    parent_of = dict(session.execute(
        select(Unit.code, Parent.code).join(Parent, Parent.id == Unit.parent_id)).all())
    parent_of |= {row["code"]: row.get("parent_code") or None for row in rows}
    problems, reported = [], set()
    for row in rows:
        chain, code = [row["code"]], parent_of.get(row["code"])
        while code is not None and code not in chain:
            chain.append(code)
            code = parent_of.get(code)
        if code == row["code"] and len(chain) > 1 and not reported & set(chain):
            reported |= set(chain)
            problems.append(f"line {row['line']}: parent_code makes a cycle: "
                            f"{' → '.join([*chain, code])}")
    return problems


def _codes(text: str | None) -> list[str]:
    """Split a ;-separated list of unit codes."""
    return [c.strip() for c in (text or "").split(";") if c.strip()]


def import_units(session: Session, text: str) -> ImportReport:
    """Validate then add or update every unit of a CSV; raise ImportRefused, writing nothing."""
    rows, problems = read_rows(text)
    if not problems:
        problems = _reference_problems(session, rows)
    if not problems:
        problems = _cycle_problems(session, rows)
    if problems:
        raise ImportRefused(problems)
    report = ImportReport()
    units = {u.code: u for u in session.scalars(select(Unit))}
    for row in rows:
        _upsert(units, row, report, session)
    session.flush()
    for row in rows:
        _set_links(session, units, row)
    session.flush()
    return report


def _upsert(units: dict, row: dict, report: ImportReport, session: Session) -> None:
    """Add a unit or update its attributes, counting which."""
    values = {"name": row["name"], "name_en": row.get("name_en") or None, "kind": row["kind"],
              "valid_from": row["valid_from"], "valid_to": row.get("valid_to") or None}
    unit = units.get(row["code"])
    if unit is None:
        unit = units[row["code"]] = Unit(code=row["code"], **values)
        session.add(unit)
        report.added += 1
    elif any(getattr(unit, k) != v for k, v in values.items()):
        for key, value in values.items():
            setattr(unit, key, value)
        report.updated += 1
    else:
        report.unchanged += 1
    report.codes.append(row["code"])


def _set_links(session: Session, units: dict, row: dict) -> None:
    """Set a unit's parent and predecessor list from its row."""
    unit = units[row["code"]]
    parent = units[row["parent_code"]] if row.get("parent_code") else None
    unit.parent_id = parent.id if parent else None
    wanted = {units[c].id for c in _codes(row.get("predecessors"))}
    current = set(session.scalars(
        select(UnitPredecessor.predecessor_id).where(UnitPredecessor.unit_id == unit.id)))
    for predecessor_id in wanted - current:
        session.add(UnitPredecessor(unit_id=unit.id, predecessor_id=predecessor_id))
    for predecessor_id in current - wanted:
        session.delete(session.get(UnitPredecessor, (unit.id, predecessor_id)))
