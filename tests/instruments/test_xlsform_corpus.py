"""The XLSForm corpus (tests/instruments/xlsforms, written by make_corpus.py): every form pyxform converts
is imported (partially where needed, each dropped row named), every form pyxform refuses is refused with
pyxform's reason, through the function, the command and the staff page, without a traceback; imported
forms exported again convert with pyxform and keep their languages, choices, conditions and constraints.
"""

import importlib.util
import io
import json
import re
from collections import Counter
from pathlib import Path

import pytest
import xlrd
from pyxform.xls2xform import convert

from survey.definitions import engine, expressions
from survey.instruments import xlsform
from survey.instruments.models import QuestionnaireVersion
from survey.instruments.xlsform_import import import_xlsform
from survey.instruments.xlsform_read import file_type
from survey.responses.models import Answer
from tests.conftest import TEST_SECRET
from tests.factories import CSRF, log_in, make_invitation, make_version

HERE = Path(__file__).parent / "xlsforms"
EXPECTED = json.loads((HERE / "expected.json").read_text(encoding="utf-8"))
NAMES = sorted(EXPECTED)


def data_of(name: str) -> bytes:
    """Return a corpus file's bytes."""
    return (HERE / "corpus" / name).read_bytes()


def pyxform_converts(name: str) -> bool:
    """Tell whether pyxform itself converts the form."""
    data = data_of(name)
    try:
        convert(xlsform=data, file_type=file_type(data, name))
    except Exception:  # noqa: BLE001 - any failure of pyxform counts as a refusal
        return False
    return True


def imported_versions() -> set[tuple[str, str]]:
    """Return the (id, version) of every form that imports (a form given in two formats counts once)."""
    found = set()
    for name in NAMES:
        definition = import_xlsform(data_of(name), filename=name).definition
        if EXPECTED[name]["outcome"] != "refused":
            found.add((definition.id, definition.version))
    return found


def outcome(report) -> str:
    """Name what an import gave: refused, partial (needs --accept-partial) or full."""
    return "refused" if report.refused() else "full" if report.accepted() else "partial"


def test_corpus_is_large_and_varied():
    """At least 30 forms, in each format pyxform reads, with a 300-row form, and each outcome."""
    assert len(NAMES) >= 30
    assert set(Counter(Path(n).suffix for n in NAMES)) == {".xlsx", ".xls", ".csv", ".md"}
    assert set(Counter(e["outcome"] for e in EXPECTED.values())) == {"full", "partial", "refused"}
    large = import_xlsform(data_of("large_330_rows.xls"), filename="large_330_rows.xls")
    assert len(large.definition.items()) >= 300


