"""Read an XLSForm workbook with pyxform's own reader into rows with normalised columns.

Column names are lower-cased and their aliases resolved; `label::LANG`, `hint::LANG` and
`constraint_message::LANG` become {vi, en} mappings. Every text is NFC-normalised.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from pyxform.errors import PyXFormError
from pyxform.xls2json_backends import xlsx_to_dict

TRANSLATED = ("label", "hint", "constraint_message")
ALIASES = {"caption": "label", "relevance": "relevant", "constraining_message": "constraint_message",
           "constraint message": "constraint_message", "list name": "list_name", "value": "name"}
VIETNAMESE = {"vi", "vie", "vietnamese", "tiếng việt", "tieng viet", "việt"}
ENGLISH = {"en", "eng", "english", "tiếng anh"}


@dataclass(frozen=True)
class Line:
    """One report line: where in the workbook, how serious, and what happened."""

    sheet: str
    row: int | None
    kind: str  # "unsupported" (content dropped or changed), "invalid" (cannot be stored), "note"
    message: str

    def __str__(self) -> str:
        where = f"{self.sheet} row {self.row}" if self.row else self.sheet
        return f"{where}: {self.kind}: {self.message}"


@dataclass
class Row:
    """A sheet row: its number as the spreadsheet shows it, plain cells and translated texts."""

    number: int
    cells: dict = field(default_factory=dict)
    texts: dict = field(default_factory=dict)  # "label" -> {"vi": ..., "en": ...}

    def get(self, key: str, default=None):
        """Return a plain cell."""
        return self.cells.get(key, default)

    def text(self, key: str) -> dict | None:
        """Return a translated text as {vi, en}, Vietnamese falling back to English."""
        found = dict(self.texts.get(key) or {})
        if not found:
            return None
        if "vi" not in found:
            found["vi"] = found["en"]
        return found


def nfc(value):
    """Return a string in Unicode NFC (precomposed Vietnamese letters), other values as they are."""
    return unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else value


def language(name: str) -> str | None:
    """Map a language name as XLSForm writes it ("Vietnamese (vi)", "Tiếng Việt", "en") to vi/en."""
    lowered = nfc(name).lower()
    code = re.search(r"\(([a-z]{2,3})\)\s*$", lowered)
    if code:
        lowered = code.group(1)
    if lowered in VIETNAMESE:
        return "vi"
    if lowered in ENGLISH:
        return "en"
    return None


def _column(header: str) -> tuple[str, str | None]:
    """Split a header into its normalised base name and its language part."""
    base, _, lang = nfc(header).partition("::")
    base = base.strip().lower()
    return ALIASES.get(base, base), (lang.strip() or None)


def sheet_rows(raw: list[dict], sheet: str, lines: list[Line]) -> list[Row]:
    """Normalise one sheet's rows, reporting translated columns in languages we do not keep."""
    rows, unknown = [], set()
    for index, cells in enumerate(raw):
        row = Row(number=index + 2)  # row 1 holds the headers; pyxform keeps empty rows in place
        for header, value in cells.items():
            base, lang = _column(header)
            value = nfc(value)
            if value in (None, ""):
                continue
            if base in TRANSLATED or lang is not None:
                code = "vi" if lang is None else language(lang)
                if code is None:
                    unknown.add(header)
                    continue
                texts = row.texts.setdefault(base, {})
                # An explicit language column wins over the plain one.
                if lang is not None or code not in texts:
                    texts[code] = value
            else:
                row.cells[base] = value
        if row.cells or row.texts:
            rows.append(row)
    lines += [Line(sheet, 1, "unsupported", f"column {h!r}: language not supported (only Vietnamese "
                   "and English are kept); its texts are dropped") for h in sorted(unknown)]
    return rows


def read(source, lines: list[Line]) -> dict[str, list[Row]] | None:
    """Read the survey, choices and settings sheets of an .xlsx (path or bytes)."""
    try:
        book = xlsx_to_dict(source)
    except (PyXFormError, ValueError) as exc:
        lines.append(Line("workbook", None, "invalid", f"not a readable .xlsx workbook: {exc}"))
        return None
    if "survey" not in book:
        lines.append(Line("workbook", None, "invalid", "no 'survey' sheet"))
        return None
    return {name: sheet_rows(book.get(name, []), name, lines) for name in ("survey", "choices", "settings")}
