"""Import an XLSForm into our questionnaire format, reporting every row it cannot represent.

The form is read and converted by pyxform first: what pyxform refuses is refused with its message.
Rows we cannot represent are listed with their sheet row number: the import refuses unless the user
accepts a partial import; a result our loader rejects is never accepted.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import lazy_gettext as _l

from survey.definitions import load
from survey.definitions.model import Questionnaire
from survey.instruments.xlsform_read import Line, read
from survey.instruments.xlsform_sections import Builder, identifier, number, tree
from survey.instruments.xlsform_texts import Languages

OUR_SETTINGS = {
    "title",
    "id_string",
    "version",
    "default_language",
    "title_en",
    "description_vi",
    "description_en",
    "groups",
    "framework",
    "minutes",
    "scales",
    "kind",
}
SLUG = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")


@dataclass
class ImportReport:
    """What an import found: report lines, the document built and, when valid, the questionnaire."""

    lines: list[Line] = field(default_factory=list)
    document: dict | None = None
    definition: Questionnaire | None = None
    file_type: str | None = None

    def of_kind(self, *kinds: str) -> list[Line]:
        """Return the lines of the given kinds."""
        return [line for line in self.lines if line.kind in kinds]

    def refused(self) -> bool:
        """Tell whether pyxform refused the form or our rules refuse the result."""
        return self.definition is None or bool(self.of_kind("refused", "invalid"))

    def accepted(self, accept_partial: bool = False) -> bool:
        """Tell whether the result may be stored: valid, and complete unless partial is accepted."""
        if self.refused():
            return False
        return accept_partial or not self.of_kind("unsupported")


def import_xlsform(source, fallback_id: str = "imported", filename: str | None = None) -> ImportReport:
    """Read an XLSForm (path, or bytes with its file name) and build our questionnaire, with the report."""
    if isinstance(source, str | Path):
        filename, source = filename or Path(source).name, Path(source).read_bytes()
    report = ImportReport()
    form = read(bytes(source), filename, report.lines)
    if form is None:
        return report
    report.file_type = form.file_type
    languages = Languages(form.settings.get("default_language"), report.lines)
    languages.scan(form.choices)
    languages.scan(form.survey)
    builder = Builder(report.lines, form.choices, languages)
    nodes = tree(form.survey, report.lines)
    builder.name_items(nodes)
    sections = builder.sections(nodes)
    document = _settings(form.settings, report.lines, fallback_id)
    scales = builder.finish(document.pop("_scales"))
    if scales:
        document["scales"] = scales
    if languages.listed():
        document["languages"] = languages.listed()
    languages.note_missing_vietnamese()
    document["sections"] = sections
    builder.check_expressions(sections)
    report.document = document
    problems = load.problems(document) if sections else ["questionnaire: no items to import"]
    report.lines += [Line("questionnaire", None, "invalid", p) for p in problems]
    if not problems:
        report.definition = load.from_document(document)
    return report


def _settings(settings: dict, lines: list[Line], fallback_id: str) -> dict:
    """Read the settings row: id, version (kept as given when ours must differ), title, our columns."""
    form_id = str(settings.get("id_string") or fallback_id)
    if not SLUG.match(form_id):
        slug = re.sub(r"[^a-z0-9_-]+", "-", identifier(form_id).lower()).strip("-_") or "imported"
        slug = slug if slug[0].isalpha() else f"q-{slug}"
        lines.append(
            Line(
                "settings",
                2,
                "note",
                _l("form_id %(given)s được lưu là %(slug)s", given=repr(form_id), slug=repr(slug[:64])),
            )
        )
        form_id = slug[:64]
    given = str(settings.get("version") or "").strip()
    version = re.sub(r"[^0-9A-Za-z._-]+", "-", given).strip("-._")[:32].rstrip("-._") or "1"
    if not given:
        lines.append(Line("settings", 2, "note", _l("không có version; dùng '1'")))
    elif version != given or not VERSION.match(version):
        lines.append(
            Line(
                "settings",
                2,
                "note",
                _l(
                    "version %(given)s được lưu là %(version)s (bản gốc được giữ để xuất lại)",
                    given=repr(given),
                    version=repr(version),
                ),
            )
        )
    title = {"vi": str(settings.get("title") or form_id)}
    if settings.get("title_en"):
        title["en"] = str(settings["title_en"])
    document = {"id": form_id, "version": version, "title": title}
    if given and version != given:
        document["source_version"] = given[:200]
    description = {
        k: settings.get(f"description_{k}") for k in ("vi", "en") if settings.get(f"description_{k}")
    }
    if description:
        document["description"] = description if "vi" in description else {"vi": description["en"]}
    if settings.get("minutes"):
        document["minutes"] = number(settings["minutes"])
    if settings.get("groups"):
        document["groups"] = str(settings["groups"]).split()
    for key in ("framework", "kind"):
        if settings.get(key):
            document[key] = settings[key]
    for key in sorted(set(settings) - OUR_SETTINGS):
        lines.append(Line("settings", 2, "note", _l("thiết lập %(key)s không được giữ", key=repr(key))))
    document["_scales"] = str(settings["scales"]).split() if settings.get("scales") else None
    return document
