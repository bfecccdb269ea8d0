"""Read an XLSForm (.xlsx, .xlsm, .xls, .csv, .md) with pyxform's own readers, and check it with pyxform.

What pyxform refuses is refused with pyxform's own message; what it converts is handed on as rows in
pyxform's grouped form (`label` as a text or a mapping language -> text, `bind`, `control`, `media`
mappings), numbered as pyxform numbers them (row 1 holds the headers; a spreadsheet's empty rows
keep their place). Report lines are written in Vietnamese, with English in the message catalogue.
"""

import copy
import io
import re
from dataclasses import dataclass, field

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from pyxform import aliases
from pyxform.errors import PyXFormError
from pyxform.parsing.sheet_headers import dealias_and_group_headers
from pyxform.question import MultipleChoiceQuestion, Option
from pyxform.survey import Survey
from pyxform.validators.pyxform.iana_subtags.validation import read_tags
from pyxform.xls2json import dealias_types
from pyxform.xls2json_backends import SupportedFileTypes, is_markdown_table
from pyxform.xls2xform import convert

from survey.definitions import text as free_text

SHEETS = ("survey", "choices", "settings")
DEFAULT = "default"  # pyxform's name for the language of a text column without a language
NAMES = {  # language names as forms write them, without a code
    "vi": ("vietnamese", "tiếng việt", "tieng viet", "việt", "vietnam"),
    "en": ("english", "tiếng anh", "anglais", "englisch"),
    "fr": ("french", "français", "francais", "tiếng pháp"),
    "sw": ("swahili", "kiswahili"),
    "zh": ("chinese", "中文", "汉语", "漢語", "tiếng trung", "mandarin"),
    "es": ("spanish", "español", "espanol"),
    "pt": ("portuguese", "português", "portugues"),
    "ar": ("arabic", "العربية"),
    "km": ("khmer", "ខ្មែរ"),
    "lo": ("lao", "ລາວ"),
    "th": ("thai", "ไทย"),
    "ru": ("russian", "русский"),
    "de": ("german", "deutsch"),
    "hi": ("hindi", "हिन्दी"),
    "id": ("indonesian", "bahasa indonesia"),
    "my": ("burmese", "myanmar"),
    "ja": ("japanese", "日本語"),
    "ko": ("korean", "한국어"),
}
BY_NAME = {name: code for code, names in NAMES.items() for name in names}
KINDS = {
    "refused": _l("từ chối"),
    "invalid": _l("không hợp lệ"),
    "unsupported": _l("không giữ được"),
    "note": _l("ghi chú"),
}


@dataclass(frozen=True)
class Line:
    """One report line: where in the form (sheet, row), how serious, and what happened.

    Kinds: "refused" (pyxform rejects the form), "invalid" (the result breaks our rules),
    "unsupported" (content dropped or changed: needs a partial import), "note" (nothing lost).
    """

    sheet: str
    row: int | None
    kind: str
    message: object  # a lazy Vietnamese msgid with its values, or pyxform's own (English) text

    def text(self, locale: str | None = None) -> str:
        """Return the line in the given locale (vi or en), else in the current one."""
        if locale is None:
            return self._render()
        with force_locale(locale):
            return self._render()

    def _render(self) -> str:
        """Render with the current locale."""
        if self.row:
            where = _l("trang %(sheet)s, dòng %(row)s", sheet=self.sheet, row=self.row)
        elif self.sheet in SHEETS:
            where = _l("trang %(sheet)s", sheet=self.sheet)
        else:  # the whole file, pyxform's warnings, the questionnaire built
            where = _l("biểu mẫu")
        return f"{where}: {KINDS[self.kind]}: {self.message}"

    def __str__(self) -> str:
        return self.text()


@dataclass
class Form:
    """What pyxform read: grouped rows of each sheet, the settings, pyxform's warnings."""

    file_type: str
    survey: list[dict] = field(default_factory=list)  # index i is sheet row i + 2
    choices: list[dict] = field(default_factory=list)  # each with "__row"
    settings: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def nfc(value):
    """Return strings in Unicode NFC (precomposed Vietnamese letters), in nested values too."""
    if isinstance(value, str):
        return free_text.clean(value).strip()  # NFC, without control or bidi override characters
    if isinstance(value, dict):
        return {k: nfc(v) for k, v in value.items()}
    return value


