"""The registry of item types: each knows how to read a raw answer, check it and store it."""

import re
import unicodedata
from datetime import date

from survey.definitions import text as free_text
from survey.definitions.model import Item


class AnswerError(ValueError):
    """A raw answer the item cannot take: a code the pages translate, with its parameters."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


def _shown(number) -> str:
    """Show a bound as people write it: 18, not 18.0."""
    return str(int(number)) if float(number).is_integer() else str(number)


class ItemType:
    """Base of the item types; `column` names the Answer column the value is stored in."""

    name = ""
    column = "value_text"
    choices = False

    def coerce(self, item: Item, raw):
        """Turn a raw submitted value into the typed value, or None when empty."""
        text = (raw or "").strip() if isinstance(raw, str) else raw
        return text or None

    def check(self, item: Item, value) -> None:
        """Raise AnswerError when a typed value breaks the item's own bounds."""

    def check_empty(self, item: Item) -> None:
        """Raise AnswerError when leaving an optional item empty breaks its bounds (none by default)."""


class SingleChoice(ItemType):
    """One option out of a list (also each row of a Likert matrix)."""

    name = "single_choice"
    choices = True

    def check(self, item, value):
        """Refuse codes that are not among the options."""
        if item.option(value) is None:
            raise AnswerError("unknown_option", value=value)


class MultipleChoice(ItemType):
    """Any number of options out of a list."""

    name = "multiple_choice"
    column = "value_list"
    choices = True

    def coerce(self, item, raw):
        """Accept a list of codes (or one code), dropping blanks and repeats, keeping order."""
        values = raw if isinstance(raw, list | tuple) else [raw]
        codes = [str(v).strip() for v in values if v is not None and str(v).strip()]
        return list(dict.fromkeys(codes)) or None

    def check(self, item, value):
        """Refuse codes that are not among the options."""
        unknown = [code for code in value if item.option(code) is None]
        if unknown:
            raise AnswerError("unknown_option", value=unknown[0])
        if item.min is not None and len(value) < item.min:
            raise AnswerError("too_few", min=_shown(item.min))
        if item.max is not None and len(value) > item.max:
            raise AnswerError("too_many", max=_shown(item.max))

    def check_empty(self, item):
        """Nothing chosen is fewer than a minimum of one or more ("chọn một hoặc nhiều" with min 1)."""
        if isinstance(item.min, int | float) and item.min > 0:
            raise AnswerError("too_few", min=_shown(item.min))


class Number(ItemType):
    """An integer or decimal number within optional bounds."""

    column = "value_number"
    pattern = re.compile(r"-?\d+(?:[.,]\d+)?")

    def __init__(self, name: str, integer: bool):
        self.name = name
        self.integer = integer

    def coerce(self, item, raw):
        """Read digits, accepting a decimal comma as Vietnamese writes it."""
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            number = float(raw)
        else:
            text = (raw or "").strip().replace(" ", "")
            if not text:
                return None
            if not self.pattern.fullmatch(text):
                raise AnswerError("not_number")
            number = float(text.replace(",", "."))
        if self.integer and not number.is_integer():
            raise AnswerError("not_whole")
        return number

    def check(self, item, value):
        """Refuse values outside the item's bounds."""
        if item.min is not None and value < float(item.min):
            raise AnswerError("below_min", min=_shown(item.min))
        if item.max is not None and value > float(item.max):
            raise AnswerError("above_max", max=_shown(item.max))


class Text(ItemType):
    """Free text, short or long, within an optional length."""

    def __init__(self, name: str, default_length: int):
        self.name = name
        self.default_length = default_length

    def coerce(self, item, raw):
        """Read text in NFC without control characters or bidi overrides (see definitions.text)."""
        if not isinstance(raw, str):
            return super().coerce(item, raw)
        return free_text.clean(raw).strip() or None

    def check(self, item, value):
        """Refuse control characters and bidi overrides (text not read by coerce), and text too long."""
        bad = free_text.problem(value)
        if bad is not None or unicodedata.normalize("NFC", value) != value:
            raise AnswerError("control_character", char=bad or "NFD")
        if len(value) > (item.max_length or self.default_length):
            raise AnswerError("too_long", max=item.max_length or self.default_length)


class Date(ItemType):
    """A calendar date (ISO yyyy-mm-dd, as the date input sends it)."""

    name = "date"
    column = "value_date"

    def coerce(self, item, raw):
        """Read an ISO date."""
        if isinstance(raw, date):
            return raw
        text = (raw or "").strip()
        if not text:
            return None
        day_first = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
        try:
            if day_first:  # 25/11/2026, as Vietnamese write dates where no date picker exists
                day, month, year = map(int, day_first.groups())
                return date(year, month, day)
            return date.fromisoformat(text)
        except ValueError:
            raise AnswerError("not_date") from None

    def check(self, item, value):
        """Refuse dates outside the item's bounds."""
        if item.min is not None and value < date.fromisoformat(str(item.min)):
            raise AnswerError("date_before", min=item.min)
        if item.max is not None and value > date.fromisoformat(str(item.max)):
            raise AnswerError("date_after", max=item.max)


class Display(ItemType):
    """Shown, never answered: notes and the header of a Likert matrix."""

    def __init__(self, name: str):
        self.name = name

    def coerce(self, item, raw):
        """Nothing to read."""
        return None


REGISTRY: dict[str, ItemType] = {
    t.name: t
    for t in (
        SingleChoice(),
        MultipleChoice(),
        Number("integer", integer=True),
        Number("decimal", integer=False),
        Text("text", 255),
        Text("long_text", 5000),
        Date(),
        Display("note"),
        Display("likert"),
    )
}


def item_type(item: Item) -> ItemType:
    """Return the type object of an item."""
    return REGISTRY[item.type]
