"""Semantic rules a schema-valid questionnaire must also follow; each problem is one line."""

import unicodedata

from survey.definitions import expressions
from survey.definitions import text as free_text

CHOICE_TYPES = ("single_choice", "multiple_choice", "likert")
TYPE_KEYS = {  # keys an item may carry beyond the common ones, by type
    "single_choice": {"options", "scale", "score", "appearance", "other_specify"},
    "multiple_choice": {"options", "scale", "min", "max", "appearance", "other_specify"},
    "likert": {"options", "scale", "rows", "appearance"},
    "integer": {"min", "max"},
    "decimal": {"min", "max"},
    "text": {"max_length"},
    "long_text": {"max_length"},
    "date": {"min", "max"},
    "note": set(),
}
COMMON_KEYS = {"id", "type", "label", "hint", "required", "relevant", "constraint",
               "constraint_message"}


def check(document: dict) -> list[str]:
    """Return every semantic problem of a schema-valid document as `WHERE: PROBLEM`."""
    problems: list[str] = []
    items = _all_items(document)
    problems += _duplicates(document, items)
    known = {item["id"] for item, _ in items if item.get("type") not in ("note", "likert")}
    known |= {f"{item['id']}_other" for item, _ in items if "other_specify" in item}
    for section in document["sections"]:
        problems += _expression(f"section {section['id']}", "relevant", section.get("relevant"),
                                known, allow_self=False)
    for item, matrix in items:
        problems += _item(document, item, matrix, known)
    problems += _nfc(document)
    return problems


def _all_items(document: dict) -> list[tuple[dict, dict | None]]:
    """List (item, enclosing matrix) pairs, matrix rows after their matrix."""
    found = []
    for section in document["sections"]:
        for item in section["items"]:
            found.append((item, None))
            found.extend((dict(row, type="single_choice"), item) for row in item.get("rows", []))
    return found


def _duplicates(document: dict, items) -> list[str]:
    """Report item ids and section ids used twice (an "other, specify" text takes `<id>_other`)."""
    problems, seen = [], set()
    ids = {item["id"] for item, _ in items}
    for item, _ in items:
        if item["id"] in seen:
            problems.append(f"item {item['id']}: duplicate item id {item['id']!r}")
        seen.add(item["id"])
        if "other_specify" in item and f"{item['id']}_other" in ids:
            problems.append(f"item {item['id']}: other_specify stores its text as {item['id'] + '_other'!r}, "
                            "which is another item's id")
    sections = [s["id"] for s in document["sections"]]
    problems += [f"section {s}: duplicate section id" for s in sorted(set(sections))
                 if sections.count(s) > 1]
    return problems


def _expression(owner: str, key: str, text: str | None, known: set, allow_self: bool,
                own_id: str | None = None) -> list[str]:
    """Parse one expression and check the items it names."""
    if text is None:
        return []
    try:
        node = expressions.parse(text)
    except expressions.ExpressionError as exc:
        return [f"{owner}: {key}: syntax error in {text!r}: {exc}"]
    problems = [f"{owner}: {key} names unknown item {name!r}"
                for name in sorted(expressions.references(node) - known)]
    if own_id is not None and key == "relevant" and own_id in expressions.references(node):
        problems.append(f"{owner}: relevant refers to the item itself")
    if not allow_self and expressions.uses_self(node):
        problems.append(f"{owner}: {key} may not use '.' (only a constraint can)")
    return problems


def _item(document: dict, item: dict, matrix: dict | None, known: set) -> list[str]:
    """Check one item (or matrix row) against the rules of its type."""
    owner = f"item {item['id']}"
    kind = item["type"]
    problems = [f"{owner}: '{key}' does not apply to a {kind} item"
                for key in sorted(set(item) - COMMON_KEYS - TYPE_KEYS[kind])
                if matrix is None]
    problems += _expression(owner, "relevant", item.get("relevant"), known, False, item["id"])
    problems += _expression(owner, "constraint", item.get("constraint"), known, True)
    if kind == "note" and item.get("required"):
        problems.append(f"{owner}: a note cannot be required")
    if kind in ("integer", "decimal") and _both_numbers(item) and item["min"] > item["max"]:
        problems.append(f"{owner}: min {item['min']} is greater than max {item['max']}")
    if kind in CHOICE_TYPES:
        source = matrix or item
        problems += _choices(document, item, source, owner)
    return problems


