"""XLSForm import: a hand-made form, the report of rows we cannot represent, refuse or accept partially."""

import io
import unicodedata

import yaml
from openpyxl import Workbook

from survey.definitions import load
from survey.instruments.models import QuestionnaireVersion
from survey.instruments.xlsform_import import import_xlsform
from survey.instruments.xlsform_read import language

SURVEY = [
    ["type", "name", "label", "label::English", "hint::Tiếng Việt", "hint::en", "required", "relevant",
     "constraint", "constraint_message::Vietnamese (vi)", "constraint_message::English (en)", "appearance",
     "calculation"],
    ["begin_group", "g1", "Phần một", "Part one", None, None, None, None, None, None, None, "field-list"],
    ["select_one yn", "used", "Ông/Bà đã dùng dịch vụ?", "Did you use it?", "Chọn một", "Choose one", "yes"],
    ["integer", "visits", "Số lần đến", "Visits", None, None, None, "${used} = 'y'", ". >= 1 and . <= 20",
     "Từ 1 đến 20 lần", "1 to 20 visits"],
    ["select_multiple ch", "channels", "Kênh thông tin", "Channels", None, None, None, "${used} = 'y'",
     "count-selected(.) <= 2", "Tối đa hai kênh", "Two at most"],
    ["end_group"],
    ["begin_group", "g2", "Phần hai", "Part two", None, None, None, "${used} = 'y'"],
    ["select_one yn", "again", "Ông/Bà sẽ quay lại?", "Would you come back?"],
    ["text", "why", "Vì sao?", "Why?", None, None, None, None, None, None, None, "multiline"],
    ["end_group"],
]
CHOICES = [
    ["list_name", "name", "label::Vietnamese (vi)", "label::English (en)"],
    ["yn", "y", "Có", "Yes"], ["yn", "n", "Không", "No"],
    ["ch", "a", "Zalo", "Zalo"], ["ch", "b", "Điện thoại", "Phone"], ["ch", "c", "Trang web", "Website"],
]
SETTINGS = [["form_title", "form_id", "version"], ["Phiếu thử", "thu", "2"]]
UNSUPPORTED = [  # appended inside g2, before its end_group: sheet rows 10 to 15
    ["calculate", "total", None, None, None, None, None, None, None, None, None, None,
     "concat(${used}, 'x')"],
    ["geopoint", "where", "Vị trí", "Location"],
    ["begin_repeat", "kids", "Con", "Children"],
    ["integer", "kid_age", "Tuổi", "Age"],
    ["end_repeat"],
    ["select_one yn or_other", "other", "Khác?", "Other?"],
]


def build(survey=SURVEY, choices=CHOICES, settings=SETTINGS) -> bytes:
    """Write an XLSForm workbook from rows of cells."""
    book = Workbook()
    book.remove(book.active)
    for title, rows in (("survey", survey), ("choices", choices), ("settings", settings)):
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_unsupported() -> bytes:
    """The hand-made form with rows we cannot represent added to its second group."""
    return build(SURVEY[:-1] + UNSUPPORTED + SURVEY[-1:])


def test_hand_made_form_is_imported():
    """Groups become sections; labels, hints, logic and choices in two languages are kept."""
    report = import_xlsform(build())
    assert report.accepted() and [line for line in report.lines if line.sheet != "pyxform"] == []
    definition = report.definition
    assert [s.id for s in definition.sections] == ["g1", "g2"]
    assert definition.sections[1].relevant == "${used} = 'y'"
    used = definition.item("used")
    assert (used.label.vi, used.label.en, used.hint.en, used.required) == (
        "Ông/Bà đã dùng dịch vụ?", "Did you use it?", "Choose one", True)
    visits = definition.item("visits")
    assert visits.constraint == ". >= 1 and . <= 20" and visits.constraint_message.en == "1 to 20 visits"
    channels = definition.item("channels")
    assert channels.type == "multiple_choice" and [o.code for o in channels.options] == ["a", "b", "c"]
    assert channels.option("b").label.vi == "Điện thoại"
    assert definition.item("why").type == "long_text"