def test_committed_corpus_is_what_the_script_writes(tmp_path):
    """make_corpus.py writes the committed forms (.xlsx differ only by their time stamps) and expectations."""
    spec = importlib.util.spec_from_file_location("make_corpus", HERE / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    assert json.loads((tmp_path / "expected.json").read_text(encoding="utf-8")) == EXPECTED
    for name in NAMES:
        written = (tmp_path / "corpus" / name).read_bytes()
        if name.endswith(".xlsx"):
            assert import_xlsform(written, filename=name).document == import_xlsform(
                data_of(name), filename=name).document, name
        else:
            assert written == data_of(name), name


def test_xls_files_are_real_biff_workbooks():
    """The .xls fixtures are read by xlrd itself (no library writes .xls, so make_corpus builds them)."""
    book = xlrd.open_workbook(file_contents=data_of("basic_vi_en.xls"))
    assert book.sheet_names() == ["survey", "choices", "settings"]
    assert book.sheet_by_name("survey").cell_value(2, 2) == "Ông/Bà đã dùng dịch vụ?"


@pytest.mark.parametrize("name", NAMES)
def test_each_form_is_imported_or_refused_as_pyxform_decides(app, name):
    """pyxform converts it: imported (fully or partially, every dropped row named); else refused with
    pyxform's own reason. Every line reads in Vietnamese and in English."""
    report = import_xlsform(data_of(name), filename=name)
    expected = EXPECTED[name]
    assert outcome(report) == expected["outcome"], [line.text("en") for line in report.lines]
    assert (outcome(report) != "refused") == pyxform_converts(name)
    if expected["outcome"] == "refused":
        assert report.of_kind("refused") and "pyxform" in report.lines[0].text("en")
    else:
        assert report.accepted(accept_partial=True) and not report.of_kind("invalid")
    dropped = {line.row for line in report.of_kind("unsupported") if line.sheet == "survey"}
    assert set(expected["dropped_survey_rows"]) <= dropped
    for line in report.lines:
        vietnamese, english = line.text("vi"), line.text("en")
        assert vietnamese.startswith(("trang ", "biểu mẫu: ")) and not english.startswith(("trang", "biểu"))


def test_command_imports_or_refuses_every_form(runner, session, tmp_path):
    """`flask questionnaires import-xlsform` on every form: published, or refused with the reason."""
    for name in NAMES:
        path = tmp_path / name
        path.write_bytes(data_of(name))
        result = runner.invoke(args=["questionnaires", "import-xlsform", str(path), "--accept-partial"])
        assert (
            "Traceback" not in result.output
            and result.exception is None
            or isinstance(result.exception, SystemExit)
        ), (name, result.output)
        if EXPECTED[name]["outcome"] == "refused":
            assert result.exit_code == 1 and "pyxform refuses the form" in result.output, name
        else:
            assert result.exit_code == 0, (name, result.output)
    assert session.query(QuestionnaireVersion).count() == len(imported_versions())


def test_command_without_partial_names_dropped_rows(runner, tmp_path):
    """A form with dropped rows is refused without --accept-partial; the rows are listed in both languages."""
    path = tmp_path / "repeats.xlsx"
    path.write_bytes(data_of("repeats.xlsx"))
    result = runner.invoke(args=["questionnaires", "import-xlsform", str(path)])
    assert result.exit_code == 1 and "--accept-partial" in result.output
    assert (
        "trang survey, dòng 3: không giữ được" in result.output
        and "survey row 4: unsupported" in result.output
    )


def upload(client, name: str, partial: bool = True):
    """Post a corpus file to the staff import form."""
    token = CSRF.search(client.get("/staff/questionnaires").text).group(1)
    form = {"csrf_token": token, "file": (io.BytesIO(data_of(name)), name)}
    if partial:
        form["accept_partial"] = "y"
    return client.post("/staff/questionnaires/import", data=form, content_type="multipart/form-data")


def test_staff_page_imports_or_refuses_every_form(client, session):
    """The staff page takes every format; refused forms show pyxform's reason, partial ones their report."""
    log_in(client, session, "coordinator")
    for name in NAMES:
        response = upload(client, name)
        if EXPECTED[name]["outcome"] == "refused":
            assert response.status_code == 422 and "pyxform" in response.text, name
        else:
            assert response.status_code in (200, 302), (name, response.status_code)
        if EXPECTED[name]["dropped_survey_rows"]:
            row = EXPECTED[name]["dropped_survey_rows"][0]
            assert f"trang survey, dòng {row}: không giữ được" in response.text, name
    assert session.query(QuestionnaireVersion).count() == len(imported_versions())


def _logic(document: dict) -> dict:
    """Return what a round trip must keep: per item, its type, options, relevance and constraint."""
    scales = document.get("scales", {})
    found = {}
    for section in document["sections"]:
        found[section["id"]] = (section.get("relevant"), sorted(section["title"]))
        for item in section["items"]:
            options = item.get("options") or scales.get(item.get("scale"), [])
            found[item["id"]] = (
                item["type"],
                [(o["code"], o["label"]) for o in options],
                item.get("relevant"),
                item.get("constraint"),
                item["label"],
            )
    return found


@pytest.mark.parametrize("name", [n for n in NAMES if EXPECTED[n]["outcome"] != "refused"])
def test_round_trip_keeps_languages_choices_and_logic(name):
    """Imported, exported again: pyxform converts it, and importing it gives the same questionnaire."""
    first = import_xlsform(data_of(name), filename=name)
    exported = xlsform.to_bytes(first.document)
    convert(xlsform=io.BytesIO(exported), file_type=".xlsx")  # raises if pyxform refuses
    second = import_xlsform(exported, filename="exported.xlsx")
    assert second.accepted(), [str(line) for line in second.lines]
    assert second.document.get("languages") == first.document.get("languages")
    assert second.document.get("source_version") == first.document.get("source_version")
    assert _logic(second.document) == _logic(first.document)


def test_languages_are_all_kept(app):
    """English and Swahili, Chinese and English, Vietnamese-English-French: every text in every language."""
    swahili = import_xlsform(data_of("english_swahili.csv"), filename="english_swahili.csv").definition
    members = swahili.item("members")
    assert (members.label.get("sw"), members.label.get("en"), members.hint.get("sw")) == (
        "Wanakaya wangapi?",
        "How many members?",
        "Hesabu wote",
    )
    assert members.label.vi == "How many members?"  # English, the default language, stands in
    assert members.constraint_message.get("sw") == "Angalau mmoja"
    assert [c for c, _ in swahili.text_languages()] == ["en", "sw"]
    assert swahili.item("source").option("well").label.get("sw") == "Kisima"
    chinese = import_xlsform(data_of("chinese_english.xlsx"), filename="chinese_english.xlsx").definition
    assert chinese.item("sat").label.get("zh") == "您对服务满意吗？"
    assert chinese.text_languages() == [("zh", "中文"), ("en", "English")]
    french = import_xlsform(data_of("vi_en_fr.md"), filename="vi_en_fr.md").definition
    assert (
        french.item("what").label.get("fr") == "Quel service ?"
        and french.item("what").label.vi == "Dịch vụ nào?"
    )
    kirundi = import_xlsform(data_of("language_without_code.md"), filename="x.md")
    assert kirundi.definition.item("hill").label.get("x-kirundi") == "Umusozi"


def test_legacy_spellings_mean_what_they_mean_to_pyxform():
    """`label:english`, `select one from`, `add integer prompt`, `caption`, `list name`."""
    colon = import_xlsform(data_of("legacy_single_colon.xls"), filename="legacy_single_colon.xls").definition
    assert colon.item("ok").label.en == "Satisfied?" and colon.item("ok").hint.en == "Pick one"
    assert [o.code for o in colon.item("ok").options] == ["y", "n"]
    types = import_xlsform(data_of("legacy_types.xlsx"), filename="legacy_types.xlsx").definition
    assert [(i.id, i.type) for i in types.items()] == [
        ("a", "single_choice"),
        ("b", "multiple_choice"),
        ("c", "single_choice"),
        ("d", "integer"),
        ("e", "text"),
        ("f", "date"),
        ("g", "note"),
    ]
    caption = import_xlsform(data_of("caption_legacy.xls"), filename="caption_legacy.xls").definition
    assert (
        caption.item("b").relevant == "${a} = 'y'" and caption.item("b").constraint_message.vi == "Ít hơn 20"
    )


def test_free_form_version_is_kept_as_given():
    """A Kobo version (date and time) is normalised for our version field and exported as given."""
    report = import_xlsform(data_of("free_version.xls"), filename="free_version.xls")
    assert report.definition.version == "2022-04-11-16-26-28.971000"
    assert report.document["source_version"] == "2022-04-11 16:26:28.971000"
    settings = xlsform.settings_row(report.document)
    assert settings["version"] == "2022-04-11 16:26:28.971000"


def test_duplicate_choice_names_with_choice_filter_are_kept_once():
    """The same name twice in a filtered list is one option; the filter itself is reported."""
    report = import_xlsform(data_of("choice_filter_duplicates.xlsx"), filename="c.xlsx")
    district = report.definition.item("district")
    assert [o.code for o in district.options] == ["center", "bd", "lc"]
    assert any(
        "choice_filter" in str(line.message) and line.row == 3 for line in report.of_kind("unsupported")
    )


def test_save_incomplete_is_not_taken_for_a_language(app):
    """`bind::saveIncomplete` is an ignored column, never "language not supported"."""
    report = import_xlsform(data_of("save_incomplete.xlsx"), filename="s.xlsx")
    assert report.accepted() and "languages" not in report.document
    assert [line.text("en") for line in report.lines if line.sheet != "pyxform"] == [
        "survey row 2: note: column 'bind::saveIncomplete' does not apply here; ignored"
    ]


def test_names_our_ids_cannot_take_are_renamed_with_their_references():
    """`câu_1`, `q.2`, a choice `rat tot`: renamed, and the conditions that name them follow."""
    definition = import_xlsform(data_of("unicode_names.xlsx"), filename="u.xlsx").definition
    assert definition.item("q_2").relevant == "${cau_1} = 'rat_tot'"
    assert [o.code for o in definition.item("cau_1").options] == ["rat_tot", "tot"]


def test_auto_named_notes_take_pyxform_names():
    """Notes without a name get the name pyxform gives them."""
    definition = import_xlsform(data_of("auto_named_notes.xlsx"), filename="a.xlsx").definition
    assert [i.id for i in definition.items()] == ["generated_note_name_2", "age", "generated_note_name_4"]


def test_calculations_are_put_in_place():
    """Calculations our expressions evaluate stand in for their references, and work when answering."""
    definition = import_xlsform(data_of("calculate_ok.xlsx"), filename="c.xlsx").definition
    many = definition.item("many")
    assert many.relevant == "((${adults} + ${children}) > 5)"
    assert engine.item_visible(many, {"adults": 4.0, "children": 2.0})
    assert not engine.item_visible(many, {"adults": 1.0, "children": 2.0})
    assert expressions.holds(definition.item("rooms").constraint, {"adults": 1.0, "children": 1.0}, 2.0)


def test_or_other_adds_the_choice_and_its_follow_up():
    """`or_other`: the choice "other", which opens a text shown only when it is chosen (the item's
    "other, please specify" feature, the text stored as `<name>_other` as pyxform names it)."""
    report = import_xlsform(data_of("or_other.md"), filename="o.md")
    definition = report.definition
    assert report.document["sections"][0]["items"][0]["other_specify"] == "other"
    assert "office_other" not in [i["id"] for s in report.document["sections"] for i in s["items"]]
    office, follow = definition.item("office"), definition.item("office_other")
    assert office.other_specify == "other" and follow.other_of == "office" and follow.required
    assert office.options[-1].code == "other" and office.options[-1].label.en == "Other"
    assert follow.type == "text" and follow.relevant == "selected(${office}, 'other')"
    assert engine.item_visible(follow, {"office": "other"}) and not engine.item_visible(
        follow, {"office": "ubnd"}
    )
    assert definition.item("docs_other").relevant == "selected(${docs}, 'other')"


def _respondent(session, name: str):
    """Publish an imported corpus form and invite a respondent to it; return (token, unit id)."""
    document = import_xlsform(data_of(name), filename=name).document
    invitation, token = make_invitation(session, TEST_SECRET, version=make_version(session, document))
    session.commit()
    return token, invitation.units[0].unit_id


def _first_page(client, token, unit_id) -> str:
    """Start answering; return the first page's URL."""
    landing = client.get(f"/r/{token}")
    csrf = CSRF.search(landing.text).group(1)
    response = client.post(f"/r/{token}/u/{unit_id}/start", data={"csrf_token": csrf})
    return response.headers["Location"]


def test_respondent_picks_a_language_of_the_form(client, session):
    """A Swahili form is offered in English and Swahili; the page chrome stays Vietnamese."""
    token, unit_id = _respondent(session, "english_swahili.xlsx")
    url = _first_page(client, token, unit_id)
    page = client.get(url)
    assert "How many members?" in page.text and f'formaction="{url}?text=sw"' in page.text
    assert "Gửi phiếu" in page.text
    assert '<strong lang="en">English</strong>' in page.text  # the form has no Vietnamese: English shows
    page = client.get(f"{url}?text=sw")
    assert "Wanakaya wangapi?" in page.text and "Gửi phiếu" in page.text
    assert "Wanakaya wangapi?" in client.get(url).text  # the choice is kept
    # The switch is a button of the page's form: what was typed is saved before the page is shown again.
    csrf = CSRF.search(page.text).group(1)
    switched = client.post(f"{url}?text=en", data={"csrf_token": csrf, "switch": "en", "members": "4"})
    assert switched.status_code == 302 and switched.headers["Location"] == url
    again = client.get(url).text
    assert "How many members?" in again
    assert re.search(r'name="members"[^>]*value="4"|value="4"[^>]*name="members"', again)


def test_respondent_specifies_other(client, session):
    """Choosing "other" and writing what it is stores both answers."""
    token, unit_id = _respondent(session, "or_other.xlsx")
    url = _first_page(client, token, unit_id)
    page = client.get(url)
    assert 'value="other"' in page.text and "Nếu chọn «Khác», xin ghi rõ:" in page.text
    csrf = CSRF.search(page.text).group(1)
    response = client.post(
        url,
        data={
            "csrf_token": csrf,
            "office": "other",
            "office_other": "Sở Tư pháp",
            "docs": ["cccd"],
            "n": "2",
            "action": "submit",
        },
    )
    assert response.status_code == 302, response.text
    stored = {a.item_id: a for a in session.query(Answer)}
    assert stored["office"].value_text == "other" and stored["office_other"].value_text == "Sở Tư pháp"
