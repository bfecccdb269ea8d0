"""Turn XLSForm survey rows into our sections and items, reporting what cannot be represented.

Groups become sections; a nested group is flattened (its relevance joined to its rows') unless it
is a group of `likert` rows sharing one list, which becomes a Likert matrix. Lists used by several
items become scales.
"""

import copy
import re
from dataclasses import dataclass, field

from pyxform.aliases import yes_no

from survey.definitions import expressions
from survey.definitions.rules import TYPE_KEYS
from survey.instruments import xlsform
from survey.instruments.xlsform_read import Line, Row

SELECT = re.compile(r"^(select_one|select one|select1|select_multiple|select multiple|"
                    r"select all that apply)\s+(\S+)(\s+or_other)?$", re.IGNORECASE)
SIMPLE = {"integer": "integer", "int": "integer", "decimal": "decimal", "text": "text",
          "string": "text", "date": "date", "note": "note"}
SURVEY_COLUMNS = {"type", "name", "required", "relevant", "constraint", "appearance", "score_node",
                  "score_method", "min", "max", "max_length"}
CHOICE_COLUMNS = {"list_name", "name", "score", "excluded"}


@dataclass
class Node:
    """A survey row, or a group or repeat with the rows inside it."""

    row: Row
    kind: str  # "group", "repeat" or the row's type text
    children: list["Node"] = field(default_factory=list)


def tree(rows: list[Row], lines: list[Line]) -> list[Node]:
    """Nest the survey rows by their begin/end group and repeat rows."""
    root = Node(Row(0), "group")
    stack = [root]
    for row in rows:
        kind = re.sub(r"[\s_]+", " ", str(row.get("type", "")).lower()).strip()
        if kind in ("begin group", "begin repeat"):
            node = Node(row, kind.split()[1])
            stack[-1].children.append(node)
            stack.append(node)
        elif kind in ("end group", "end repeat"):
            if len(stack) == 1:
                lines.append(Line("survey", row.number, "invalid", f"'{row.get('type')}' without a begin"))
            else:
                stack.pop()
        elif not kind:
            lines.append(Line("survey", row.number, "unsupported", "row without a type; dropped"))
        else:
            stack[-1].children.append(Node(row, str(row.get("type"))))
    if len(stack) > 1:
        lines.append(Line("survey", stack[-1].row.number, "invalid", "group or repeat never ended"))
    return root.children


def _combine(first: str | None, second: str | None) -> str | None:
    """Join two conditions with `and` (a flattened group's relevance applies to its rows)."""
    if first and second:
        return f"({first}) and ({second})"
    return first or second


