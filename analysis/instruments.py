"""Questionnaire and framework definitions read from the app's validated, frozen documents.

Only what the statistics need is parsed: answerable items with their labels,
options, scores and page (section); framework nodes with their points,
weights, method and status.  The formats are documented in
``questionnaires/README.md`` and ``questionnaires/schema/framework.schema.json``;
this module deliberately does not import the app's loader (``survey``) and parses no file: the
documents come from ``flask analysis export`` (canonical JSON) or straight from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

ANSWERABLE = ("single_choice", "multiple_choice", "integer", "decimal", "text", "long_text", "date")


def norm_code(value) -> str:
    """Canonical text of an option code: ``4``, ``4.0`` and ``"4"`` all give ``"4"``."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].lstrip("-").isdigit():
        return text[:-2]
    return text


@dataclass(frozen=True)
class Option:
    """One answer option: code, labels, score (number, 'satisfied' or None) and exclusion."""

    code: str
    label_vi: str
    label_en: str
    score: float | str | None = None
    excluded: bool = False


@dataclass(frozen=True)
class Item:
    """One answerable item (a likert row is its own item, with ``matrix`` its parent id)."""

    id: str
    type: str
    label_vi: str
    label_en: str
    section: str
    questionnaire: str
    options: tuple[Option, ...] = ()
    node: str | None = None
    method: str | None = None
    matrix: str | None = None
    matrix_rows: int = 0

    @property
    def choice(self) -> bool:
        """Whether the item stores option codes."""
        return self.type in ("single_choice", "multiple_choice")

    def value_scores(self) -> dict[str, float]:
        """Option code -> score used by the indices; excluded and unscored codes map to NaN.

        ``method: satisfied`` scores 1 for options marked ``satisfied`` and 0 for
        other non-excluded options; ``method: fraction`` uses the option's number.
        """
        out = {}
        for opt in self.options:
            if opt.excluded:
                out[opt.code] = np.nan
            elif self.method == "satisfied":
                out[opt.code] = 1.0 if opt.score == "satisfied" else 0.0
            elif isinstance(opt.score, int | float) and not isinstance(opt.score, bool):
                out[opt.code] = float(opt.score)
            else:
                out[opt.code] = np.nan
        return out


@dataclass(frozen=True)
class Instrument:
    """A questionnaire version: id, version, framework id and its answerable items."""

    id: str
    version: str
    framework: str | None
    title_vi: str
    items: tuple[Item, ...]
    sections: tuple[str, ...] = ()

    def scored(self) -> list[Item]:
        """Items linked to a framework node."""
        return [it for it in self.items if it.node]

    def item(self, item_id: str) -> Item:
        """The item with this id."""
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)


def _text(obj, lang: str) -> str:
    """A {vi, en} text in one language (or the string itself)."""
    if isinstance(obj, dict):
        return str(obj.get(lang) or obj.get("vi") or "")
    return "" if obj is None else str(obj)


def _options(raw, scales: dict) -> tuple[Option, ...]:
    """Options of an item from its ``options`` list or named ``scale``."""
    opts = raw["options"] if isinstance(raw.get("options"), list) else scales.get(raw.get("scale"), [])
    return tuple(Option(norm_code(o["code"]), _text(o.get("label"), "vi"), _text(o.get("label"), "en"),
                        o.get("score"), bool(o.get("excluded", False))) for o in opts)


def parse_questionnaire(doc: dict) -> Instrument:
    """Parse a questionnaire document as the app exports it (canonical JSON of the published version).

    Parameters
    ----------
    doc : dict
        The document (a published version's ``definition``).

    Returns
    -------
    Instrument
    """
    qid = str(doc["id"])
    scales = doc.get("scales") or {}
    items: list[Item] = []
    sections = []
    for sec in doc.get("sections") or []:
        sid = str(sec["id"])
        sections.append(sid)
        for raw in sec.get("items") or []:
            opts = _options(raw, scales)
            if raw.get("type") == "likert":
                rows = raw.get("rows") or []
                for row in rows:
                    score = row.get("score") or {}
                    items.append(Item(str(row["id"]), "single_choice", _text(row.get("label"), "vi"),
                                      _text(row.get("label"), "en"), sid, qid, opts, score.get("node"),
                                      score.get("method"), str(raw["id"]), len(rows)))
            elif raw.get("type") in ANSWERABLE:
                score = raw.get("score") or {}
                items.append(Item(str(raw["id"]), raw["type"], _text(raw.get("label"), "vi"),
                                  _text(raw.get("label"), "en"), sid, qid, opts, score.get("node"),
                                  score.get("method")))
    return Instrument(qid, str(doc.get("version", "")), doc.get("framework"),
                      _text(doc.get("title"), "vi"), tuple(items), tuple(sections))


@dataclass
class Node:
    """One framework node."""

    code: str
    level: str
    name_vi: str
    name_en: str
    method: str | None
    max_points: float | None
    weight: float
    in_total: bool
    status: str
    parent: str | None
    children: list[str] = field(default_factory=list)
    rule: str | None = None