def test_list_used_twice_becomes_a_scale():
    """A choice list shared by several questions becomes a scale; a list used once stays inline."""
    document = import_xlsform(build()).document
    assert list(document["scales"]) == ["yn"]
    assert "options" in document["sections"][0]["items"][2]


def test_unsupported_rows_are_listed_with_row_numbers(app):
    """Every row we cannot represent is reported with its sheet row number and why, in both languages."""
    report = import_xlsform(with_unsupported())
    lines = {(line.row, line.kind) for line in report.lines}
    assert {(10, "unsupported"), (11, "unsupported"), (12, "unsupported"), (13, "unsupported"),
            (15, "note")} <= lines
    english = [line.text("en") for line in report.lines if line.sheet != "pyxform"]
    assert english[0].startswith("survey row 10: unsupported: calculation 'total'")
    assert english[1].startswith("survey row 11: unsupported: type 'geopoint'")
    assert english[2].startswith("survey row 12: unsupported: begin_repeat 'kids'")
    vietnamese = report.of_kind("unsupported")[1].text("vi")
    assert vietnamese.startswith("trang survey, dòng 11: không giữ được: kiểu 'geopoint'")


def test_import_refuses_by_default():
    """A form with unsupported rows is not accepted unless a partial import is asked for."""
    report = import_xlsform(with_unsupported())
    assert report.definition is not None and not report.accepted()


def test_partial_import_keeps_the_rest():
    """Accepting partially keeps every representable item and drops the others."""
    report = import_xlsform(with_unsupported())
    assert report.accepted(accept_partial=True)
    ids = {item.id for item in report.definition.items()}
    assert {"used", "visits", "channels", "again", "why", "other", "other_other"} <= ids
    assert not ids & {"total", "where", "kids", "kid_age"}


def test_expression_naming_a_dropped_row_is_reported():
    """A relevance that names a dropped calculate row is reported and dropped, not left dangling."""
    survey = SURVEY[:-1] + [UNSUPPORTED[0], ["note", "n1", "Ghi chú", None, None, None, None, "${total} > 1"]]
    report = import_xlsform(build(survey + SURVEY[-1:]))
    assert any(line.row == 11 and "total" in str(line.message) for line in report.lines)
    assert report.accepted(accept_partial=True) and report.definition.item("n1").relevant is None


def test_calculation_we_can_evaluate_is_put_in_place():
    """A calculate row our expressions can evaluate stands in for its reference in conditions."""
    calc = ["calculate", "twice", None, None, None, None, None, None, None, None, None, None,
            "${visits} * 2"]
    survey = SURVEY[:-1] + [calc, ["note", "n1", "Ghi chú", None, None, None, None, "${twice} > 10"]]
    report = import_xlsform(build(survey + SURVEY[-1:]))
    assert report.accepted(), [str(line) for line in report.lines]
    assert report.definition.item("n1").relevant == "(${visits} * 2) > 10"
    assert any(line.row == 10 and line.kind == "note" for line in report.lines)


def test_nested_group_is_flattened_with_a_report_line():
    """A nested group's rows join the section, its relevance joined to theirs, with a note."""
    survey = [*SURVEY[:4], ["begin_group", "inner", "Trong", None, None, None, None, "${used} = 'n'"],
              ["date", "when", "Ngày", "Date"], ["end_group"], *SURVEY[4:]]
    report = import_xlsform(build(survey))
    assert report.accepted() and [line.kind for line in report.lines if line.sheet != "pyxform"] == ["note"]
    assert report.definition.item("when").relevant == "${used} = 'n'"
    assert report.definition.item("when").section_id == "g1"


def test_rows_outside_groups_go_into_a_first_section():
    """Questions before any group land in a default first section."""
    survey = [SURVEY[0], ["integer", "age", "Tuổi", "Age"], *SURVEY[1:]]
    definition = import_xlsform(build(survey)).definition
    assert [s.id for s in definition.sections] == ["general", "g1", "g2"]
    assert definition.sections[0].items[0].id == "age"


def test_text_is_normalised_to_nfc():
    """Decomposed Vietnamese letters are stored precomposed."""
    decomposed = unicodedata.normalize("NFD", "Kênh thông tin")
    survey = [row if row[:2] != ["select_multiple ch", "channels"] else [*row[:2], decomposed, *row[3:]]
              for row in SURVEY]
    label = import_xlsform(build(survey)).definition.item("channels").label.vi
    assert label == "Kênh thông tin" and unicodedata.is_normalized("NFC", label)


