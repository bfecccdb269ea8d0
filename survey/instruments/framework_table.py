"""Criteria tables: a framework's tree or points as an XLSX table (the official appendix), both ways.

Columns (English or Vietnamese headers, any order, first row): ``code``/Mã, ``level``/Cấp
(optional), ``name``/Tên tiêu chí, ``name_en``/Tên tiếng Anh (optional), ``max_points``/Điểm tối
đa, ``method``/Phương pháp, ``scoring_rule``/Cách chấm, ``evidence``/Tài liệu kiểm chứng (one
document a line) and ``evidence_en``/Tài liệu kiểm chứng (tiếng Anh) (optional).

Nothing here parses framework files: a table is turned into a *candidate document* (the current
published document with the table's values put in), and that document goes through the one
validator, :func:`survey.definitions.frameworks.framework_problems` (schema, codes, points adding
up). Problems are reported per spreadsheet row; a table with any problem yields no candidate.

Modes: ``tree`` replaces the tree (rows give every node in order; nodes without a row are removed;
the declared structure counts follow the table); ``points`` changes only the numbers and names of
existing nodes (a row with an unknown code is a problem; nodes without a row keep their values).
An empty optional cell keeps the existing node's value. A ``scoring_rule`` cell holds a rule type
(``yes_no``) or the whole rule as a YAML flow mapping (``{type: ratio_bands, bands: [...]}``), as
the export writes it. Nodes the table changes get the ``status`` and ``source`` given with the
import (the appendix the numbers come from).
"""

import copy
import io
import re
from dataclasses import dataclass, field

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font

from survey.definitions import load
from survey.definitions.frameworks import build, framework_problems
from survey.instruments.xlsform_read import nfc

COLUMNS = (
    "code",
    "level",
    "name",
    "name_en",
    "max_points",
    "method",
    "scoring_rule",
    "evidence",
    "evidence_en",
)
HEADERS_VI = {
    "code": "Mã",
    "level": "Cấp",
    "name": "Tên tiêu chí",
    "name_en": "Tên tiếng Anh",
    "max_points": "Điểm tối đa",
    "method": "Phương pháp",
    "scoring_rule": "Cách chấm",
    "evidence": "Tài liệu kiểm chứng",
    "evidence_en": "Tài liệu kiểm chứng (tiếng Anh)",
}
ALIASES = (
    {nfc(v).lower(): k for k, v in HEADERS_VI.items()}
    | {k: k for k in COLUMNS}
    | {
        "mã số": "code",
        "tên": "name",
        "name_vi": "name",
        "tên tiêu chí (tiếng anh)": "name_en",
        "điểm": "max_points",
        "max points": "max_points",
        "points": "max_points",
        "scoring rule": "scoring_rule",
        "evidence required": "evidence",
        "tài liệu": "evidence",
    }
)
MODES = ("tree", "points")
CHANGED_KEYS = ("name", "max_points", "method", "scoring_rule", "evidence")
TEXT_FIELDS = {"name": ("name", "vi"), "name_en": ("name", "en")}


# Problem kind -> its English wording (the CLI's, and the key the pages translate by).
MESSAGES = {
    "not_workbook": "not a readable .xlsx workbook ({error})",
    "empty_sheet": "the sheet is empty",
    "missing_columns": "missing column(s): {columns}",
    "bad_points": "max points {value} is not a number ≥ 0",
    "bad_rule": "scoring rule is neither a rule type nor a {{type: ...}} mapping",
    "no_code": "no code",
    "duplicate": "duplicate code {code} (also row {other})",
    "unknown_node": "unknown node {code}",
    "needs_name": "new node {code} needs a name",
    "unknown_parent": "unknown parent {parent} of {code} (no row above it)",
    "no_level": "no level for {code}: fill the level column",
    "unknown_mode": "unknown mode {mode} (tree or points)",
    "no_version": "a new version string is needed",
    "same_version": "version {version} is the published one: give the new table a new version",
    "no_source": "say where the numbers come from (source: the appendix, its number and date)",
    "no_rows": "the table has no rows",
    "no_framework": "no published framework {code}",
    "validator": "{line}",
}


