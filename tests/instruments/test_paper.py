"""Paper forms: question numbers and skip instructions in plain Vietnamese."""

from survey import bundled
from survey.definitions import load
from survey.instruments import paper
from tests.factories import SMALL_QUESTIONNAIRE

NUMBERS = {"used": "1.1", "age": "1.2", "wish": "2.2"}


def test_equality_is_put_into_words(app):
    """A simple equality reads as an instruction with the question number."""
    with app.test_request_context():
        assert paper.condition("${used} = 'y'", NUMBERS) == "câu 1.1 = y"


def test_and_or_selected_and_inequality_are_put_into_words(app):
    """Joined simple conditions, selected() and != are phrased too."""
    with app.test_request_context():
        text = paper.condition("selected(${wish}, 'a') and ${age} != 18", NUMBERS)
        assert text == "câu 2.2 có chọn a và câu 1.2 ≠ 18"


def test_complex_condition_shows_the_expression(app):
    """Anything else is shown as the expression with question numbers in place of ids."""
    with app.test_request_context():
        assert paper.condition("${age} + 1 > 20", NUMBERS) == "[câu 1.2] + 1 > 20"


def test_section_skip_instruction(app):
    """A section's relevance becomes an instruction for the whole part."""
    with app.test_request_context():
        sections = paper.paper_form(load.from_document(SMALL_QUESTIONNAIRE))
        assert sections[1].skip == "Chỉ trả lời phần này nếu ở câu 1.1 Ông/Bà chọn «Có»"
        assert [e.number for e in sections[1].items] == ["2.1", "2.2"]


def test_form_code_names_questionnaire_and_version():
    """The printed form code is the questionnaire id and version."""
    assert paper.form_code(load.from_document(SMALL_QUESTIONNAIRE)) == "small v1"


def test_choices_are_named_by_their_labels(app):
    """Given the questionnaire, `=`, `!=`, selected() and not(selected()) name the option's label in the
    language asked for; the late-file follow-up of SIPAS reads as the issue asks."""
    definition = load.load_file(bundled.QUESTIONNAIRES / "sipas-service.yaml")
    numbers = definition.numbers()
    with app.test_request_context():
        late = paper.item_skip(definition.item("q5_apology"), numbers, definition)
        assert late == f"Chỉ trả lời nếu ở câu {numbers['q4_timeliness']} Ông/Bà chọn «Trễ hẹn»"
        assert paper.condition("${s2_place} != '3'", numbers, definition, "en") == (
            f"ở câu {numbers['s2_place']} Ông/Bà không chọn «Online public service portal»")
        either = "not(selected(${e1_improve}, '4')) or ${s1_field} = '2'"
        assert paper.condition(either, numbers, definition) == (
            f"ở câu {numbers['e1_improve']} Ông/Bà không chọn «Giảm phí, lệ phí» hoặc "
            f"ở câu {numbers['s1_field']} Ông/Bà chọn «Đất đai»")
        # an unknown code falls back to the code, a complex expression to the expression itself
        assert paper.condition("${s2_place} = '7'", numbers, definition) == f"câu {numbers['s2_place']} = 7"
        assert paper.condition("count-selected(${e1_improve}) > 2", numbers, definition) == (
            f"count-selected([câu {numbers['e1_improve']}]) > 2")


def test_sections_and_questions_share_one_numbering(app):
    """Section n holds questions n.1, n.2 …; a number written into a title is not printed twice."""
    definition = load.load_file(bundled.QUESTIONNAIRES / "par-hdnd-tinh.yaml")
    with app.test_request_context():
        sections = paper.paper_form(definition)
    for part in sections:
        assert part.number == definition.section_numbers()[part.section.id]
        assert not part.section.plain_title.vi[:1].isdigit()
        numbered = [entry.number for entry in part.items if entry.number]
        assert all(number.startswith(f"{part.number}.") for number in numbered)
    assert definition.sections[1].title.vi.startswith("1. ")  # written "1. …" but it is section 2
    assert sections[1].section.plain_title.vi == definition.sections[1].title.vi[3:]


def test_other_specify_text_is_printed_unnumbered_without_a_skip_line(app):
    """The "Khác, ghi rõ" line belongs to its question: no number and its label says when."""
    definition = load.load_file(bundled.QUESTIONNAIRES / "sipas-service.yaml")
    with app.test_request_context():
        entries = [e for part in paper.paper_form(definition) for e in part.items]
    other = next(e for e in entries if e.item.id == "d4_occupation_other")
    assert other.number is None and other.skip is None
    assert other.item.label.vi == "Nếu chọn «Khác», xin ghi rõ:"