def file_type(data: bytes, filename: str | None = None) -> str:
    """Tell the format from the content (workbooks) or the name and content (text forms)."""
    if data[:4] == b"PK\x03\x04":
        return ".xlsx"
    if data[:8] == bytes.fromhex("D0CF11E0A1B11AE1"):
        return ".xls"
    suffix = (filename or "").lower().rpartition(".")[2]
    if suffix in ("md", "csv"):
        return f".{suffix}"
    return ".md" if is_markdown_table(data[:5000].decode("utf-8", "replace")) else ".csv"


def language(name: str) -> str | None:
    """Map a language as XLSForm names it ("Swahili (sw)", "Tiếng Việt", "en") to its code."""
    lowered = nfc(name).lower()
    code = re.search(r"\(([A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*)\)\s*$", lowered)
    if code:
        return code.group(1).lower()
    if lowered in BY_NAME:
        return BY_NAME[lowered]
    if re.fullmatch(r"[a-z]{2}", lowered) and lowered in read_tags("iana_subtags_2_characters.txt"):
        return lowered
    if re.fullmatch(r"[a-z]{3}", lowered) and lowered in read_tags("iana_subtags_3_or_more_characters.txt"):
        return lowered
    return None


def read(data: bytes, filename: str | None, lines: list[Line]) -> Form | None:
    """Read a form with pyxform's reader for its format and convert it; None when pyxform refuses."""
    kind = file_type(data, filename)
    reader = SupportedFileTypes.get_processors()[SupportedFileTypes(kind)]
    try:
        raw = reader(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - a damaged file fails in xlrd or openpyxl, not only in pyxform
        lines.append(
            Line("workbook", None, "refused", _l("pyxform không đọc được tệp: %(reason)s", reason=str(exc)))
        )
        return None
    form = Form(kind)
    stem = (filename or "form").rpartition("/")[2].rpartition(".")[0] or "form"
    try:
        convert(xlsform=dict(copy.deepcopy(raw), fallback_form_name=stem), warnings=form.warnings)
    except PyXFormError as exc:
        lines.append(
            Line("workbook", None, "refused", _l("pyxform từ chối biểu mẫu: %(reason)s", reason=str(exc)))
        )
        return None
    except Exception as exc:  # noqa: BLE001 - pyxform fails on some inputs without its own error
        lines.append(
            Line(
                "workbook",
                None,
                "refused",
                _l("pyxform không chuyển được biểu mẫu: %(reason)s", reason=f"{type(exc).__name__}: {exc}"),
            )
        )
        return None
    _group(raw, form)
    lines += [Line("pyxform", None, "note", _l("pyxform cảnh báo: %(warning)s", warning=warning))
              for warning in form.warnings]
    return form


def _sheet(raw: dict, name: str, header_aliases: dict, columns: set, **options) -> list[dict]:
    """Group one sheet's headers with pyxform's own function and alias table."""
    grouped = dealias_and_group_headers(sheet_name=name, sheet_data=raw.get(name) or [],
                                        sheet_header=raw.get(f"{name}_header"),
                                        header_aliases=header_aliases, header_columns=columns, **options)
    return list(grouped.data)


def _group(raw: dict, form: Form) -> None:
    """Group the headers of each sheet as pyxform does (aliases, `::` or legacy `:` languages)."""
    settings = _sheet(raw, "settings", aliases.settings_header, set(Survey.get_slot_names()))
    form.settings = nfc(settings[0]) if settings else {}
    default = str(form.settings.get("default_language") or DEFAULT)
    choices = _sheet(raw, "choices", aliases.list_header, set(Option.get_slot_names()),
                     default_language=default, add_row_number=True)
    form.choices = [nfc(row) for row in choices if set(row) - {"__row"}]
    clean = aliases.yes_no.get(form.settings.get("clean_text_values", "yes"), True)
    survey = _sheet(raw, "survey", aliases.survey_header, set(MultipleChoiceQuestion.get_slot_names()),
                    default_language=default, strip_whitespace=clean)
    form.survey = [nfc(row) for row in dealias_types(survey)]
