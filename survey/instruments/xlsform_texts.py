"""The languages of an XLSForm: every one is kept, under a language code, with the form's own name.

A text without a language (a plain `label` column) is taken as Vietnamese unless the settings name a
default language. Our texts always hold Vietnamese: when a form has none, the default language (or
English, or the first language) stands in for it, and the form's languages are listed so that an
export writes back exactly the form's columns.
"""

import re

from flask_babel import lazy_gettext as _l

from survey.instruments.xlsform_read import DEFAULT, Line, language

TRANSLATED = ("label", "hint")
TRANSLATED_BIND = ("jr:constraintMsg", "jr:requiredMsg")
STANDARD = {"vi": "Vietnamese (vi)", "en": "English (en)"}


class Languages:
    """Maps the form's language names to codes and builds our text mappings."""

    def __init__(self, default_language: str | None, lines: list[Line]):
        self.lines = lines
        self.codes: dict[str, str] = {}  # the form's name -> code
        self.names: dict[str, str] = {}  # code -> the form's (first) name
        self.default = self.code(default_language) if default_language else None

    def code(self, name: str) -> str:
        """Return the code of a language name, giving names without one a private code."""
        if name in self.codes:
            return self.codes[name]
        found = "vi" if name == DEFAULT else language(name)
        if found is None:
            slug = re.sub(r"[^a-z0-9]", "", name.lower())[:8] or f"l{len(self.codes) + 1}"
            found, suffix = f"x-{slug}", 2
            while found in self.names:
                found, suffix = f"x-{slug[:6]}{suffix}", suffix + 1
            self.lines.append(
                Line(
                    "survey",
                    1,
                    "note",
                    _l(
                        "ngôn ngữ %(name)s không có mã ngôn ngữ; lưu là %(code)s", name=repr(name), code=found
                    ),
                )
            )
        self.codes[name] = found
        self.names.setdefault(found, STANDARD.get(found) if name == DEFAULT else name)
        return found

    def scan(self, rows: list[dict]) -> None:
        """Register the languages of the texts of the rows, in the order they come."""
        for row in rows:
            values = [row.get(k) for k in TRANSLATED] + [
                (row.get("bind") or {}).get(k) for k in TRANSLATED_BIND
            ]
            for value in values:
                if isinstance(value, dict):
                    for name in value:
                        self.code(str(name))
                elif value not in (None, ""):
                    self.code(self.default_name())

    def default_name(self) -> str:
        """Return the name under which a plain text column is filed."""
        return (
            next((n for n, c in self.codes.items() if c == self.default), DEFAULT)
            if self.default
            else DEFAULT
        )

    def stand_in(self, codes) -> str:
        """Return the language that stands in for Vietnamese among the codes of one text: the default
        language, else the form's first language that the text has."""
        for code in (self.default, *self.names):
            if code in codes:
                return code
        return next(iter(codes))

    def text(self, value) -> dict | None:
        """Return {code: text} for a cell (a text or a mapping language name -> text), or None."""
        if isinstance(value, dict):
            pairs = [(self.code(str(name)), str(text)) for name, text in value.items() if str(text).strip()]
        elif value not in (None, ""):
            pairs = [(self.code(self.default_name()), str(value))]
        else:
            return None
        found = {}
        for code, text in pairs:
            found.setdefault(code, text)
        if not found:
            return None
        if "vi" not in found:
            found = {"vi": found[self.stand_in(found)], **found}
        return found

    def fill(self, base: dict) -> dict:
        """Return a text we add ourselves ("Other") in every language of the form, English where unknown."""
        return {code: base.get(code, base["en"]) for code in {"vi": 1, "en": 1, **dict.fromkeys(self.names)}}

    def listed(self) -> list[dict] | None:
        """Return the form's languages as {code, name}, unless they are just Vietnamese and English."""
        if set(self.names) <= {"vi", "en"} and "vi" in self.names:
            return None
        return [{"code": code, "name": name} for code, name in self.names.items()]

    def note_missing_vietnamese(self) -> None:
        """Say once which language stands in for Vietnamese in a form without it."""
        if self.names and "vi" not in self.names:
            stand_in = self.stand_in(self.names)
            self.lines.append(
                Line(
                    "survey",
                    None,
                    "note",
                    _l(
                        "biểu mẫu không có tiếng Việt; trang tiếng Việt hiện chữ %(language)s",
                        language=self.names[stand_in],
                    ),
                )
            )