@dataclass(frozen=True)
class Problem:
    """One problem of a table: the spreadsheet row (None: the whole table), its kind and details."""

    row: int | None
    message: str
    kind: str = "validator"
    params: dict = field(default_factory=dict, compare=False, hash=False)

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}" if self.row else self.message


def problem(row: int | None, kind: str, **params) -> Problem:
    """A problem of a known kind, worded in English from MESSAGES."""
    return Problem(row, MESSAGES[kind].format(**params), kind, params)


@dataclass
class Change:
    """One difference between the published version and the candidate."""

    kind: str  # added, removed, changed
    code: str
    what: str = ""
    old: str = ""
    new: str = ""


@dataclass
class Outcome:
    """A read table: its problems, or the candidate document and its differences from the base."""

    problems: list[Problem] = field(default_factory=list)
    document: dict | None = None
    changes: list[Change] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether the table can be applied."""
        return not self.problems and self.document is not None


@dataclass
class _Row:
    number: int
    cells: dict


def _header(value) -> str | None:
    """The column a header names, or None."""
    return ALIASES.get(nfc(str(value)).lower()) if value not in (None, "") else None


def read_rows(data: bytes) -> tuple[list[_Row], list[Problem]]:
    """The non-empty rows of the first sheet, by column name, with their spreadsheet row numbers."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a file that is no workbook
        return [], [problem(None, "not_workbook", error=type(exc).__name__)]
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    book.close()
    if not rows:
        return [], [problem(None, "empty_sheet")]
    columns = [_header(v) for v in rows[0]]
    missing = [HEADERS_VI[c] for c in ("code", "name", "max_points") if c not in columns]
    if missing:
        return [], [problem(1, "missing_columns", columns=", ".join(missing))]
    found = []
    for number, values in enumerate(rows[1:], start=2):
        cells = {c: nfc(v) for c, v in zip(columns, values, strict=False) if c and v not in (None, "")}
        if cells:
            found.append(_Row(number, cells))
    return found, []


def _number(value) -> float | int | None:
    """A number from a cell (a decimal comma is accepted); None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    text = str(value).strip().replace(" ", "")
    if re.fullmatch(r"-?\d+([.,]\d+)?", text):
        number = float(text.replace(",", "."))
        return int(number) if number.is_integer() else number
    return None


def _rule(value, current: dict | None):
    """A scoring rule from its cell: a type name or a flow mapping; raises ValueError."""
    text = str(value).strip()
    if re.fullmatch(r"[a-z_]+", text):
        return current if current and current.get("type") == text else {"type": text}
    try:
        rule = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ValueError("scoring rule is neither a rule type nor a {type: ...} mapping") from None
    if not isinstance(rule, dict) or "type" not in rule:
        raise ValueError("scoring rule is neither a rule type nor a {type: ...} mapping")
    return load.normalise(rule)


def _nodes_by_code(document: dict) -> dict[str, tuple[dict, str | None, int]]:
    """Code -> (node mapping, parent code, depth) of a document."""
    out = {}

    def walk(node, parent, depth):
        out[str(node["code"])] = (node, parent, depth)
        for child in node.get("children") or []:
            walk(child, str(node["code"]), depth + 1)

    for root in document.get("nodes") or []:
        walk(root, None, 1)
    return out


def _parent_code(code: str) -> str | None:
    """The code with its last dotted part removed, or None."""
    return code.rsplit(".", 1)[0] if "." in code else None


def _apply(node: dict, cells: dict, row: int, current: dict | None, problems: list[Problem]) -> bool:
    """Put a row's values into a node mapping; return whether anything changed."""
    before = copy.deepcopy(node)
    for column, (key, lang) in TEXT_FIELDS.items():
        if column in cells:
            node.setdefault(key, {})[lang] = str(cells[column])
    if "max_points" in cells:
        number = _number(cells["max_points"])
        if number is None or number < 0:
            problems.append(problem(row, "bad_points", value=repr(cells["max_points"])))
        else:
            node["max_points"] = number
    if "method" in cells:
        node["method"] = str(cells["method"]).strip()
    if "scoring_rule" in cells:
        try:
            node["scoring_rule"] = _rule(cells["scoring_rule"], (current or {}).get("scoring_rule"))
        except ValueError:
            problems.append(problem(row, "bad_rule"))
    if "evidence" in cells:
        vi = [line.strip() for line in str(cells["evidence"]).splitlines() if line.strip()]
        en = [line.strip() for line in str(cells.get("evidence_en", "")).splitlines() if line.strip()]
        node["evidence"] = [{"vi": v, **({"en": en[i]} if i < len(en) else {})} for i, v in enumerate(vi)]
    if "level" in cells:
        node["level"] = str(cells["level"]).strip()
    return node != before