def _both_numbers(item: dict) -> bool:
    """Tell whether an item has numeric min and max."""
    return isinstance(item.get("min"), int | float) and isinstance(item.get("max"), int | float)


def _options(document: dict, source: dict) -> tuple[list[dict] | None, str]:
    """Return the options an item draws from (inline or a named scale) and where they are."""
    if "options" in source:
        return source["options"], "options"
    if "scale" in source:
        return document.get("scales", {}).get(source["scale"]), f"scale {source['scale']!r}"
    return None, ""


def _choices(document: dict, item: dict, source: dict, owner: str) -> list[str]:
    """Check a choice item's options and, when scored, their scores."""
    if item["type"] == "likert" and "rows" not in item:
        return [f"{owner}: a likert item needs rows"]
    if "options" in source and "scale" in source:
        return [f"{owner}: give either options or scale, not both"]
    options, where = _options(document, source)
    if options is None:
        if "scale" in source:
            return [f"{owner}: unknown scale {source['scale']!r}"]
        return [f"{owner}: a choice item needs options or a scale"]
    codes = [str(o["code"]) for o in options]
    problems = [f"{owner}: option code {c!r} appears twice" for c in sorted(set(codes))
                if codes.count(c) > 1]
    if item["type"] == "likert":
        return problems  # rows carry the scores; each row is checked as a single choice
    if "other_specify" in item and str(item["other_specify"]) not in codes:
        problems.append(f"{owner}: other_specify names {str(item['other_specify'])!r}, "
                        "which is not one of its options")
    return problems + _scores(item.get("score"), options, where, owner)


def _scores(score: dict | None, options: list[dict], where: str, owner: str) -> list[str]:
    """Check that option scores agree with the item's scoring method."""
    scored = [o for o in options if "score" in o]
    if score is None:
        if scored:
            return [f"{owner}: score on option {str(scored[0]['code'])!r} ({where}) "
                    "of an unscored item (give the item a score: node and method)"]
        return []
    problems = []
    for option in options:
        code, value = str(option["code"]), option.get("score")
        if option.get("excluded") and value is not None:
            problems.append(f"{owner}: option {code!r} is excluded and cannot have a score")
        elif score["method"] == "fraction" and not option.get("excluded"):
            if not isinstance(value, int | float):
                problems.append(f"{owner}: option {code!r} needs a score from 0 to 1")
        elif score["method"] == "satisfied" and value not in (None, "satisfied"):
            problems.append(f"{owner}: option {code!r}: score must be 'satisfied' or absent")
    if score["method"] == "satisfied" and not any(o.get("score") == "satisfied" for o in options):
        problems.append(f"{owner}: no option counts as satisfied")
    return problems


def where(document: dict, path: list) -> tuple[str, str]:
    """Name the item or section a schema path points into, and the field below it."""
    owner, rest, node = "questionnaire", [], document
    for position, step in enumerate(path):
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("id"), str) and position >= 1:
            kind = {"sections": "section", "rows": "row"}.get(path[position - 1], "item")
            owner, rest = f"{kind} {node['id']}", []
            continue
        rest.append(step)
    field = ".".join(str(s) if not isinstance(s, int) else f"[{s}]" for s in rest)
    return owner, field.replace(".[", "[")



def _nfc(document: dict) -> list[str]:
    """Report text that is not in Unicode NFC (Vietnamese must use precomposed diacritics)."""
    problems = []

    def walk(node, path):
        if isinstance(node, str) and unicodedata.normalize("NFC", node) != node:
            owner, field = where(document, path)
            problems.append(f"{owner}: {field}: text {node[:40]!r} is not Unicode NFC "
                            "(use precomposed Vietnamese letters)")
        elif isinstance(node, str) and free_text.problem(node):
            owner, field = where(document, path)
            problems.append(f"{owner}: {field}: text {node[:40]!r} holds control character "
                            f"{free_text.problem(node)} (NUL, control or bidi override)")
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(value, [*path, key])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, [*path, index])

    walk(document, [])
    return problems