def number(text):
    """Read a number cell as int or float; keep anything else (ISO dates) as text."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return text
    return int(value) if re.fullmatch(r"-?\d+", str(text)) else value


class Builder:
    """Turns the survey tree and the choice lists into sections, remembering where things came from."""

    def __init__(self, lines: list[Line], choice_rows: list[Row]):
        self.lines = lines
        self.lists: dict[str, list[dict]] = {}
        self.uses: dict[str, list[dict]] = {}  # list name -> items drawing from it
        self.expressions: list[tuple[int, dict, str]] = []
        self.used_names: set[str] = set()
        for row in choice_rows:
            self._choice(row)

    def report(self, row: Row, kind: str, message: str, sheet: str = "survey") -> None:
        """Add a report line about a row."""
        self.lines.append(Line(sheet, row.number, kind, message))

    def _choice(self, row: Row) -> None:
        """Read one choices row into its list."""
        list_name, code = row.get("list_name"), row.get("name")
        if not list_name or code is None:
            self.report(row, "invalid", "choice without list_name or name", "choices")
            return
        option = {"code": str(code), "label": row.text("label") or {"vi": str(code)}}
        if "score" in row.cells:
            score = row.get("score")
            option["score"] = score if score == "satisfied" else number(score)
        if yes_no.get(row.get("excluded", "")):
            option["excluded"] = True
        self._extra_columns(row, CHOICE_COLUMNS, "choices")
        self.lists.setdefault(list_name, []).append(option)

    def _extra_columns(self, row: Row, known: set, sheet: str = "survey") -> None:
        """Report filled cells of columns we do not keep."""
        for column in sorted(set(row.cells) - known):
            self.report(row, "unsupported", f"column {column!r} is not supported; its value is dropped",
                        sheet)
        for column in sorted(set(row.texts) - {"label", "hint", "constraint_message"}):
            self.report(row, "unsupported", f"column {column!r} is not supported; its text is dropped",
                        sheet)

    def sections(self, nodes: list[Node]) -> list[dict]:
        """Turn top-level groups into sections; runs of rows outside any group get their own."""
        sections, loose = [], None
        for node in nodes:
            if node.kind == "group":
                loose = None
                section = {"id": node.row.get("name") or f"section_{len(sections) + 1}",
                           "title": self._label(node.row, fallback=node.row.get("name") or "Phần"),
                           "items": []}
                for key, value in (("description", node.row.text("hint")),
                                   ("relevant", node.row.get("relevant"))):
                    if value:
                        section[key] = value
                        if key == "relevant":
                            self.expressions.append((node.row.number, section, key))
                self._extra_columns(node.row, {"type", "name", "relevant", "appearance"})
                self._fill(section, node.children, None)
                sections.append(section)
            else:
                if loose is None:
                    loose = {"id": "general" if not sections else f"part_{len(sections) + 1}",
                             "title": {"vi": "Phần chung", "en": "General"}, "items": []}
                    sections.append(loose)
                self._fill(loose, [node], None)
        kept = [s for s in sections if s["items"]]
        for section in sections:
            if not section["items"]:
                self.lines.append(Line("survey", None, "note", f"section {section['id']!r} has nothing "
                                       "left to import; left out"))
        return kept

    def _fill(self, section: dict, nodes: list[Node], prefix: str | None) -> None:
        """Add items to a section; nested groups are flattened or become a Likert matrix."""
        for node in nodes:
            if node.kind == "repeat":
                self._drop(node, "repeats cannot be represented (one answer per item)")
            elif node.kind == "group" and self._is_matrix(node):
                section["items"].append(self._matrix(node, prefix))
            elif node.kind == "group":
                self.report(node.row, "note", f"nested group {node.row.get('name')!r} flattened into "
                            f"section {section['id']!r}; its relevance applies to each of its rows")
                self._fill(section, node.children, _combine(prefix, node.row.get("relevant")))
            else:
                item = self._item(node.row, prefix)
                if item is not None:
                    section["items"].append(item)

    def _drop(self, node: Node, reason: str) -> None:
        """Report a row and everything inside it as dropped."""
        self.report(node.row, "unsupported", f"{node.kind} {node.row.get('name')!r}: {reason}; dropped")
        for child in node.children:
            self._drop(child, "inside a dropped group or repeat")

    def _is_matrix(self, node: Node) -> bool:
        """Tell whether a nested group is a Likert matrix: select_one rows on one list, as likert."""
        kinds = [SELECT.match(str(c.row.get("type", ""))) for c in node.children]
        if not kinds or not all(k and k.group(1).lower() in ("select_one", "select one", "select1")
                                and not k.group(3) for k in kinds):
            return False
        likert = "likert" in " ".join(str(c.row.get("appearance", "")) for c in node.children)
        plain = not any(c.row.get("relevant") or c.row.get("constraint") for c in node.children)
        return len({k.group(2) for k in kinds}) == 1 and likert and plain

    def _label(self, row: Row, key: str = "label", fallback: str | None = None) -> dict | None:
        """Return a row's text, noting when Vietnamese is missing."""
        text = row.text(key)
        if text is not None and "vi" not in (row.texts.get(key) or {}):
            self.report(row, "note", f"no Vietnamese {key}; the English one is used")
        if text is None and fallback is not None:
            self.report(row, "unsupported", f"no {key}; {fallback!r} is used instead")
            text = {"vi": fallback}
        return text

    def _matrix(self, node: Node, prefix: str | None) -> dict:
        """Build a Likert matrix from a nested group of likert rows."""
        row = node.row
        list_name = SELECT.match(node.children[0].row.get("type")).group(2)
        matrix = {"id": row.get("name"), "type": "likert",
                  "label": self._label(row, fallback=row.get("name"))}
        extra = " ".join(a for a in str(row.get("appearance", "")).split()
                         if a not in ("field-list", "table-list"))
        matrix |= {k: v for k, v in (("hint", row.text("hint")), ("appearance", extra or None),
                                     ("relevant", _combine(prefix, row.get("relevant")))) if v}
        if any(yes_no.get(c.row.get("required", "")) for c in node.children):
            matrix["required"] = True
        if "relevant" in matrix:
            self.expressions.append((row.number, matrix, "relevant"))
        matrix["rows"] = []
        for child in node.children:
            name = child.row.get("name")
            entry = {"id": name, "label": self._label(child.row, fallback=name)}
            entry |= {k: v for k, v in (("hint", child.row.text("hint")),
                                        ("score", self._score(child.row))) if v}
            self._extra_columns(child.row, SURVEY_COLUMNS)
            matrix["rows"].append(entry)
        self.uses.setdefault(list_name, []).append(matrix)
        return matrix

    def _score(self, row: Row) -> dict | None:
        """Return the score link kept in our extra columns."""
        if row.get("score_node") and row.get("score_method"):
            return {"node": row.get("score_node"), "method": row.get("score_method")}
        return None

    def _item(self, row: Row, prefix: str | None) -> dict | None:
        """Build one item from a question row, or report the row and return None."""
        text, select = str(row.get("type")), SELECT.match(str(row.get("type")))
        kind = SIMPLE.get(text.lower())
        if select:
            kind = "single_choice" if select.group(1).lower() in ("select_one", "select one", "select1") \
                else "multiple_choice"
        if kind is None:
            self.report(row, "unsupported", f"type {text!r} cannot be represented; dropped")
            return None
        if not row.get("name"):
            self.report(row, "invalid", "question without a name")
            return None
        appearance = str(row.get("appearance") or "").split()
        if kind == "text" and "multiline" in appearance:
            kind, appearance = "long_text", [a for a in appearance if a != "multiline"]
        item = {"id": row.get("name"), "type": kind, "label": self._label(row, fallback=row.get("name"))}
        self._common(row, item, kind, prefix, appearance)
        if select:
            if select.group(3):
                self.report(row, "unsupported", "or_other is not supported: the 'other' choice and its "
                            "text are dropped")
            if select.group(2) not in self.lists:
                self.report(row, "invalid", f"choice list {select.group(2)!r} not found in choices")
                return None
            self.uses.setdefault(select.group(2), []).append(item)
        self._extra_columns(row, SURVEY_COLUMNS)
        return item

    def _common(self, row: Row, item: dict, kind: str, prefix: str | None, appearance: list) -> None:
        """Set the optional keys of an item from its row."""
        allowed = TYPE_KEYS[kind]
        for key in ("hint", "constraint_message"):
            if row.text(key):
                item[key] = self._label(row, key)
        if row.get("required") is not None:
            required = yes_no.get(row.get("required"))
            if required is None:
                self.report(row, "unsupported", f"conditional required {row.get('required')!r} is not "
                            "supported; the item is not required")
            elif required and kind == "note":
                self.report(row, "note", "a note cannot be required; ignored")
            elif required:
                item["required"] = True
        for key in ("min", "max", "max_length"):
            if row.get(key) is not None and key in allowed:
                item[key] = number(row.get(key))
        if appearance and "appearance" in allowed:
            item["appearance"] = " ".join(appearance)
        elif appearance:
            self.report(row, "note", f"appearance {' '.join(appearance)!r} ignored (presentation only)")
        score = self._score(row)
        if score and "score" in allowed:
            item["score"] = score
        bounds = xlsform.bounds_constraint(kind, item.get("min"), item.get("max"), item.get("max_length"))
        for key, value in (("relevant", _combine(prefix, row.get("relevant"))),
                           ("constraint", xlsform.split_constraint(bounds, row.get("constraint")))):
            if value:
                item[key] = value
                self.expressions.append((row.number, item, key))

    def finish(self, sections: list[dict], declared: list[str] | None) -> dict:
        """Attach options: a list used by several items (or declared a scale) becomes a scale."""
        scales = {}
        for name, options in self.lists.items():
            users = self.uses.get(name, [])
            scale = name in declared if declared is not None else len(users) > 1
            if scale:
                scales[name] = options
            elif not users:
                self.lines.append(Line("choices", None, "note", f"list {name!r} is not used; left out"))
            for item in users:
                item["scale" if scale else "options"] = name if scale else copy.deepcopy(options)
        return scales

    def check_expressions(self, sections: list[dict]) -> None:
        """Drop (and report) expressions our parser cannot read or that name items left out."""
        known = {i["id"] for s in sections for i in s["items"] if i["type"] not in ("note", "likert")}
        known |= {r["id"] for s in sections for i in s["items"] for r in i.get("rows", [])}
        for row_number, holder, key in self.expressions:
            try:
                missing = expressions.references(expressions.parse(holder[key])) - known
            except expressions.ExpressionError as exc:
                problem = f"cannot be read here ({exc})"
            else:
                problem = ""
                if missing:
                    problem = f"names items that are not imported: {', '.join(sorted(missing))}"
            if problem:
                self.lines.append(Line("survey", row_number, "unsupported",
                                       f"{key} {holder[key]!r} {problem}; dropped"))
                del holder[key]

