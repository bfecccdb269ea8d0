"""XLSForm export: pyxform converts every bundled questionnaire; ours → XLSForm → ours is lossless."""

import copy
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pyxform.xls2xform import convert

from survey.definitions import load
from survey.instruments import xlsform
from survey.instruments.xlsform_import import import_xlsform
from tests.factories import SMALL_QUESTIONNAIRE

BUNDLED = sorted((Path(__file__).resolve().parents[2] / "questionnaires").glob("*.yaml"))


def sheet(data: bytes, name: str) -> list[dict]:
    """Read a sheet of an exported workbook as dicts by header."""
    rows = list(load_workbook(io.BytesIO(data))[name].values)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_questionnaire_converts_with_pyxform(path, tmp_path):
    """pyxform turns the export of every bundled questionnaire into an XForm without warnings."""
    target = tmp_path / f"{path.stem}.xlsx"
    xlsform.write(load.load_file(path), target)
    warnings: list[str] = []
    result = convert(xlsform=str(target), warnings=warnings)
    assert "<h:html" in result.xform and warnings == []


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_round_trip_keeps_every_bundled_questionnaire(path):
    """Export then import gives back the same document (ids, texts, options, scores, logic)."""
    document = load.normalise(load.read_document(path))
    report = import_xlsform(xlsform.to_bytes(document))
    assert report.lines == [] and report.accepted()
    assert load.normalise(report.document) == document


def test_round_trip_keeps_number_bounds_and_shared_scales():
    """Integer bounds, a scale and section relevance survive the round trip."""
    report = import_xlsform(xlsform.to_bytes(SMALL_QUESTIONNAIRE))
    assert load.normalise(report.document) == load.normalise(SMALL_QUESTIONNAIRE)
    assert report.definition.item("age").min == 18 and report.definition.sections[1].relevant


def test_settings_name_the_form_and_its_default_language():
    """The settings sheet carries form_id, version and Vietnamese as the default language."""
    settings = sheet(xlsform.to_bytes(SMALL_QUESTIONNAIRE), "settings")[0]
    assert (settings["form_id"], settings["version"], settings["default_language"]) == (
        "small", "1", "Vietnamese (vi)")
    assert settings["scales"] == "sat5" and settings["title_en"] == "Small form"


def test_bounds_are_also_a_constraint_for_odk():
    """An integer's min and max are kept in their columns and enforced by an ODK constraint."""
    age = next(r for r in sheet(xlsform.to_bytes(SMALL_QUESTIONNAIRE), "survey") if r["name"] == "age")
    assert (age["min"], age["max"], age["constraint"]) == (18, 120, ". >= 18 and . <= 120")


def test_likert_matrix_is_a_group_of_likert_rows():
    """A Likert matrix becomes a field-list group of select_one rows with appearance likert."""
    rows = sheet(xlsform.to_bytes(SMALL_QUESTIONNAIRE), "survey")
    start = next(i for i, r in enumerate(rows) if r["name"] == "m1")
    assert rows[start]["type"] == "begin_group" and rows[start]["appearance"] == "field-list"
    assert rows[start + 1]["type"] == "select_one sat5" and rows[start + 1]["appearance"] == "likert"
    assert rows[start + 1]["score_node"] == "sipas.service.access.signs"


def test_options_keep_score_and_excluded():
    """Choice rows carry the option score and the excluded flag in extra columns."""
    choices = {r["name"]: r for r in sheet(xlsform.to_bytes(SMALL_QUESTIONNAIRE), "choices")
               if r["list_name"] == "sat5"}
    assert choices["4"]["score"] == "satisfied" and choices["9"]["excluded"] == "yes"
    assert choices["1"]["label::English (en)"] == "Very dissatisfied"


def test_long_text_is_multiline_text():
    """A long text is exported as text with appearance multiline and a length constraint."""
    document = load.normalise(load.read_document(BUNDLED[0]))
    row = next(r for r in sheet(xlsform.to_bytes(document), "survey") if r["name"] == "z_comment")
    assert (row["type"], row["appearance"], row["constraint"]) == (
        "text", "multiline", "string-length(.) <= 2000")


def test_own_constraint_is_split_from_bounds():
    """A constraint joined to the bounds on export is given back alone on import."""
    bounds = xlsform.bounds_constraint("multiple_choice", 1, 3, None)
    joined = xlsform.combined_constraint(bounds, "not(selected(., '6'))")
    assert xlsform.split_constraint(bounds, joined) == "not(selected(., '6'))"


def test_other_specify_is_exported_as_or_other_or_as_its_own_text_row():
    """Code "other": `select_one list or_other` (pyxform adds `<id>_other`); another code ("X"): our
    column and the text row, which pyxform converts and our import folds back into the feature."""
    document = copy.deepcopy(SMALL_QUESTIONNAIRE)
    first, wish = document["sections"][0]["items"][0], document["sections"][1]["items"][1]
    first["options"].append({"code": "other", "label": {"vi": "Khác", "en": "Other"}})
    first["other_specify"] = "other"
    wish["options"].append({"code": "X", "label": {"vi": "Nội dung khác", "en": "Something else"}})
    wish["other_specify"] = "X"
    data = xlsform.to_bytes(load.from_document(document))
    rows = {row["name"]: row for row in sheet(data, "survey")}
    assert rows["used"]["type"] == "select_one used or_other" and "used_other" not in rows
    assert rows["wish"]["type"] == "select_multiple wish" and rows["wish"]["other_specify"] == "X"
    assert (rows["wish_other"]["type"], rows["wish_other"]["relevant"], rows["wish_other"]["required"]) == (
        "text", "selected(${wish}, 'X')", "yes")
    assert rows["wish_other"]["label::Vietnamese (vi)"] == "Nếu chọn «Nội dung khác», xin ghi rõ:"
    xform = convert(xlsform=io.BytesIO(data), file_type=".xlsx").xform
    assert 'nodeset="/data/s1/used_other"' in xform and 'nodeset="/data/s2/wish_other"' in xform
    report = import_xlsform(data)
    # notes only: or_other itself, and pyxform's warning that or_other's own text is untranslated
    assert {line.kind for line in report.lines} == {"note"} and report.accepted()
    assert any("or_other and translations" in str(line.message) for line in report.lines)
    assert load.normalise(report.document) == load.normalise(document)
