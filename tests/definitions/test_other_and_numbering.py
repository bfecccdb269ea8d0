"""The questionnaire format's "other, please specify" (`other_specify`) and its one numbering scheme."""

import copy
import dataclasses

import pytest

from survey import bundled
from survey.definitions import engine, load
from survey.definitions.model import Section, Text
from tests.factories import SMALL_QUESTIONNAIRE


def with_other(code="n", **changes) -> dict:
    """The small questionnaire, its first question's option `code` opening a text."""
    document = copy.deepcopy(SMALL_QUESTIONNAIRE)
    document["sections"][0]["items"][0]["other_specify"] = code
    document["sections"][0]["items"][0].update(changes)
    return document


def test_other_specify_adds_its_text_right_after_the_question():
    """The text `<id>_other`: required, shown only while the option is chosen, unnumbered."""
    definition = load.from_document(with_other())
    first = definition.sections[0]
    assert [i.id for i in first.items] == ["used", "used_other", "age"]
    text = definition.item("used_other")
    assert (text.type, text.required, text.other_of, text.max_length) == ("text", True, "used", 255)
    assert text.label == Text("Nếu chọn «Không», xin ghi rõ:", "If «No», please specify:")
    assert engine.item_visible(text, {"used": "n"}) and not engine.item_visible(text, {"used": "y"})
    assert definition.numbers() == {"used": "1.1", "age": "1.2", "m1": "2.1", "m1_signs": "2.1.1",
                                    "wish": "2.2"}


def test_other_text_is_required_only_while_its_option_is_chosen():
    """Chosen without text: "required"; not chosen: the text is dropped, whatever was typed."""
    section = load.from_document(with_other()).sections[0]
    empty = engine.read_page(section, {"used": "n", "used_other": ""}, {})
    assert empty.errors["used_other"].code == "required"
    read = engine.read_page(section, {"used": "y", "used_other": "gì đó"}, {})
    assert read.errors == {} and read.values["used_other"] is None
    assert engine.read_page(section, {"used": "n", "used_other": "Ở nhà"}, {}).values["used_other"] == "Ở nhà"


@pytest.mark.parametrize(("document", "problem"), [
    (with_other("z"), "item used: other_specify names 'z', which is not one of its options"),
    (with_other(type="integer", options=None), "'other_specify' does not apply to a integer item"),
])
def test_bad_other_specify_is_reported(document, problem):
    """An unknown code, or a type without options, is one clear line."""
    item = document["sections"][0]["items"][0]
    if item.get("options") is None:
        item.pop("options")
    assert any(problem in line for line in load.problems(document)), load.problems(document)


def test_other_text_id_must_be_free_and_may_be_referred_to():
    """`<id>_other` taken by another item is refused; a condition may name the text."""
    taken = with_other()
    taken["sections"][1]["items"].append({"id": "used_other", "type": "text", "label": {"vi": "Khác"}})
    assert "item used: other_specify stores its text as 'used_other', which is another item's id" in \
        load.problems(taken)
    referred = with_other()
    referred["sections"][1]["relevant"] = "${used_other} != ''"
    assert load.problems(referred) == []


def test_section_numbers_come_from_the_order_and_titles_lose_written_numbers():
    """Section n is the nth; "3. Công chức…", "IV. …" and "2.1) …" are shown without their numbers."""
    sipas = load.load_file(bundled.QUESTIONNAIRES / "sipas-service.yaml")
    assert list(sipas.section_numbers().values()) == list(range(1, len(sipas.sections) + 1))
    staff = sipas.sections[3]
    assert staff.heading("vi") == "Công chức trực tiếp giải quyết công việc"
    staff_numbers = {number.split(".")[0] for item_id, number in sipas.numbers().items()
                     if sipas.item(item_id).section_id == "staff"}
    assert staff_numbers == {"4"}
    for title, plain in [("3. Công chức", "Công chức"), ("IV. Tài chính", "Tài chính"),
                         ("2.1) Nhỏ", "Nhỏ"), ("2025 là năm", "2025 là năm"), ("1. ", "1. ")]:
        assert Section("s", Text(title, title), ()).plain_title == Text(plain, plain)


def test_bundled_sipas_marks_its_other_options():
    """Every SIPAS option "Khác" (and "Lĩnh vực khác", "Nội dung khác") opens a text."""
    for name in ("sipas-service", "sipas-policy"):
        definition = load.load_file(bundled.QUESTIONNAIRES / f"{name}.yaml")
        for item in definition.answerable_items():
            others = [o.code for o in item.options if o.label.vi.lower().endswith("khác")
                      and o.label.vi not in ("Dân tộc khác",)]
            if others and item.matrix_id is None:
                assert item.other_specify == others[0], (name, item.id)


def test_numbers_are_computed_once_per_definition_and_read_only():
    """An immutable definition numbers its questions and sections once; every page shares the result."""
    definition = load.from_document(with_other())
    numbers, sections = definition.numbers(), definition.section_numbers()
    assert definition.numbers() is numbers and definition.section_numbers() is sections
    assert numbers == {"used": "1.1", "age": "1.2", "m1": "2.1", "m1_signs": "2.1.1", "wish": "2.2"}
    assert sections == {section.id: n for n, section in enumerate(definition.sections, start=1)}
    with pytest.raises(TypeError):
        numbers["used"] = "9.9"  # shared by every page: nobody may change it
    assert definition.numbers()["used"] == "1.1"
    assert definition == load.from_document(with_other())  # the cache is not part of the definition
    swapped = dataclasses.replace(definition, sections=definition.sections[::-1])
    assert swapped.numbers()["m1"] == "1.1" and swapped.numbers()["used"] == "2.1"
    assert list(swapped.section_numbers().values()) == [1, 2] and definition.numbers()["m1"] == "2.1"
