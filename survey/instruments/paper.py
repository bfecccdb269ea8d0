"""Printable paper forms: question numbers and skip instructions in plain words.

A simple `relevant` ("${q} = '1'", "selected(${q}, '2')", joined by and / or) is written as an
instruction an interviewer can follow ("Chỉ trả lời nếu câu 1.2 = 1"); anything else is shown as
the expression, its references replaced by question numbers.
"""

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _

from survey.definitions import expressions
from survey.definitions.model import Item, Questionnaire, Section, Text

SYMBOLS = {"=": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}


@dataclass
class PaperItem:
    """An item as printed: its number and skip instruction, matrix rows with theirs."""

    item: Item
    number: str | None
    skip: str | None
    rows: list["PaperItem"] = field(default_factory=list)


@dataclass
class PaperSection:
    """A section as printed."""

    section: Section
    number: int
    skip: str | None
    items: list[PaperItem]


def form_code(definition: Questionnaire) -> str:
    """Return the code printed on every page, which data entry uses to pick the version."""
    return f"{definition.id} v{definition.version}"


def _literal(node: expressions.Node) -> str | None:
    """Show a literal as written on the form (1, not 1.0); None for anything else."""
    if node.kind == "str":
        return str(node.value)
    if node.kind == "num":
        value = float(node.value)
        return str(int(value)) if value.is_integer() else str(value)
    return None


def _question(name: str, numbers: dict) -> str:
    """Name a question by its printed number."""
    return _("câu %(number)s", number=numbers.get(name, name))


def _option(name: str, code: str, words: "Words") -> str | None:
    """Name an option by its label in quotes («Trễ hẹn»), or None when the item or code is unknown."""
    if words.definition is None:
        return None
    try:
        option = words.definition.item(name).option(code)
    except KeyError:
        return None
    return f"«{option.label.get(words.language)}»" if option else None


@dataclass
class Words:
    """What a condition is put into words with: question numbers and, when known, option labels."""

    numbers: dict
    definition: Questionnaire | None = None
    language: str = "vi"


def _chosen(ref: expressions.Node, code: expressions.Node, words: Words, negated: bool) -> str | None:
    """Phrase "the answer to a question is (not) an option" with the option's label, if it has one."""
    if ref.kind != "ref" or _literal(code) is None:
        return None
    label = _option(ref.value, _literal(code), words)
    if label is None:
        return None
    question = _("ở câu %(number)s", number=words.numbers.get(ref.value, ref.value))
    if negated:
        return _("%(question)s Ông/Bà không chọn %(option)s", question=question, option=label)
    return _("%(question)s Ông/Bà chọn %(option)s", question=question, option=label)


def _phrase(node: expressions.Node, words: Words) -> str | None:
    """Put a simple condition into words, or return None when it is not simple."""
    numbers = words.numbers
    if node.kind == "op" and node.value in ("and", "or"):
        parts = [_phrase(arg, words) for arg in node.args]
        if None in parts:
            return None
        if node.value == "and":
            return _("%(first)s và %(second)s", first=parts[0], second=parts[1])
        return _("%(first)s hoặc %(second)s", first=parts[0], second=parts[1])
    if node.kind == "op" and node.value in ("=", "!="):
        chosen = _chosen(*node.args, words, negated=node.value == "!=")
        if chosen is not None:
            return chosen
    if node.kind == "op" and node.value in SYMBOLS:
        left, right = node.args
        if left.kind == "ref" and _literal(right) is not None:
            return f"{_question(left.value, numbers)} {SYMBOLS[node.value]} {_literal(right)}"
        return None
    if node.kind == "call" and node.value == "not" and node.args[0].kind == "call" \
            and node.args[0].value == "selected":
        return _chosen(*node.args[0].args, words, negated=True)
    if node.kind == "call" and node.value == "selected":
        ref, code = node.args
        chosen = _chosen(ref, code, words, negated=False)
        if chosen is not None:
            return chosen
        if ref.kind == "ref" and _literal(code) is not None:
            return _("%(question)s có chọn %(code)s", question=_question(ref.value, numbers),
                     code=_literal(code))
    return None


def condition(text: str, numbers: dict, definition: Questionnaire | None = None,
              language: str = "vi") -> str:
    """Return a relevance condition in words, or the expression with question numbers.

    Given the definition, a choice reads with its option's label ("ở câu 7.5 Ông/Bà chọn «Trễ hẹn»");
    without it, or for an unknown code, with the code ("câu 7.5 = 3").
    """
    phrase = _phrase(expressions.parse(text), Words(numbers, definition, language))
    if phrase is not None:
        return phrase
    return re.sub(r"\$\{([A-Za-z0-9_]+)\}", lambda m: f"[{_question(m.group(1), numbers)}]", text)


def item_skip(item: Item, numbers: dict, definition: Questionnaire | None = None,
              language: str = "vi") -> str | None:
    """Return an item's skip instruction, where the item cannot be hidden (paper, no JavaScript).

    An "other, please specify" text says when it applies in its own label, so it has none.
    """
    if not item.relevant or item.other_of:
        return None
    return _("Chỉ trả lời nếu %(condition)s",
             condition=condition(item.relevant, numbers, definition, language))


def paper_form(definition: Questionnaire, language: str = "vi") -> list[PaperSection]:
    """Number the sections and items (Questionnaire.section_numbers, .numbers) and phrase their skip
    instructions, options named by their labels in the language."""
    numbers = definition.numbers()
    sections = []
    for section in definition.sections:
        skip = None
        if section.relevant:
            skip = _("Chỉ trả lời phần này nếu %(condition)s",
                     condition=condition(section.relevant, numbers, definition, language))
        items = [PaperItem(item, numbers.get(item.id), item_skip(item, numbers, definition, language),
                           [PaperItem(row, numbers.get(row.id), None) for row in item.rows])
                 for item in section.items]
        sections.append(PaperSection(section, definition.section_numbers()[section.id], skip, items))
    return sections


def texts(text: Text | None, language: str) -> tuple[str, str | None]:
    """Return the text in the page's language and, smaller below it, the other one if it differs."""
    if text is None:
        return "", None
    first = text.get(language)
    other = text.vi if language == "en" else text.en
    return first, (other if other and other != first else None)