@dataclass
class Framework:
    """A framework tree (PAR INDEX or SIPAS), nodes indexed by code in document order."""

    id: str
    index: str
    name_vi: str
    status: str
    nodes: dict[str, Node]
    roots: list[str]

    def descendants(self, code: str) -> list[str]:
        """Codes below a node, depth first."""
        out = []
        for child in self.nodes[code].children:
            out.append(child)
            out.extend(self.descendants(child))
        return out

    def ancestors(self, code: str) -> list[str]:
        """Codes above a node, nearest first."""
        out = []
        parent = self.nodes[code].parent
        while parent is not None:
            out.append(parent)
            parent = self.nodes[parent].parent
        return out

    def provisional(self, codes) -> list[str]:
        """The codes among ``codes`` (or their ancestors) whose status is provisional."""
        seen = set()
        for code in codes:
            for c in [code, *self.ancestors(code)]:
                if self.nodes[c].status == "provisional":
                    seen.add(c)
        return [c for c in self.nodes if c in seen]


def parse_framework(doc: dict) -> Framework:
    """Parse a framework document as the app exports it (canonical JSON of the validated file).

    A node without ``weight`` gets the framework's ``aggregation.default_weight``, as the app's
    frozen definition does (``survey/definitions/frameworks.py``; a test compares the two).  The
    app refuses a ``weighted_mean`` over children with neither; the 1 used then is never read,
    because only ``weighted_mean`` reads weights.

    Parameters
    ----------
    doc : dict

    Returns
    -------
    Framework
    """
    default = float((doc.get("aggregation") or {}).get("default_weight", 1.0))
    nodes: dict[str, Node] = {}

    def walk(raw: dict, parent: str | None, inherited: str | None) -> None:
        code = str(raw["code"])
        method = raw.get("method") or inherited
        rule = (raw.get("scoring_rule") or {}).get("type")
        mp = raw.get("max_points")
        nodes[code] = Node(code, str(raw.get("level", "")), _text(raw.get("name"), "vi"),
                           _text(raw.get("name"), "en"), method, None if mp is None else float(mp),
                           float(raw.get("weight", default)), bool(raw.get("in_total", True)),
                           str(raw.get("status", doc.get("status", "verified"))), parent, rule=rule)
        if parent is not None:
            nodes[parent].children.append(code)
        for child in raw.get("children") or []:
            walk(child, code, method)

    roots = []
    for raw in doc.get("nodes") or []:
        roots.append(str(raw["code"]))
        walk(raw, None, None)
    return Framework(str(doc["id"]), str(doc.get("index", "")), _text(doc.get("name"), "vi"),
                     str(doc.get("status", "verified")), nodes, roots)


def item_codes(data: pd.DataFrame, item: Item,
               own_rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Integer code of every row for one scored item and the score of each code.

    Returns ``(codes, lut)`` with ``lut[codes]`` the row scores of
    :func:`item_scores`: codes index the column's distinct values, ``-1`` marks
    a missing answer or a row outside ``own_rows`` and picks ``lut``'s trailing
    NaN; excluded and unknown codes score NaN.  ``None`` when the column is absent.
    Categorical columns give their category codes without re-hashing the values.
    """
    if item.id not in data.columns:
        return None
    column = data[item.id]
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes, uniques = column.cat.codes.to_numpy(), column.cat.categories
    else:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
    table = item.value_scores()
    lut = np.array([table.get(norm_code(u), np.nan) for u in uniques] + [np.nan])
    if own_rows is None:
        own_rows = questionnaire_rows(data).get(item.questionnaire)
    if own_rows is not None and not own_rows.all():
        codes = np.where(own_rows, codes, -1)
    return codes, lut


def item_scores(data: pd.DataFrame, item: Item, own_rows: np.ndarray | None = None) -> np.ndarray:
    """Score of every row for one scored item; NaN when missing, excluded or unknown.

    Codes are matched after :func:`norm_code`, so columns read as numbers,
    text or categories all work.  Rows outside ``own_rows`` (by default, rows
    of other questionnaires when the frame has a ``questionnaire`` column) are NaN.
    """
    coded = item_codes(data, item, own_rows)
    if coded is None:
        return np.full(len(data), np.nan)
    codes, lut = coded
    return lut[codes]  # the code -1 picks the trailing NaN


def questionnaire_rows(data: pd.DataFrame) -> dict:
    """Questionnaire id -> row mask, or an empty dict when there is no questionnaire column.

    ``dict.get`` on the result gives ``None`` (no restriction) only when the column is absent.
    """
    if "questionnaire" not in data.columns:
        return {}
    codes, levels = pd.factorize(data["questionnaire"])

    class _Rows(dict):
        def __missing__(self, key):
            return np.zeros(len(codes), dtype=bool)

        def get(self, key, default=None):
            return self[key]

    return _Rows({str(q): codes == k for k, q in enumerate(levels)})
