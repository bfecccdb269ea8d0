"""Import an XLSForm into our questionnaire format, reporting every row it cannot represent.

Rows of types we cannot represent are listed with their row number: the import refuses unless the
user accepts a partial import; a result our loader rejects is never accepted.
"""

import re
from dataclasses import dataclass, field

from survey.definitions import load
from survey.definitions.model import Questionnaire
from survey.instruments.xlsform_read import Line, Row, read
from survey.instruments.xlsform_sections import Builder, number, tree

OUR_SETTINGS = {"form_title", "form_id", "version", "default_language", "title_en", "description_vi",
                "description_en", "groups", "framework", "minutes", "scales", "kind"}
SLUG = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


@dataclass
class ImportReport:
    """What an import found: report lines, the document built and, when valid, the questionnaire."""

    lines: list[Line] = field(default_factory=list)
    document: dict | None = None
    definition: Questionnaire | None = None

    def of_kind(self, kind: str) -> list[Line]:
        """Return the lines of one kind."""
        return [line for line in self.lines if line.kind == kind]

    def accepted(self, accept_partial: bool = False) -> bool:
        """Tell whether the result may be stored: valid, and complete unless partial is accepted."""
        if self.definition is None or self.of_kind("invalid"):
            return False
        return accept_partial or not self.of_kind("unsupported")


def import_xlsform(source, fallback_id: str = "imported") -> ImportReport:
    """Read an .xlsx (path or bytes) and build our questionnaire, with the report."""
    report = ImportReport()
    sheets = read(source, report.lines)
    if sheets is None:
        return report
    builder = Builder(report.lines, sheets["choices"])
    sections = builder.sections(tree(sheets["survey"], report.lines))
    document = _settings(sheets["settings"], report.lines, fallback_id)
    scales = builder.finish(sections, document.pop("_scales"))
    if scales:
        document["scales"] = scales
    document["sections"] = sections
    builder.check_expressions(sections)
    report.document = document
    problems = load.problems(document) if sections else ["questionnaire: no items to import"]
    report.lines += [Line("questionnaire", None, "invalid", p) for p in problems]
    if not problems:
        report.definition = load.from_document(document)
    return report


def _settings(rows: list[Row], lines: list[Line], fallback_id: str) -> dict:
    """Read the settings row: id, version, title and our extra columns."""
    row = rows[0] if rows else Row(2)
    form_id = str(row.get("form_id") or fallback_id)
    if not SLUG.match(form_id):
        slug = re.sub(r"[^a-z0-9_-]+", "-", form_id.lower()).strip("-_") or "imported"
        slug = slug if slug[0].isalpha() else f"q-{slug}"
        lines.append(Line("settings", row.number, "note", f"form_id {form_id!r} stored as {slug!r}"))
        form_id = slug[:64]
    if not row.get("version"):
        lines.append(Line("settings", row.number, "note", "no version; '1' is used"))
    title = {"vi": str(row.get("form_title") or form_id)}
    if row.get("title_en"):
        title["en"] = row.get("title_en")
    document = {"id": form_id, "version": str(row.get("version") or "1"), "title": title}
    description = {k: row.get(f"description_{k}") for k in ("vi", "en") if row.get(f"description_{k}")}
    if description:
        document["description"] = description if "vi" in description else {"vi": description["en"]}
    if row.get("minutes"):
        document["minutes"] = number(row.get("minutes"))
    if row.get("groups"):
        document["groups"] = str(row.get("groups")).split()
    for key in ("framework", "kind"):
        if row.get(key):
            document[key] = row.get(key)
    for key in sorted(set(row.cells) - OUR_SETTINGS):
        lines.append(Line("settings", row.number, "note", f"setting {key!r} is not kept"))
    document["_scales"] = str(row.get("scales")).split() if row.get("scales") else None
    return document
