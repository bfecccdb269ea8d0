"""Frozen objects a validated questionnaire definition is turned into."""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

from survey.definitions import expressions


@dataclass(frozen=True)
class Text:
    """A label in Vietnamese with an optional English translation and others (an imported form's)."""

    vi: str
    en: str | None = None
    others: tuple[tuple[str, str], ...] = ()  # (language code, text), e.g. (("sw", "Habari"),)

    def get(self, language: str) -> str:
        """Return the text in the language, falling back to Vietnamese."""
        if language == "en":
            return self.en or self.vi
        return dict(self.others).get(language) or self.vi


@dataclass(frozen=True)
class Score:
    """Link from a scored item to an index-framework node, and how its options score."""

    node: str
    method: str  # "fraction" (share of the node's max points) or "satisfied" (SIPAS)


@dataclass(frozen=True)
class Option:
    """An answer option: a stable code, a label, its score and whether it leaves the denominator."""

    code: str
    label: Text
    score: float | str | None = None
    excluded: bool = False


@dataclass(frozen=True)
class Item:
    """A question (or, for a Likert matrix, one row of it): what the respondent answers."""

    id: str
    type: str
    label: Text
    section_id: str
    hint: Text | None = None
    required: bool = False
    relevant: str | None = None
    constraint: str | None = None
    constraint_message: Text | None = None
    options: tuple[Option, ...] = ()
    rows: tuple["Item", ...] = ()
    score: Score | None = None
    min: float | str | None = None
    max: float | str | None = None
    max_length: int | None = None
    appearance: str | None = None
    matrix_id: str | None = None  # set on the rows of a Likert matrix
    other_specify: str | None = None  # the option code that opens a text answer ("Khác, ghi rõ")
    other_of: str | None = None  # set on that text answer: the id of the choice item it belongs to

    @property
    def answerable(self) -> bool:
        """Tell whether the item stores an answer (notes and matrix headers do not)."""
        return self.type not in ("note", "likert")

    @property
    def numbered(self) -> bool:
        """Tell whether the item gets a question number (notes and "other, specify" texts do not)."""
        return self.type != "note" and self.other_of is None

    def option(self, code: str) -> Option | None:
        """Return the option with the code, if any."""
        return next((o for o in self.options if o.code == code), None)

    def relevant_expr(self) -> expressions.Node | None:
        """Return the parsed relevance condition."""
        return _parsed(self.relevant)

    def constraint_expr(self) -> expressions.Node | None:
        """Return the parsed constraint."""
        return _parsed(self.constraint)


@dataclass(frozen=True)
class Section:
    """A page of the questionnaire."""

    id: str
    title: Text
    items: tuple[Item, ...]
    description: Text | None = None
    relevant: str | None = None
    once: bool = False  # about the person, not the rated unit: asked once per link (see answering.py)

    def relevant_expr(self) -> expressions.Node | None:
        """Return the parsed relevance condition of the page."""
        return _parsed(self.relevant)

    @property
    def plain_title(self) -> Text:
        """Return the title without a number written into it ("3. Công chức…" gives "Công chức…").

        Section numbers are derived (Questionnaire.section_numbers), never taken from the title, so
        that a title written "3. …" on the fourth section does not print "4. 3. …".
        """
        return Text(_unnumbered(self.title.vi), self.title.en and _unnumbered(self.title.en),
                    tuple((code, _unnumbered(text)) for code, text in self.title.others))

    def heading(self, language: str) -> str:
        """Return the plain title in a language."""
        return self.plain_title.get(language)


def _unnumbered(text: str) -> str:
    """Drop a leading "3. ", "IV. " or "2.1) " from a title (unless nothing would be left)."""
    return HARD_NUMBER.sub("", text, count=1) or text


HARD_NUMBER = re.compile(r"^\s*(?:\d+|[IVXLC]+)(?:\.\d+)*[.)]\s+")


@dataclass(frozen=True)
class Questionnaire:
    """A whole validated questionnaire version."""

    id: str
    version: str
    title: Text
    sections: tuple[Section, ...]
    description: Text | None = None
    minutes: int | None = None
    groups: tuple[str, ...] = ()
    framework: str | None = None
    languages: tuple[tuple[str, str], ...] = ()  # (code, name) of an imported form's languages
    source: dict = field(default_factory=dict, compare=False, repr=False)

    def text_languages(self) -> list[tuple[str, str]]:
        """Return the (code, name) of the languages its texts are in; Vietnamese and English by default.

        Names are the form's own, without a trailing "(code)": "Swahili (sw)" is shown "Swahili".
        """
        if not self.languages:
            return [("vi", "Tiếng Việt"), ("en", "English")]
        return [(code, re.sub(r"\s*\([^()]*\)\s*$", "", name) or name) for code, name in self.languages]

    def items(self) -> list[Item]:
        """Return every item in order, matrix rows after their matrix."""
        found = []
        for section in self.sections:
            for item in section.items:
                found.append(item)
                found.extend(item.rows)
        return found

    def answerable_items(self) -> list[Item]:
        """Return the items that store an answer."""
        return [item for item in self.items() if item.answerable]

    def item(self, item_id: str) -> Item:
        """Return the item with the id, raising KeyError when unknown."""
        for item in self.items():
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def section_numbers(self) -> Mapping[str, int]:
        """Return the number of each section: its place in the questionnaire, from 1.

        The one numbering scheme: section n holds questions n.1, n.2 … (see `numbers`), on screen
        ("n. title", "Phần n/N"), on the paper form and in exports; skipped sections keep theirs.
        Computed once per definition (it is immutable) and read-only, as it is shared by every page.
        """
        return self._section_numbers

    @cached_property
    def _section_numbers(self) -> Mapping[str, int]:
        return MappingProxyType({section.id: index for index, section in enumerate(self.sections, start=1)})

    def numbers(self) -> Mapping[str, str]:
        """Return the printed number of each question ("2.3"; matrix rows "2.3.1"), notes unnumbered.

        Online pages, paper forms and data entry show the same numbers; "2" is the section's number
        (`section_numbers`). An "other, specify" text belongs to its question and has no number.
        Computed once per definition (it is immutable) and read-only, as it is shared by every page.
        """
        return self._numbers

    @cached_property
    def _numbers(self) -> Mapping[str, str]:
        found = {}
        for s_index, section in enumerate(self.sections, start=1):
            questions = [item for item in section.items if item.numbered]
            for i_index, item in enumerate(questions, start=1):
                found[item.id] = f"{s_index}.{i_index}"
                for r_index, row in enumerate(item.rows, start=1):
                    found[row.id] = f"{s_index}.{i_index}.{r_index}"
        return MappingProxyType(found)

    def scored_items(self) -> list[Item]:
        """Return the items linked to a framework node."""
        return [item for item in self.answerable_items() if item.score is not None]


_CACHE: dict[str, expressions.Node] = {}


def _parsed(text: str | None) -> expressions.Node | None:
    """Parse an expression once and keep the tree (definitions are immutable)."""
    if text is None:
        return None
    if text not in _CACHE:
        _CACHE[text] = expressions.parse(text)
    return _CACHE[text]
