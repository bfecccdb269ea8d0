"""Import submissions collected with ODK Collect / KoboCollect (CSV export) as complete responses.

Every row is read page by page with the answering engine (skip logic as online) and checked before
anything is written; then all rows are added in one flush, or none. Only the answers and the day of
the interview are kept: device ids, instance ids, submission times and other metadata never are.
"""

import csv
import io
import random
import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.definitions import engine
from survey.definitions.model import Questionnaire
from survey.instruments.service import definition_of
from survey.responses.service import add_complete
from survey.sampling import service as waves
from survey.sampling.models import RespondentGroup, Stratum, Unit, Wave, WaveGroup, WaveUnit

# Columns giving the interview's day, best first; only the date part is ever read.
DAY_COLUMNS = ("end", "today", "start", "SubmissionDate", "_submission_time")
MESSAGES = {
    "required": "an answer is required", "unknown_option": "unknown option code {value!r}",
    "too_few": "choose at least {min}", "too_many": "choose at most {max}",
    "not_number": "not a number", "not_whole": "not a whole number",
    "below_min": "below the minimum {min}", "above_max": "above the maximum {max}",
    "too_long": "longer than {max} characters", "not_date": "not a date (yyyy-mm-dd)",
    "date_before": "before {min}", "date_after": "after {max}", "constraint": "breaks its constraint",
    "control_character": "holds a control character ({char})",
}


class SubmissionsError(ValueError):
    """Options that cannot be used (unknown wave or group, no questionnaire assigned)."""


@dataclass
class SubmissionsReport:
    """Problems by CSV row (row 1 is the header) and how many responses were added."""

    errors: list[str] = field(default_factory=list)
    added: int = 0


@dataclass
class _Target:
    """The design codes shared by every imported row."""

    wave: Wave
    group: RespondentGroup
    assignment: WaveGroup
    definition: Questionnaire


def _target(session: Session, wave_code: str, group_code: str) -> _Target:
    """Find the wave, the group and the questionnaire version the group answers in the wave."""
    wave = session.scalar(select(Wave).filter_by(code=wave_code))
    group = session.scalar(select(RespondentGroup).filter_by(code=group_code))
    if wave is None or group is None:
        raise SubmissionsError(f"unknown {'wave ' + wave_code if wave is None else 'group ' + group_code}")
    assigned = waves.assignment(session, wave.id, group.id)
    if assigned is None:
        raise SubmissionsError(f"group {group_code} has no questionnaire in wave {wave_code}")
    return _Target(wave, group, assigned, definition_of(assigned.questionnaire_version))


def column_items(headers: list[str], definition: Questionnaire) -> dict[str, str]:
    """Map CSV columns to item ids, whatever group path prefixes them (`grp/item`, `grp-item`)."""
    known = {item.id for item in definition.answerable_items()}
    found = {}
    for header in headers:
        last = re.split(r"[/-]", header.strip())[-1]
        if last in known and last not in found.values():
            found[header] = last
    return found


def _day(row: dict) -> date:
    """Return the interview's day from the first metadata column that holds a date."""
    for column in DAY_COLUMNS:
        match = re.match(r"\s*(\d{4}-\d{2}-\d{2})", row.get(column) or "")
        if match:
            return date.fromisoformat(match.group(1))
    return date.today()


def read_answers(definition: Questionnaire, raw: dict) -> tuple[dict, list[str]]:
    """Read one submission page by page as the online form does; return answers and problems."""
    answers, problems = {}, []
    for section in definition.sections:
        if not engine.section_visible(section, answers):
            continue
        page = engine.read_page(section, raw, answers)
        answers.update({k: v for k, v in page.values.items() if v is not None})
        problems += [f"{item_id}: {MESSAGES.get(e.code, e.code).format(**e.params)}"
                     for item_id, e in page.errors.items()]
    return engine.prune(definition, answers), problems


def _raw(row: dict, columns: dict[str, str], definition: Questionnaire) -> dict:
    """Turn a CSV row into the raw input a page submits (select_multiple: space-separated codes)."""
    raw = {}
    for header, item_id in columns.items():
        value = (row.get(header) or "").strip()
        multiple = definition.item(item_id).type == "multiple_choice"
        raw[item_id] = value.split() if multiple else value
    return raw


def import_csv(session: Session, text: str, wave_code: str, group_code: str, unit_code: str | None = None,
               unit_column: str | None = None, stratum_column: str | None = None) -> SubmissionsReport:
    """Check every row, then add them all as complete face-to-face responses (flush, no commit)."""
    target = _target(session, wave_code, group_code)
    text = text.lstrip("\ufeff")
    first = text.partition("\n")[0]
    # Kobo's legacy exports separate with semicolons; ODK Central's with commas.
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    headers = reader.fieldnames or []
    report = SubmissionsReport()
    for needed in filter(None, (unit_column, stratum_column)):
        if needed not in headers:
            report.errors.append(f"row 1: no column {needed!r}")
    columns = column_items(headers, target.definition)
    if not columns:
        report.errors.append("row 1: no column matches an item of the questionnaire")
    if report.errors:
        return report
    units = {u.code: u for u in session.scalars(select(Unit))}
    in_wave = set(session.scalars(select(WaveUnit.unit_id).filter_by(wave_id=target.wave.id)))
    strata = {s.code: s for s in session.scalars(select(Stratum).filter_by(wave_id=target.wave.id))}
    ready = []
    for number, row in enumerate(reader, start=2):
        code = unit_code or (row.get(unit_column) or "").strip()
        unit = units.get(code)
        problems = []
        if unit is None or (in_wave and unit.id not in in_wave):
            problems.append(f"unknown unit code {code!r}" if unit is None
                            else f"unit {code} is not in the wave")
        stratum = None
        if stratum_column:
            stratum = strata.get((row.get(stratum_column) or "").strip())
            if stratum is None:
                problems.append(f"unknown stratum {row.get(stratum_column)!r}")
        answers, found = read_answers(target.definition, _raw(row, columns, target.definition))
        problems += found
        report.errors += [f"row {number}: {p}" for p in problems]
        ready.append((unit, stratum, answers, _day(row)))
    if report.errors or not ready:
        if not ready:
            report.errors.append("no rows to import")
        return report
    # Rows in random order: the insertion order (SQLite rowid, PostgreSQL ctid) then says nothing
    # about the order of the CSV, which follows the order of the interviews.
    random.SystemRandom().shuffle(ready)
    for unit, stratum, answers, day in ready:
        add_complete(session, target.assignment, target.definition, unit.id,
                     stratum.id if stratum else None, answers, day)
    report.added = len(ready)
    return report
