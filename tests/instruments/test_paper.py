"""Paper forms: question numbers and skip instructions in plain Vietnamese."""

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
        assert sections[1].skip == "Chỉ trả lời phần này nếu câu 1.1 = y"
        assert [e.number for e in sections[1].items] == ["2.1", "2.2"]


def test_form_code_names_questionnaire_and_version():
    """The printed form code is the questionnaire id and version."""
    assert paper.form_code(load.from_document(SMALL_QUESTIONNAIRE)) == "small v1"
