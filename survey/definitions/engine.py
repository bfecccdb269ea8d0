"""The answering rules, shared by every way of answering: relevance, reading a page, pruning.

The server is authoritative: a page's raw input is read here, items that are not relevant are
neither validated nor kept, and `prune` removes answers that later changes made irrelevant.
"""

from dataclasses import dataclass, field

from survey.definitions import expressions
from survey.definitions.model import Item, Questionnaire, Section
from survey.definitions.types import AnswerError, item_type


@dataclass
class PageResult:
    """What reading one page gave: typed values to store and errors by item id."""

    values: dict = field(default_factory=dict)
    errors: dict[str, AnswerError] = field(default_factory=dict)


def section_visible(section: Section, answers: dict) -> bool:
    """Tell whether a page is shown for the answers so far."""
    return expressions.holds(section.relevant_expr(), answers)


def item_visible(item: Item, answers: dict) -> bool:
    """Tell whether an item is shown for the answers so far."""
    return expressions.holds(item.relevant_expr(), answers)


def visible_sections(questionnaire: Questionnaire, answers: dict,
                     skip: frozenset[int] = frozenset()) -> list[int]:
    """Return the indices of the pages shown for the answers so far.

    `skip`: pages not asked in this flow although relevant (a respondent-profile page answered once for
    all the units of a link); their answers are kept (`prune` does not look at `skip`).
    """
    return [i for i, s in enumerate(questionnaire.sections) if i not in skip and section_visible(s, answers)]


def page_items(section: Section) -> list[Item]:
    """Return the answerable items of a page, matrix rows in place of their matrix."""
    found = []
    for item in section.items:
        found.extend(item.rows if item.type == "likert" else [item] if item.answerable else [])
    return found


def read_page(section: Section, raw, answers: dict) -> PageResult:
    """Read a page's raw input (a mapping of item id to str or list) against the other answers.

    Items are read in order, so that an item may depend on one above it on the same page.
    """
    result = PageResult()
    merged = dict(answers)
    for item in page_items(section):
        if not item_visible(item, merged):
            merged.pop(item.id, None)
            result.values[item.id] = None
            continue
        try:
            value = _read(item, raw.get(item.id), merged)
        except AnswerError as error:
            result.errors[item.id] = error
            value = None
        merged[item.id] = value
        result.values[item.id] = value
    return result


def _read(item: Item, raw, answers: dict):
    """Coerce and check one visible item's raw input."""
    kind = item_type(item)
    value = kind.coerce(item, raw)
    if value is None:
        if item.required:
            raise AnswerError("required")
        kind.check_empty(item)
        return None
    kind.check(item, value)
    if item.constraint and not expressions.holds(item.constraint_expr(), answers, current=value):
        raise AnswerError("constraint")
    return value


def prune(questionnaire: Questionnaire, answers: dict) -> dict:
    """Return only the answers of items still shown (hidden answers are never stored).

    Dropping one answer can hide another item, so this repeats until nothing changes.
    """
    kept = dict(answers)
    while True:
        shown = set()
        for section in questionnaire.sections:
            if section_visible(section, kept):
                shown.update(i.id for i in page_items(section) if item_visible(i, kept))
        pruned = {k: v for k, v in kept.items() if k in shown}
        if pruned == kept:
            return kept
        kept = pruned


def first_incomplete(questionnaire: Questionnaire, answers: dict,
                     skip: frozenset[int] = frozenset()) -> int | None:
    """Return the index of the first shown page with a missing required answer or an error."""
    for index in visible_sections(questionnaire, answers, skip):
        section = questionnaire.sections[index]
        raw = {item_id: _as_raw(value) for item_id, value in answers.items()}
        if read_page(section, raw, answers).errors:
            return index
    return None


def _as_raw(value):
    """Turn a stored typed value back into the raw form a page submits."""
    if isinstance(value, list):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None if value is None else str(value)