def candidate(
    base: dict, rows: list[_Row], mode: str, version: str, status: str, source: str
) -> tuple[dict | None, list[Problem]]:
    """The base document with the table put in, or the problems (row by row) that stop it."""
    problems: list[Problem] = []
    current = _nodes_by_code(base)
    levels = {depth: node["level"] for node, _, depth in current.values()}
    root_prefixes = {_parent_code(c) for c, (_, parent, _) in current.items() if parent is None}
    seen: dict[str, int] = {}
    for row in rows:
        code = str(row.cells.get("code", "")).strip()
        if not code:
            problems.append(problem(row.number, "no_code"))
        elif code in seen:
            problems.append(problem(row.number, "duplicate", code=code, other=seen[code]))
        else:
            seen[code] = row.number
    if problems:
        return None, problems
    document = copy.deepcopy(base)
    document["version"] = version
    touched = set()
    if mode == "points":
        for row in rows:
            code = str(row.cells["code"]).strip()
            if code not in current:
                problems.append(problem(row.number, "unknown_node", code=code))
                continue
            node = _nodes_by_code(document)[code][0]
            if _apply(node, row.cells, row.number, current[code][0], problems):
                touched.add(code)
    else:
        built: dict[str, dict] = {}
        document["nodes"] = []
        for row in rows:
            code = str(row.cells["code"]).strip()
            old = current.get(code)
            node = (
                {k: copy.deepcopy(v) for k, v in old[0].items() if k != "children"} if old else {"code": code}
            )
            parent = _parent_code(code)
            if old is None:
                if "name" not in row.cells:
                    problems.append(problem(row.number, "needs_name", code=code))
                node["name"] = {}
            if _apply(node, row.cells, row.number, old[0] if old else None, problems) or old is None:
                touched.add(code)
            if parent in built:
                built[parent].setdefault("children", []).append(node)
            elif parent in root_prefixes:
                document["nodes"].append(node)
            else:
                problems.append(problem(row.number, "unknown_parent", parent=parent, code=code))
                continue
            built[code] = node
        by_code = _nodes_by_code(document)
        for code, (node, _, depth) in by_code.items():
            if "level" not in node:
                if depth in levels:
                    node["level"] = levels[depth]
                else:
                    problems.append(problem(seen[code], "no_level", code=code))
        counts: dict[str, int] = {}
        for node, _, _ in by_code.values():
            counts[node.get("level")] = counts.get(node.get("level"), 0) + 1
        for entry in document.get("structure") or []:
            if entry["count"] != counts.get(entry["level"], 0):
                entry.update(count=counts.get(entry["level"], 0), status=status, source=source)
    for code, (node, _, _) in _nodes_by_code(document).items():
        if code in touched:
            node["status"], node["source"] = status, source
    if problems:
        return None, problems
    document = load.normalise(document)
    rows_of = {code: number for code, number in seen.items()}
    for line in framework_problems(document):
        problems.append(_locate(line, rows_of))
    return (None, problems) if problems else (document, [])


def _locate(line: str, rows_of: dict[str, int]) -> Problem:
    """A validator line `node CODE: ...` as a problem of the row holding that code."""
    match = re.match(r"node ([^:]+): (.*)", line)
    if match and match.group(1) in rows_of:
        return Problem(rows_of[match.group(1)], f"{match.group(1)}: {match.group(2)}")
    return Problem(None, line)


