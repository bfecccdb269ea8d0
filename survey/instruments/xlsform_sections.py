"""Turn XLSForm survey rows (as pyxform groups them) into our sections and items, reporting the rest.

Groups become sections; a nested group is flattened (its relevance joined to its rows') unless it
is a group of `likert` rows sharing one list, which becomes a Likert matrix. Lists used by several
items become scales. Types are read with pyxform's own patterns, so that legacy spellings
(`select one from`, `select_one list or_other`, `add integer prompt`) mean what they mean to pyxform.
`or_other` adds the choice "other" (as pyxform does) and marks it the item's "other, please specify"
option (`other_specify`), whose text is stored as `<name>_other`, the name pyxform gives it; the text
row our export writes for another code (extra column `other_specify`) is recognised and not doubled.
Every row left out is reported with its sheet row number and the reason.
"""

import contextlib
import copy
import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from pyxform import aliases, constants
from pyxform.question_type_dictionary import QUESTION_TYPE_DICT
from pyxform.xls2json import RE_BEGIN_CONTROL, RE_END_CONTROL, RE_OSM, RE_SELECT

from survey.definitions import expressions
from survey.definitions.rules import TYPE_KEYS
from survey.instruments import xlsform
from survey.instruments.xlsform_read import Line
from survey.instruments.xlsform_texts import Languages

SIMPLE = {"int": "integer", "decimal": "decimal", "date": "date"}
CALCULATE = {"calculate", "q calculate", "add calculate prompt"}
LOCATION = {"geopoint", "geoshape", "geotrace"}
MEDIA = {"binary"}
SURVEY_KEYS = {
    "type",
    "name",
    "label",
    "hint",
    "bind",
    "control",
    "score_node",
    "score_method",
    "min",
    "max",
    "max_length",
    "other_specify",
}
BIND_KEYS = {"relevant", "constraint", "required", "jr:constraintMsg"}
HARMLESS = {
    ("bind", "saveIncomplete"),
    ("bind", "jr:requiredMsg"),
    ("parameters",),
    ("instance",),
    ("control", "rows"),
    ("control", "autoplay"),
}
CHOICE_KEYS = {"list name", "name", "label", "score", "excluded", "__row"}
OTHER_LABEL = {"vi": "Khác", "en": "Other"}


@dataclass
class Row:
    """A survey row as pyxform groups it, with its sheet row number."""

    number: int
    data: dict

    def get(self, key: str, default=None):
        """Return a top-level cell."""
        return self.data.get(key, default)

    def bind(self, key: str):
        """Return a cell of the bind group (relevant, constraint, required, ...)."""
        return (self.data.get("bind") or {}).get(key)

    def appearance(self) -> list[str]:
        """Return the appearance words."""
        return str((self.data.get("control") or {}).get("appearance") or "").split()


@dataclass
class Node:
    """A survey row, or a group or repeat with the rows inside it."""

    row: Row
    kind: str  # "group", "repeat" or "question"
    children: list["Node"] = field(default_factory=list)


def tree(rows: list[dict], lines: list[Line]) -> list[Node]:
    """Nest the survey rows by their begin and end rows (pyxform has checked that they pair up)."""
    root = Node(Row(0, {}), "group")
    stack = [root]
    for number, data in enumerate(rows, start=2):
        if not data:
            continue
        row = Row(number, data)
        if aliases.yes_no.get(str(data.get("disabled", ""))):
            lines.append(Line("survey", number, "note", _l("dòng bị tắt (disabled); bỏ qua như pyxform")))
            continue
        kind = str(data.get("type") or "")
        begin, end = RE_BEGIN_CONTROL.search(kind), RE_END_CONTROL.search(kind)
        if begin:
            node = Node(row, "group" if aliases.control[begin.group("type")] == "group" else "repeat")
            stack[-1].children.append(node)
            stack.append(node)
        elif end:
            stack.pop()
        elif not kind:
            lines.append(Line("survey", number, "note", _l("dòng không có kiểu; bỏ qua như pyxform")))
        else:
            stack[-1].children.append(Node(row, "question"))
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


