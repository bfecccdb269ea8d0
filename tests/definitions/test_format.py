"""`questionnaires validate`: each kind of broken file is rejected with one clear line."""

import copy

import pytest
import yaml

from survey.definitions import load
from tests.factories import SMALL_QUESTIONNAIRE


def broken(change) -> dict:
    """Return a copy of the small questionnaire with one change applied."""
    document = copy.deepcopy(SMALL_QUESTIONNAIRE)
    change(document)
    return document


def first_items(document) -> list:
    """Return the items of the first section."""
    return document["sections"][0]["items"]


def validate_file(runner, tmp_path, document) -> tuple[int, list[str]]:
    """Write a document to a file, run the validate command, return exit code and error lines."""
    path = tmp_path / "q.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(args=["questionnaires", "validate", str(path)])
    lines = [line for line in result.output.splitlines() if line.startswith(str(path))]
    return result.exit_code, lines


def test_valid_questionnaire_passes(runner, tmp_path):
    """The small questionnaire validates with no problem."""
    code, lines = validate_file(runner, tmp_path, SMALL_QUESTIONNAIRE)
    assert code == 0 and lines == []


CASES = {
    "unknown item type": (
        lambda d: first_items(d)[1].update(type="slider"),
        "item age: unknown item type 'slider'"),
    "duplicate item id": (
        lambda d: first_items(d)[1].update(id="used"),
        "item used: duplicate item id 'used'"),
    "relevant names an unknown item": (
        lambda d: d["sections"][1].update(relevant="${nobody} = 'y'"),
        "section s2: relevant names unknown item 'nobody'"),
    "expression syntax error": (
        lambda d: first_items(d)[1].update(constraint=". >= 18 and"),
        "item age: constraint: syntax error in '. >= 18 and': expression ends too early"),
    "missing Vietnamese label": (
        lambda d: first_items(d)[1]["label"].pop("vi"),
        "item age: label: missing Vietnamese label (vi)"),
    "score on an option of an unscored item": (
        lambda d: first_items(d)[0]["options"][0].update(score=1),
        "item used: score on option 'y' (options) of an unscored item"),
}


@pytest.mark.parametrize("case", CASES)
def test_rejection_is_one_clear_line(runner, tmp_path, case):
    """Each broken file fails with exactly one line naming the file, the item and the problem."""
    change, expected = CASES[case]
    code, lines = validate_file(runner, tmp_path, broken(change))
    assert code == 1
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{tmp_path / 'q.yaml'}: {expected}")


def test_not_nfc_text_is_rejected():
    """Decomposed Vietnamese letters are refused: the text must be NFC."""
    document = broken(lambda d: first_items(d)[1]["label"].update(vi="Tuo\u0302\u0309i"))
    with pytest.raises(load.DefinitionError, match="item age: label.vi: .* is not Unicode NFC"):
        load.from_document(document, "q.yaml")


def test_relevant_on_itself_is_rejected():
    """An item whose relevance depends on itself is refused."""
    document = broken(lambda d: first_items(d)[1].update(relevant="${age} > 1"))
    with pytest.raises(load.DefinitionError, match="item age: relevant refers to the item itself"):
        load.from_document(document, "q.yaml")


def test_fraction_scores_need_every_option():
    """With method fraction, a non-excluded option without a score is refused."""
    def change(d):
        item = first_items(d)[0]
        item["score"] = {"node": "par.1.1", "method": "fraction"}
        item["options"][0]["score"] = 1
    with pytest.raises(load.DefinitionError, match="item used: option 'n' needs a score"):
        load.from_document(broken(change), "q.yaml")


def test_yaml_syntax_error_is_one_line(tmp_path):
    """A YAML syntax error names the file and the line."""
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nsections: [\n", encoding="utf-8")
    good, errors = load.load_paths([path])
    assert good == [] and len(errors) == 1
    assert errors[0].startswith(f"{path}: line ") and "YAML syntax error" in errors[0]


def test_built_questionnaire_flattens_matrix_rows():
    """Matrix rows become answerable single-choice items that carry the matrix scale."""
    questionnaire = load.from_document(SMALL_QUESTIONNAIRE)
    row = questionnaire.item("m1_signs")
    assert row.type == "single_choice" and row.matrix_id == "m1"
    assert [o.code for o in row.options] == ["1", "2", "3", "4", "5", "9"]
    assert row.option("9").excluded and row.option("4").score == "satisfied"
    assert [i.id for i in questionnaire.scored_items()] == ["m1_signs"]


def test_checksum_ignores_formatting():
    """The checksum of a definition does not depend on key order or YAML formatting."""
    reordered = dict(reversed(list(SMALL_QUESTIONNAIRE.items())))
    assert load.checksum(load.normalise(reordered)) == load.checksum(
        load.normalise(SMALL_QUESTIONNAIRE))


def test_scored_item_must_point_at_a_framework_node(runner, tmp_path):
    """A scored item whose node is not in its framework is reported by validate."""
    document = broken(lambda d: d["sections"][1]["items"][0]["rows"][0]["score"].update(node="sipas.nope"))
    code, lines = validate_file(runner, tmp_path, document)
    assert code == 1
    expected = f"{tmp_path / 'q.yaml'}: item m1_signs: unknown node 'sipas.nope' in framework sipas-2023"
    assert lines == [expected]


def test_bundled_folder_validates_with_its_frameworks(runner):
    """`questionnaires validate questionnaires/` checks files, frameworks and coverage, and passes."""
    result = runner.invoke(args=["questionnaires", "validate", "questionnaires/"])
    assert result.exit_code == 0, result.output
    assert "7 valid, 0 problem(s)" in result.output