def test_language_names_are_recognised():
    """The usual ways XLSForm names Vietnamese and English map to vi and en."""
    assert [language(n) for n in ("Vietnamese (vi)", "Tiếng Việt", "vi", "English (en)", "en", "Français",
                                  "Swahili (sw)", "中文", "Klingon")] \
        == ["vi", "vi", "vi", "en", "en", "fr", "sw", "zh", None]


def test_form_pyxform_refuses_is_refused_with_its_reason():
    """A form pyxform rejects (a list that does not exist) is refused with pyxform's own message."""
    survey = [*SURVEY[:2], ["select_one nolist", "x", "X"], *SURVEY[2:]]
    report = import_xlsform(build(survey))
    assert report.of_kind("refused") and not report.accepted(accept_partial=True)
    assert "List name not in choices sheet: nolist" in str(report.lines[0].message)


def test_cli_refuses_and_lists_rows(runner, session, tmp_path):
    """The command prints the report, exits non-zero and stores nothing when it refuses."""
    path = tmp_path / "form.xlsx"
    path.write_bytes(with_unsupported())
    result = runner.invoke(args=["questionnaires", "import-xlsform", str(path)])
    assert result.exit_code != 0 and "survey row 11: unsupported" in result.output
    assert "trang survey, dòng 11: không giữ được" in result.output
    assert "--accept-partial" in result.output and session.query(QuestionnaireVersion).count() == 0


def test_cli_accept_partial_publishes(runner, session, tmp_path):
    """With --accept-partial the representable part is published."""
    path = tmp_path / "form.xlsx"
    path.write_bytes(with_unsupported())
    result = runner.invoke(args=["questionnaires", "import-xlsform", str(path), "--accept-partial"])
    assert result.exit_code == 0, result.output
    assert session.query(QuestionnaireVersion).one().definition["id"] == "thu"


def test_cli_writes_yaml_that_validates(runner, tmp_path):
    """With --out the questionnaire is written as our YAML, which our loader accepts."""
    path, out = tmp_path / "form.xlsx", tmp_path / "thu.yaml"
    path.write_bytes(build())
    result = runner.invoke(args=["questionnaires", "import-xlsform", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert load.load_file(out).id == "thu"
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["version"] == "2"


def test_cli_exports_from_files_when_not_loaded(runner, tmp_path):
    """export-xlsform reads the bundled file when the database holds no version."""
    out = tmp_path / "sipas.xlsx"
    result = runner.invoke(args=["questionnaires", "export-xlsform", "sipas-service", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert import_xlsform(out.read_bytes()).definition.id == "sipas-service"


def test_cli_exports_the_stored_version(runner, session, tmp_path):
    """export-xlsform reads the published version from the database."""
    path = tmp_path / "form.xlsx"
    path.write_bytes(build())
    runner.invoke(args=["questionnaires", "import-xlsform", str(path)])
    out = tmp_path / "thu.xlsx"
    result = runner.invoke(args=["questionnaires", "export-xlsform", "thu", "--version", "2",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert import_xlsform(out.read_bytes()).definition.item("why").type == "long_text"


def test_condition_on_the_item_itself_is_dropped_not_refused():
    """pyxform lets a relevance name its own item; ours cannot, so it is reported and dropped."""
    row = ["integer", "self_ref", "Số", None, None, None, None, "${self_ref} > 1"]
    survey = [*SURVEY[:3], row, *SURVEY[3:]]
    report = import_xlsform(build(survey))
    assert report.accepted(accept_partial=True) and report.definition.item("self_ref").relevant is None
    assert any(line.row == 4 and line.kind == "unsupported" for line in report.lines)


def test_control_characters_are_removed_from_texts():
    """A bidi override in a label is removed, not a reason to refuse."""
    survey = [row if row[:2] != ["integer", "visits"] else [*row[:2], "Số\u202e lần", *row[3:]]
              for row in SURVEY]
    report = import_xlsform(build(survey))
    assert report.accepted() and report.definition.item("visits").label.vi == "Số lần"