def _short(value) -> str:
    """A value as one short line for the difference table."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6).strip()
    else:
        text = str(value)
    return text if len(text) <= 160 else text[:157] + "..."


def differences(old: dict, new: dict) -> list[Change]:
    """Added, removed and changed nodes (name, points, method, rule, evidence) and structure counts."""
    before, after = _nodes_by_code(old), _nodes_by_code(new)
    changes = [
        Change("added", c, "", "", f"{_short(n['name'].get('vi'))} ({_short(n.get('max_points'))})")
        for c, (n, _, _) in after.items()
        if c not in before
    ]
    changes += [
        Change("removed", c, "", f"{_short(n['name'].get('vi'))} ({_short(n.get('max_points'))})", "")
        for c, (n, _, _) in before.items()
        if c not in after
    ]
    for code, (node, parent, _) in after.items():
        if code not in before:
            continue
        was, was_parent, _ = before[code]
        for key in CHANGED_KEYS:
            if load.normalise({"v": was.get(key)}) != load.normalise({"v": node.get(key)}):
                changes.append(Change("changed", code, key, _short(was.get(key)), _short(node.get(key))))
        if was_parent != parent:
            changes.append(Change("changed", code, "parent", _short(was_parent), _short(parent)))
    old_counts = {e["level"]: e["count"] for e in old.get("structure") or []}
    for entry in new.get("structure") or []:
        if old_counts.get(entry["level"]) != entry["count"]:
            changes.append(
                Change(
                    "changed",
                    "structure",
                    entry["level"],
                    _short(old_counts.get(entry["level"])),
                    _short(entry["count"]),
                )
            )
    return changes


def read_table(
    data: bytes, base: dict, mode: str, version: str, status: str = "verified", source: str = ""
) -> Outcome:
    """Read a criteria table against the published base document: problems, or candidate and changes."""
    if mode not in MODES:
        return Outcome([problem(None, "unknown_mode", mode=repr(mode))])
    if not version.strip():
        return Outcome([problem(None, "no_version")])
    if version.strip() == base.get("version"):
        return Outcome(
            [problem(None, "same_version", version=version)]
        )
    if not source.strip():
        return Outcome(
            [problem(None, "no_source")]
        )
    rows, problems = read_rows(data)
    if problems:
        return Outcome(problems)
    if not rows:
        return Outcome([problem(None, "no_rows")])
    document, problems = candidate(base, rows, mode, version.strip(), status, source.strip())
    if problems:
        return Outcome(sorted(problems, key=lambda p: (p.row or 0, p.message)))
    return Outcome([], document, differences(base, document))


def framework_of(outcome: Outcome):
    """The frozen Framework of an accepted table."""
    return build(outcome.document)


def to_xlsx(document: dict) -> bytes:
    """A framework version as the criteria table (the layout :func:`read_table` reads)."""
    book = Workbook()
    sheet = book.active
    sheet.title = str(document["id"])[:31]
    sheet.append([HEADERS_VI[c] for c in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for node, _, _ in _nodes_by_code(document).values():
        rule = node.get("scoring_rule")
        evidence = node.get("evidence") or []
        sheet.append(
            [
                node["code"],
                node.get("level"),
                node["name"].get("vi"),
                node["name"].get("en"),
                node.get("max_points"),
                node.get("method"),
                _short_rule(rule) if rule else None,
                "\n".join(e["vi"] for e in evidence) or None,
                "\n".join(e.get("en", "") for e in evidence).strip() or None,
            ]
        )
    for letter, width in zip("ABCDEFGHI", (14, 14, 50, 40, 10, 14, 60, 50, 40), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if cell.data_type == "f":  # a text starting with "=" stays text: never run as a formula
                cell.data_type = "s"
    sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _short_rule(rule: dict) -> str:
    """A scoring rule as one YAML flow mapping (a bare type when it has no parameters)."""
    if set(rule) == {"type"}:
        return rule["type"]
    return yaml.safe_dump(
        rule, default_flow_style=True, allow_unicode=True, width=10**6, sort_keys=False
    ).strip()
