"""Import respondent groups from CSV (code, name, name_en, kind): validated first, then written."""

import csv
import io
import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.sampling.models import GROUP_KINDS, RespondentGroup
from survey.sampling.units import ImportRefused

CODE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def import_groups(session: Session, text: str) -> int:
    """Add or update respondent groups; return how many rows changed, raising ImportRefused."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    rows, problems = [], []
    for line, raw in enumerate(reader, start=2):
        row = {k: unicodedata.normalize("NFC", (v or "").strip()) for k, v in raw.items() if k}
        if not CODE.match(row.get("code", "")):
            problems.append(f"line {line}: code {row.get('code')!r} must be lower-case letters, "
                            "digits, _ or -")
        if not row.get("name"):
            problems.append(f"line {line}: name is empty")
        if row.get("kind") not in GROUP_KINDS:
            problems.append(f"line {line}: kind {row.get('kind')!r} is not one of "
                            f"{', '.join(GROUP_KINDS)}")
        rows.append(row)
    if problems:
        raise ImportRefused(problems)
    existing = {g.code: g for g in session.scalars(select(RespondentGroup))}
    changed = 0
    for row in rows:
        values = {"name": row["name"], "name_en": row.get("name_en") or None, "kind": row["kind"]}
        group = existing.get(row["code"])
        if group is None:
            session.add(RespondentGroup(code=row["code"], **values))
            changed += 1
        elif any(getattr(group, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(group, key, value)
            changed += 1
    session.flush()
    return changed
