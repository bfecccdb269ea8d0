"""Export a questionnaire to an XLSForm workbook (sheets survey, choices, settings) for ODK / Kobo.

What XLSForm has no column for (scores, bounds, scales, groups, framework) goes into extra columns,
which pyxform ignores, so that importing the workbook back gives the same questionnaire.
"""

import io
from pathlib import Path

from openpyxl import Workbook
from pyxform.xls2xform import convert

from survey.definitions import load
from survey.definitions.model import Questionnaire

LANGUAGES = {"vi": "Vietnamese (vi)", "en": "English (en)"}


def languages_of(document: dict) -> dict[str, str]:
    """Return code -> column name of the document's languages (an imported form keeps its own)."""
    listed = document.get("languages")
    if not listed:
        return LANGUAGES
    return {lang["code"]: lang["name"] for lang in listed}


def survey_columns(languages: dict[str, str]) -> list[str]:
    """Return the survey sheet's columns, one per language for each text."""
    return ["type", "name", *(f"label::{n}" for n in languages.values()),
            *(f"hint::{n}" for n in languages.values()), "required", "relevant", "constraint",
            *(f"constraint_message::{n}" for n in languages.values()), "appearance",
            "score_node", "score_method", "min", "max", "max_length", "other_specify"]


def choices_columns(languages: dict[str, str]) -> list[str]:
    """Return the choices sheet's columns."""
    return ["list_name", "name", *(f"label::{n}" for n in languages.values()), "score", "excluded"]


SURVEY_COLUMNS = survey_columns(LANGUAGES)
CHOICES_COLUMNS = choices_columns(LANGUAGES)
SETTINGS_COLUMNS = ["form_title", "form_id", "version", "default_language", "title_en",
                    "description_vi", "description_en", "groups", "framework", "minutes",
                    "scales", "kind"]
SIMPLE_TYPES = {"integer": "integer", "decimal": "decimal", "text": "text", "long_text": "text",
                "date": "date", "note": "note"}


def bounds_constraint(kind: str, low, high, max_length) -> str | None:
    """Express an item's bounds as an XLSForm constraint, so that ODK enforces them too."""
    parts = []
    if kind in ("integer", "decimal"):
        parts += [f". >= {low}" if low is not None else "", f". <= {high}" if high is not None else ""]
    elif kind == "date":
        parts += [f". >= date('{low}')" if low is not None else "",
                  f". <= date('{high}')" if high is not None else ""]
    elif kind == "multiple_choice":
        parts += [f"count-selected(.) >= {low}" if low is not None else "",
                  f"count-selected(.) <= {high}" if high is not None else ""]
    elif kind in ("text", "long_text") and max_length is not None:
        parts.append(f"string-length(.) <= {max_length}")
    parts = [p for p in parts if p]
    return " and ".join(parts) or None


def combined_constraint(bounds: str | None, own: str | None) -> str | None:
    """Join the bounds and the item's own constraint; `split_constraint` undoes it."""
    if bounds and own:
        return f"{bounds} and ({own})"
    return bounds or own


def split_constraint(bounds: str | None, text: str | None) -> str | None:
    """Return the item's own constraint from a column that may start with its bounds."""
    if not bounds or not text:
        return text
    if text == bounds:
        return None
    prefix = f"{bounds} and ("
    if text.startswith(prefix) and text.endswith(")"):
        return text[len(prefix):-1]
    return text


def _texts(prefix: str, text: dict | None, languages: dict[str, str]) -> dict:
    """Spread a {code: text} mapping over the language columns of one kind (the first never empty)."""
    text = text or {}
    first = next(iter(languages))
    return {f"{prefix}::{name}": text.get(code) or (text.get("vi") if code == first else None)
            for code, name in languages.items()}


def _list_names(document: dict) -> dict[str, str]:
    """Name the choice list of every item with inline options (its id, unless a scale has it)."""
    taken = set(document.get("scales", {}))
    names = {}
    for section in document["sections"]:
        for item in section["items"]:
            if "options" in item:
                name = item["id"]
                while name in taken:
                    name += "_opts"
                taken.add(name)
                names[item["id"]] = name
    return names


def _item_rows(item: dict, list_names: dict, languages: dict[str, str],
               scales: dict | None = None) -> list[dict]:
    """Return the survey rows of one item (a Likert matrix gives a group of rows)."""
    common = {"name": item["id"], **_texts("label", item["label"], languages),
              **_texts("hint", item.get("hint"), languages), "relevant": item.get("relevant")}
    kind = item["type"]
    list_name = list_names.get(item["id"]) or item.get("scale")
    options = item.get("options") or (scales or {}).get(item.get("scale"), [])
    if kind == "likert":
        group = dict(common, type="begin_group",
                     appearance=" ".join(filter(None, ["field-list", item.get("appearance")])))
        rows = [{"type": f"select_one {list_name}", "name": row["id"],
                 **_texts("label", row["label"], languages), **_texts("hint", row.get("hint"), languages),
                 "required": "yes" if item.get("required") else None, "appearance": "likert", **_score(row)}
                for row in item["rows"]]
        return [group, *rows, {"type": "end_group", "name": item["id"]}]
    row = dict(common, required="yes" if item.get("required") else None,
               **_texts("constraint_message", item.get("constraint_message"), languages),
               **_score(item), min=item.get("min"), max=item.get("max"),
               max_length=item.get("max_length"), appearance=item.get("appearance"))
    if kind in ("single_choice", "multiple_choice"):
        row["type"] = f"{'select_one' if kind == 'single_choice' else 'select_multiple'} {list_name}"
    else:
        row["type"] = SIMPLE_TYPES[kind]
        if kind == "long_text":
            row["appearance"] = "multiline"
    bounds = bounds_constraint(kind, item.get("min"), item.get("max"), item.get("max_length"))
    row["constraint"] = combined_constraint(bounds, item.get("constraint"))
    return [row, *_other_specify(item, row, options, languages)]