def _ascii(text: str) -> str:
    """Return text without diacritics (đ as d), for identifiers."""
    text = str(text).replace("đ", "d").replace("Đ", "D")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def identifier(name: str, pattern: str = r"[^A-Za-z0-9_]+", size: int = 64, first_letter: bool = True) -> str:
    """Make a name fit our ids: ASCII letters, digits and underscores, a letter first."""
    text = re.sub(pattern, "_", _ascii(name)).strip("_")
    if first_letter and not text[:1].isalpha():
        text = f"q_{text}".rstrip("_")
    return text[:size] or "c"


class Builder:
    """Turns the survey tree and the choice lists into sections, remembering where things came from."""

    def __init__(self, lines: list[Line], choice_rows: list[dict], languages: Languages):
        self.lines = lines
        self.languages = languages
        self.lists: dict[str, list[dict]] = {}
        self.list_rows: dict[str, list[int]] = {}
        self.uses: dict[str, list[dict]] = {}  # list name -> items drawing from it
        self.expressions: list[tuple[int, dict, str]] = []
        self.ids: dict[int, str] = {}  # sheet row -> our id
        self.renamed: dict[str, str] = {}  # XLSForm name -> our id, where they differ
        self.codes: dict[str, str] = {}  # choice name -> our code, where they differ
        self.calculations: dict[str, tuple[int, str]] = {}  # id -> (row, expression)
        self.bookkeeping: set[str] = set()  # KoboToolbox's own columns ($kuid, $autoname, ...)
        extra: dict[str, int] = {}
        for row in choice_rows:
            self._choice(row, extra)
        for column in sorted(extra):
            self.lines.append(
                Line(
                    "choices",
                    1,
                    "note",
                    _l("cột %(column)s của trang choices không được giữ", column=repr(column)),
                )
            )

    def report(self, row: Row, kind: str, message, sheet: str = "survey") -> None:
        """Add a report line about a row."""
        self.lines.append(Line(sheet, row.number, kind, message))

    def text(self, value) -> dict | None:
        """Return a text mapping {code: text} with Vietnamese filled in, or None."""
        return self.languages.text(value)

    def _choice(self, data: dict, extra: dict) -> None:
        """Read one choices row into its list; a name seen again in the list is kept once."""
        row = Row(data.get("__row", 0), data)
        if data.get("list name") in (None, "") or data.get("name") in (None, ""):
            return  # pyxform leaves such rows out of every list too
        list_name, name = str(data["list name"]), str(data["name"])
        options = self.lists.setdefault(list_name, [])
        code = self.codes.get(name) or identifier(name, r"[^A-Za-z0-9_-]+", 32, first_letter=False)
        if code != name:
            self.codes[name] = code
            self.report(
                row,
                "note",
                _l("mã lựa chọn %(name)s được lưu là %(code)s", name=repr(name), code=repr(code)),
                "choices",
            )
        if any(o["code"] == code for o in options):
            self.report(
                row,
                "note",
                _l(
                    "lựa chọn %(name)s đã có trong danh sách %(list)s (XLSForm cho "
                    "phép khi dùng choice_filter); giữ một lựa chọn",
                    name=repr(name),
                    list=repr(list_name),
                ),
                "choices",
            )
            return
        label = self.text(data.get("label"))
        if label is None:
            self.report(
                row, "note", _l("lựa chọn không có nhãn; dùng mã %(code)s", code=repr(code)), "choices"
            )
            label = {"vi": name}
        option = {"code": code, "label": label}
        if "score" in data:
            option["score"] = data["score"] if data["score"] == "satisfied" else number(data["score"])
        if aliases.yes_no.get(str(data.get("excluded", ""))):
            option["excluded"] = True
        if data.get("media"):
            self.report(
                row, "unsupported", _l("ảnh, âm thanh hoặc video của lựa chọn không được giữ"), "choices"
            )
        for column in set(data) - CHOICE_KEYS - {"media"}:
            extra.setdefault(column, row.number)
        options.append(option)
        self.list_rows.setdefault(list_name, []).append(row.number)

    def name_items(self, nodes: list[Node], taken: set | None = None) -> None:
        """Give every question and group an id that fits our rules, noting each renamed one."""
        taken = set() if taken is None else taken
        for node in nodes:
            name = str(node.row.get("name") or f"generated_note_name_{node.row.number}")
            wanted = identifier(name)
            found, suffix = wanted, 2
            while found.lower() in taken:
                found, suffix = f"{wanted[:60]}_{suffix}", suffix + 1
            taken.add(found.lower())
            self.ids[node.row.number] = found
            if found != name:
                self.renamed.setdefault(name, found)
                if node.row.get("name"):
                    self.report(
                        node.row,
                        "note",
                        _l("tên %(name)s được lưu là %(id)s", name=repr(name), id=repr(found)),
                    )
            self.name_items(node.children, taken)

    def rewrite(self, text: str | None) -> str | None:
        """Rewrite an expression with our ids and codes in place of renamed names and choices."""
        if not text:
            return text
        text = re.sub(r"\$\{([^}]+)\}", lambda m: "${" + self.renamed.get(m.group(1), m.group(1)) + "}", text)
        for name, code in self.codes.items():
            text = text.replace(f"'{name}'", f"'{code}'").replace(f'"{name}"', f'"{code}"')
        return text

    def sections(self, nodes: list[Node]) -> list[dict]:
        """Turn top-level groups into sections; runs of rows outside any group get their own."""
        sections, loose = [], None
        for node in nodes:
            if node.kind == "group":
                loose = None
                section = {
                    "id": self.ids[node.row.number],
                    "title": self._label(node.row, fallback=node.row.get("name")),
                    "items": [],
                }
                for key, value in (
                    ("description", self.text(node.row.get("hint"))),
                    ("relevant", self.rewrite(node.row.bind("relevant"))),
                ):
                    if value:
                        section[key] = value
                        if key == "relevant":
                            self.expressions.append((node.row.number, section, key))
                if "once" in node.row.appearance():
                    section["once"] = True  # written by our export (survey/instruments/xlsform.py)
                self._extra_columns(node.row)
                self._fill(section, node.children, None)
                sections.append(section)
            else:
                if loose is None:
                    loose = {
                        "id": self._free_id("general" if not sections else f"part_{len(sections) + 1}"),
                        "title": self.languages.fill({"vi": "Phần chung", "en": "General"}),
                        "items": [],
                    }
                    sections.append(loose)
                self._fill(loose, [node], None)
        kept = [s for s in sections if s["items"]]
        for column in sorted(self.bookkeeping):
            message = _l("cột %(column)s (KoboToolbox tự ghi) không cần ở đây; bỏ qua", column=repr(column))
            self.lines.append(Line("survey", 1, "note", message))
        for section in sections:
            if not section["items"]:
                self.lines.append(
                    Line(
                        "survey",
                        None,
                        "note",
                        _l("phần %(id)s không còn gì để nhập; bỏ", id=repr(section["id"])),
                    )
                )
        return kept

    def _free_id(self, wanted: str) -> str:
        """Return an id for a section of loose rows that no group of the form has."""
        taken = {found.lower() for found in self.ids.values()}
        found, suffix = wanted, 2
        while found in taken:
            found, suffix = f"{wanted}_{suffix}", suffix + 1
        return found

    def _fill(self, section: dict, nodes: list[Node], prefix: str | None) -> None:
        """Add items to a section; nested groups are flattened or become a Likert matrix."""
        for node in nodes:
            if node.kind == "repeat":
                self._drop(
                    node, _l("nhóm lặp (repeat) không biểu diễn được: mỗi câu hỏi chỉ có một câu trả lời")
                )
            elif node.kind == "group" and self._is_matrix(node):
                section["items"].append(self._matrix(node, prefix))
            elif node.kind == "group":
                self.report(
                    node.row,
                    "note",
                    _l(
                        "nhóm lồng %(name)s được gộp vào phần %(section)s; điều "
                        "kiện hiển thị của nhóm áp dụng cho từng dòng",
                        name=repr(node.row.get("name")),
                        section=repr(section["id"]),
                    ),
                )
                self._extra_columns(node.row)
                self._fill(section, node.children, _combine(prefix, self.rewrite(node.row.bind("relevant"))))
            elif not self._is_other_text(node.row, section["items"]):
                section["items"].extend(self._item(node.row, prefix))

    def _drop(self, node: Node, reason) -> None:
        """Report a row and everything inside it as dropped."""
        self.report(
            node.row,
            "unsupported",
            _l(
                "%(what)s %(name)s: %(reason)s; bỏ",
                what=node.row.get("type"),
                name=repr(node.row.get("name")),
                reason=reason,
            ),
        )
        for child in node.children:
            self._drop(child, _l("nằm trong nhóm lặp bị bỏ"))

    def _is_matrix(self, node: Node) -> bool:
        """Tell whether a nested group is a Likert matrix: select_one rows on one list, as likert."""
        kinds = [_select(c.row.get("type")) for c in node.children]
        if not kinds or not all(
            k and k[0] == constants.SELECT_ONE and not k[2] and k[1] in self.lists for k in kinds
        ):
            return False
        likert = any("likert" in c.row.appearance() for c in node.children)
        plain = not any(c.row.bind("relevant") or c.row.bind("constraint") for c in node.children)
        return len({k[1] for k in kinds}) == 1 and likert and plain

    def _label(self, row: Row, key: str = "label", fallback: str | None = None) -> dict | None:
        """Return a row's text; without one, the fallback (its name) with a note."""
        text = self.text(row.get(key) if key != "constraint_message" else row.bind("jr:constraintMsg"))
        if text is None and fallback is not None:
            self.report(row, "note", _l("không có nhãn; dùng %(name)s", name=repr(str(fallback))))
            text = {"vi": str(fallback)}
        return text

    def _matrix(self, node: Node, prefix: str | None) -> dict:
        """Build a Likert matrix from a nested group of likert rows."""
        row = node.row
        list_name = _select(node.children[0].row.get("type"))[1]
        matrix = {
            "id": self.ids[row.number],
            "type": "likert",
            "label": self._label(row, fallback=row.get("name")),
        }
        extra = " ".join(a for a in row.appearance() if a not in ("field-list", "table-list"))
        matrix |= {
            k: v
            for k, v in (
                ("hint", self.text(row.get("hint"))),
                ("appearance", extra or None),
                ("relevant", _combine(prefix, self.rewrite(row.bind("relevant")))),
            )
            if v
        }
        if any(aliases.yes_no.get(str(c.row.bind("required") or "")) for c in node.children):
            matrix["required"] = True
        if "relevant" in matrix:
            self.expressions.append((row.number, matrix, "relevant"))
        matrix["rows"] = []
        for child in node.children:
            entry = {
                "id": self.ids[child.row.number],
                "label": self._label(child.row, fallback=child.row.get("name")),
            }
            entry |= {
                k: v
                for k, v in (("hint", self.text(child.row.get("hint"))), ("score", self._score(child.row)))
                if v
            }
            self._extra_columns(child.row)
            matrix["rows"].append(entry)
        self.uses.setdefault(list_name, []).append(matrix)
        return matrix

    def _score(self, row: Row) -> dict | None:
        """Return the score link kept in our extra columns."""
        if row.get("score_node") and row.get("score_method"):
            return {"node": row.get("score_node"), "method": row.get("score_method")}
        return None

    def _extra_columns(self, row: Row) -> None:
        """Report filled cells of columns we do not keep (harmless ones as notes)."""
        found = [(key,) for key in row.data if key not in SURVEY_KEYS and not key.startswith("$")]
        self.bookkeeping |= {key for key in row.data if key.startswith("$")}
        found += [
            (group, key)
            for group in ("bind", "control")
            for key in (row.get(group) or {})
            if not (group == "bind" and key in BIND_KEYS) and not (group == "control" and key == "appearance")
        ]
        for column in sorted(found):
            name = "::".join(column)
            if column in HARMLESS or column[0] == "instance":
                self.report(row, "note", _l("cột %(column)s không áp dụng ở đây; bỏ qua", column=repr(name)))
            elif column == ("media",):
                self.report(row, "unsupported", _l("ảnh, âm thanh hoặc video kèm câu hỏi không được giữ"))
            elif column == ("choice_filter",):
                self.report(
                    row,
                    "unsupported",
                    _l(
                        "choice_filter %(filter)s không biểu diễn được: mọi lựa "
                        "chọn của danh sách đều được hiển thị",
                        filter=repr(row.get("choice_filter")),
                    ),
                )
            else:
                self.report(
                    row,
                    "unsupported",
                    _l("cột %(column)s không được hỗ trợ; giá trị của nó bị bỏ", column=repr(name)),
                )

    def _item(self, row: Row, prefix: str | None) -> list[dict]:
        """Build the items of one question row (two for or_other), or report the row and return none."""
        text = str(row.get("type"))
        select = _select(text)
        kind = self._kind(row, text, select)
        if kind is None:
            return []
        appearance = row.appearance()
        if kind == "text" and "multiline" in appearance:
            kind, appearance = "long_text", [a for a in appearance if a != "multiline"]
        item = {"id": self.ids[row.number], "type": kind, "label": self._label(row, fallback=row.get("name"))}
        self._common(row, item, kind, prefix, appearance)
        self._extra_columns(row)
        if not select:
            return [item]
        self.uses.setdefault(select[1], []).append(item)
        if row.get("other_specify") not in (None, ""):
            item["other_specify"] = str(row.get("other_specify"))
        if select[2]:
            self._or_other(row, item, select[1])
        return [item]

    def _kind(self, row: Row, text: str, select: tuple | None) -> str | None:
        """Return our item type for a row's type, or report why the row is left out."""
        if select:
            command, list_name, _other = select
            if command in (constants.SELECT_ONE, constants.SELECT_ALL_THAT_APPLY) and list_name in self.lists:
                return "single_choice" if command == constants.SELECT_ONE else "multiple_choice"
            reason = (
                _l("lựa chọn lấy từ tệp ngoài hoặc từ câu trả lời khác (external select)")
                if command != constants.RANK
                else _l("câu hỏi xếp hạng (rank)")
            )
        elif RE_OSM.search(text):
            reason = _l("bản đồ OpenStreetMap")
        else:
            spec = QUESTION_TYPE_DICT.get(text, {})
            bind, tag = spec.get("bind", {}), spec.get("control", {}).get("tag")
            if text in CALCULATE:
                self._calculation(row)
                return None
            if bind.get("jr:preload") or text in ("audit", "start-geopoint"):
                self.report(
                    row,
                    "note",
                    _l(
                        "siêu dữ liệu %(type)s không được thu thập (câu trả lời ẩn danh); bỏ", type=repr(text)
                    ),
                )
                return None
            if bind.get("readonly") and tag == "input":
                return "note"
            if bind.get("type") in SIMPLE and tag == "input":
                return SIMPLE[bind["type"]]
            if bind.get("type") == "string" and tag == "input":
                return "text"
            if bind.get("type") in LOCATION or text == "background-geopoint":
                reason = _l("vị trí GPS")
            elif bind.get("type") in MEDIA or text == "background-audio":
                reason = _l("ảnh, âm thanh, video hoặc tệp")
            elif text in ("xml-external", "csv-external"):
                reason = _l("dữ liệu ngoài")
            else:
                reason = _l("kiểu này không có ở đây")
        self.report(
            row,
            "unsupported",
            _l("kiểu %(type)s không biểu diễn được (%(reason)s); bỏ", type=repr(text), reason=reason),
        )
        return None

    def _calculation(self, row: Row) -> None:
        """Keep a calculate row that our expressions can evaluate, to be put in place where used."""
        formula = self.rewrite(row.bind("calculate"))
        try:
            node = expressions.parse(formula or "")
            if expressions.uses_self(node):
                raise expressions.ExpressionError("'.'")
        except expressions.ExpressionError as exc:
            self.report(
                row,
                "unsupported",
                _l(
                    "phép tính %(name)s: biểu thức %(formula)s không tính được ở đây (%(reason)s); bỏ",
                    name=repr(row.get("name")),
                    formula=repr(formula),
                    reason=str(exc),
                ),
            )
            return
        self.calculations[self.ids[row.number]] = (row.number, formula)

    def _or_other(self, row: Row, item: dict, list_name: str) -> None:
        """Add the choice "other" to the list (as pyxform does) and make it the item's option that opens
        a text answer, stored as `<name>_other` (pyxform's name for it)."""
        options = self.lists[list_name]
        if not any(o["code"] == "other" for o in options):
            options.append({"code": "other", "label": self.languages.fill(OTHER_LABEL)})
        item["other_specify"] = "other"
        self.report(
            row,
            "note",
            _l(
                "or_other: lựa chọn 'other' mở ô ghi rõ, lưu là %(name)s",
                name=repr(f"{item['id']}_other"),
            ),
        )

    def _is_other_text(self, row: Row, items: list[dict]) -> bool:
        """Tell whether a row is the text of the "other, specify" option of the item before it, as our
        export writes it (the item keeps it as a feature, so the row is not a question of its own; a
        round trip of our own export reports nothing)."""
        before = items[-1] if items else {}
        if "other_specify" not in before or str(row.get("type")) != "text":
            return False
        return self.ids[row.number] == f"{before['id']}_other"

    def _common(self, row: Row, item: dict, kind: str, prefix: str | None, appearance: list) -> None:
        """Set the optional keys of an item from its row."""
        allowed = TYPE_KEYS[kind]
        for key, value in (
            ("hint", self.text(row.get("hint"))),
            ("constraint_message", self.text(row.bind("jr:constraintMsg"))),
        ):
            if value:
                item[key] = value
        required = row.bind("required")
        if required is not None:
            flag = aliases.yes_no.get(str(required))
            if flag is None:
                self.report(
                    row,
                    "unsupported",
                    _l(
                        "bắt buộc có điều kiện %(required)s không được hỗ trợ; câu hỏi không bắt buộc",
                        required=repr(required),
                    ),
                )
            elif flag and kind == "note":
                self.report(row, "note", _l("ghi chú không thể bắt buộc; bỏ qua"))
            elif flag:
                item["required"] = True
        for key in ("min", "max", "max_length"):
            if row.get(key) is not None and key in allowed:
                item[key] = number(row.get(key))
        if appearance and "appearance" in allowed:
            item["appearance"] = " ".join(appearance)
        elif appearance:
            self.report(
                row,
                "note",
                _l(
                    "appearance %(appearance)s bỏ qua (chỉ là cách trình bày)",
                    appearance=repr(" ".join(appearance)),
                ),
            )
        score = self._score(row)
        if score and "score" in allowed:
            item["score"] = score
        bounds = xlsform.bounds_constraint(kind, item.get("min"), item.get("max"), item.get("max_length"))
        own = xlsform.split_constraint(bounds, self.rewrite(row.bind("constraint")))
        for key, value in (
            ("relevant", _combine(prefix, self.rewrite(row.bind("relevant")))),
            ("constraint", own),
        ):
            if value:
                item[key] = value
                self.expressions.append((row.number, item, key))

    def finish(self, declared: list[str] | None) -> dict:
        """Attach options: a list used by several items (or declared a scale) becomes a scale."""
        scales = {}
        for name, options in self.lists.items():
            users = self.uses.get(name, [])
            scale = name in declared if declared is not None else len(users) > 1
            key = identifier(name)
            if scale:
                scales[key] = options
            elif not users:
                self.lines.append(
                    Line(
                        "choices",
                        (self.list_rows.get(name) or [None])[0],
                        "note",
                        _l("danh sách %(list)s không được dùng; bỏ", list=repr(name)),
                    )
                )
            for item in users:
                item["scale" if scale else "options"] = key if scale else copy.deepcopy(options)
        return scales

    def inline(self, text: str, seen: tuple = ()) -> str:
        """Put each kept calculation in place of its `${name}` (calculations may use calculations)."""

        def replace(match):
            name = match.group(1)
            if name not in self.calculations or name in seen:
                return match.group(0)
            return f"({self.inline(self.calculations[name][1], (*seen, name))})"

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def check_expressions(self, sections: list[dict]) -> None:
        """Put calculations in place, then drop (and report) expressions we cannot read or resolve."""
        known = {i["id"] for s in sections for i in s["items"] if i["type"] not in ("note", "likert")}
        known |= {r["id"] for s in sections for i in s["items"] for r in i.get("rows", [])}
        known |= {f"{i['id']}_other" for s in sections for i in s["items"] if "other_specify" in i}
        used = set()
        for row_number, holder, key in self.expressions:
            original = holder[key]
            with contextlib.suppress(expressions.ExpressionError):
                used |= expressions.references(expressions.parse(original)) & set(self.calculations)
            holder[key] = self.inline(original)
            try:
                node = expressions.parse(holder[key])
            except expressions.ExpressionError as exc:
                problem = _l("không đọc được ở đây (%(reason)s)", reason=str(exc))
            else:
                problem = self._problem(node, holder, key, known)
            if problem:
                self.lines.append(
                    Line(
                        "survey",
                        row_number,
                        "unsupported",
                        _l(
                            "%(key)s %(expression)s %(problem)s; bỏ",
                            key=key,
                            expression=repr(original),
                            problem=problem,
                        ),
                    )
                )
                del holder[key]
        for name, (row_number, _formula) in self.calculations.items():
            message = (
                _l(
                    "phép tính %(name)s được giữ: biểu thức của nó thay cho ${%(name)s} trong các "
                    "điều kiện",
                    name=name,
                )
                if name in used
                else _l(
                    "phép tính %(name)s không được điều kiện nào dùng; giá trị của nó không được lưu "
                    "(tính lại được từ các câu trả lời)",
                    name=name,
                )
            )
            self.lines.append(Line("survey", row_number, "note", message))


    @staticmethod
    def _problem(node, holder: dict, key: str, known: set):
        """Say why a parsed expression cannot be kept (unknown items, `.` or itself in a condition)."""
        missing = expressions.references(node) - known
        if missing:
            return _l("nhắc đến câu không được nhập: %(names)s", names=", ".join(sorted(missing)))
        itself = expressions.uses_self(node) or holder.get("id") in expressions.references(node)
        if key == "relevant" and itself:
            return _l("nhắc đến chính câu hỏi này (chỉ ràng buộc, constraint, mới được làm vậy)")
        return ""


def _select(text) -> tuple[str, str, bool] | None:
    """Read a select type with pyxform's pattern: (command, list name, or_other)."""
    match = RE_SELECT.search(str(text or ""))
    if not match:
        return None
    return (
        aliases.select[match.group("select_command")],
        match.group("list_name"),
        bool(match.group("specify_other")),
    )