def _other_specify(item: dict, row: dict, options: list[dict], languages: dict[str, str]) -> list[dict]:
    """Write an "other, please specify" option: XLSForm's `or_other` when its code is "other" (pyxform
    then adds the text `<id>_other` itself); else the code in our extra column and the text as its own
    row, which pyxform converts and our import recognises as the option's text."""
    code = item.get("other_specify")
    if code is None:
        return []
    code = str(code)
    if code == "other":
        row["type"] += " or_other"
        return []
    row["other_specify"] = code
    option = next((o for o in options if str(o["code"]) == code), None)
    label = load.other_label(load.text_of(option["label"]) if option else load.text_of({"vi": code}))
    texts = {"vi": label.vi, "en": label.en, **dict(label.others)}
    return [{"type": "text", "name": f"{item['id']}_other", **_texts("label", texts, languages),
             "required": "yes", "relevant": f"selected(${{{item['id']}}}, '{code}')",
             "constraint": bounds_constraint("text", None, None, load.OTHER_MAX_LENGTH)}]


def _score(raw: dict) -> dict:
    """Return the score columns of an item or matrix row."""
    score = raw.get("score")
    return {"score_node": score["node"], "score_method": score["method"]} if score else {}


def survey_rows(document: dict) -> list[dict]:
    """Return the survey sheet: one field-list group per section."""
    list_names = _list_names(document)
    languages = languages_of(document)
    rows = []
    for section in document["sections"]:
        rows.append({"type": "begin_group", "name": section["id"],
                     **_texts("label", section["title"], languages),
                     **_texts("hint", section.get("description"), languages),
                     "relevant": section.get("relevant"),
                     # "once" (a page about the person, asked once per link) rides on the appearance:
                     # form tools ignore an appearance word they do not know.
                     "appearance": "field-list once" if section.get("once") else "field-list"})
        for item in section["items"]:
            rows += _item_rows(item, list_names, languages, document.get("scales", {}))
        rows.append({"type": "end_group", "name": section["id"]})
    return rows


def choice_rows(document: dict) -> list[dict]:
    """Return the choices sheet: the scales, then each item's own options."""
    lists = dict(document.get("scales", {}))
    list_names = _list_names(document)
    languages = languages_of(document)
    for section in document["sections"]:
        for item in section["items"]:
            if item["id"] in list_names:
                lists[list_names[item["id"]]] = item["options"]
    return [{"list_name": name, "name": str(option["code"]), **_texts("label", option["label"], languages),
             "score": option.get("score"), "excluded": "yes" if option.get("excluded") else None}
            for name, options in lists.items() for option in options]


def settings_row(document: dict) -> dict:
    """Return the settings sheet's row, our questionnaire-level fields in extra columns."""
    description = document.get("description") or {}
    return {
        "form_title": document["title"]["vi"], "form_id": document["id"],
        "version": document.get("source_version") or document["version"],
        "default_language": next(iter(languages_of(document).values())),
        "title_en": document["title"].get("en"), "description_vi": description.get("vi"),
        "description_en": description.get("en"), "groups": " ".join(document.get("groups", ())) or None,
        "framework": document.get("framework"), "minutes": document.get("minutes"),
        "scales": " ".join(document.get("scales", {})) or None, "kind": document.get("kind"),
    }


def workbook(source: Questionnaire | dict) -> Workbook:
    """Build the XLSForm workbook of a questionnaire (frozen object or document)."""
    document = load.normalise(source.source if isinstance(source, Questionnaire) else source)
    book = Workbook()
    languages = languages_of(document)
    sheets = [("survey", survey_columns(languages), survey_rows(document)),
              ("choices", choices_columns(languages), choice_rows(document)),
              ("settings", SETTINGS_COLUMNS, [settings_row(document)])]
    book.remove(book.active)
    for title, columns, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append(columns)
        for row in rows:
            sheet.append([row.get(column) for column in columns])
    return book


def to_bytes(source: Questionnaire | dict) -> bytes:
    """Return the XLSForm as .xlsx bytes."""
    buffer = io.BytesIO()
    workbook(source).save(buffer)
    return buffer.getvalue()


def write(source: Questionnaire | dict, path: Path | str) -> None:
    """Write the XLSForm to an .xlsx file."""
    Path(path).write_bytes(to_bytes(source))


def pyxform_warnings(data: bytes) -> list[str]:
    """Convert the workbook with pyxform as ODK tools will; return its warnings (errors raise)."""
    warnings: list[str] = []
    convert(xlsform=io.BytesIO(data), warnings=warnings, file_type=".xlsx")
    return warnings
