"""Checks on the index frameworks in questionnaires/frameworks/ and on the framework loader."""

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from survey.definitions import frameworks, load

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = ROOT / "questionnaires" / "frameworks"
NUMBER_KEYS = {"max_points", "weight", "bands", "levels", "points_per_case", "count", "min", "default_weight"}


def _document(name: str) -> dict:
    """Read one bundled framework file."""
    return yaml.safe_load((FRAMEWORKS / f"{name}.yaml").read_text(encoding="utf-8"))


def _objects(node):
    """Yield every mapping in a document."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def _questionnaire(node: str, method: str = "fraction"):
    """Build a one-item questionnaire scored on a node of par-province-2024."""
    options = [{"code": "A", "label": {"vi": "Tốt", "en": "Good"}, "score": 1}] if method == "fraction" else [
        {"code": "4", "label": {"vi": "Hài lòng", "en": "Satisfied"}, "score": "satisfied"}]
    return load.from_document({
        "id": "probe", "version": "1", "title": {"vi": "Thử", "en": "Probe"},
        "framework": "par-province-2024",
        "sections": [{"id": "s", "title": {"vi": "Phần", "en": "Part"}, "items": [
            {"id": "q", "type": "single_choice", "label": {"vi": "Câu hỏi", "en": "Question"},
             "options": options, "score": {"node": node, "method": method}}]}],
    })


@pytest.fixture(scope="module")
def bundled():
    """The bundled frameworks, id -> Framework."""
    return frameworks.load_frameworks(FRAMEWORKS)


def test_framework_files_match_the_schema():
    """Both framework files validate against framework.schema.json."""
    validator = jsonschema.Draft202012Validator(frameworks.schema())
    for name in ("par-province-2024", "sipas-2023"):
        assert list(validator.iter_errors(_document(name))) == [], name


def test_schema_is_valid_draft_2020_12():
    """The framework schema itself is a valid JSON Schema 2020-12."""
    jsonschema.Draft202012Validator.check_schema(frameworks.schema())


def test_frameworks_load_without_problems(bundled):
    """The bundled frameworks load with no schema or semantic problems."""
    assert set(bundled) == {"par-province-2024", "sipas-2023"}


def test_par_structure_matches_the_2024_counts(bundled):
    """par-province-2024 has 8 fields, 37 criteria and 88 sub-criteria worth 100 points."""
    par = bundled["par-province-2024"]
    counts = [len(par.at_level(level)) for level in ("field", "criterion", "sub_criterion")]
    assert counts == [8, 37, 88]
    assert sum(f.max_points for f in par.nodes) == pytest.approx(100)


def test_children_points_add_up(bundled):
    """Every PAR node's children add up to its max_points."""
    for node in bundled["par-province-2024"].walk():
        if node.children:
            assert sum(c.max_points for c in node.children if c.in_total) == pytest.approx(node.max_points)


def test_provisional_numbers_carry_a_source():
    """Every object carrying a number states a status, and provisional ones cite a source."""
    for name in ("par-province-2024", "sipas-2023"):
        for obj in _objects(_document(name)):
            if obj.get("status") == "provisional":
                assert isinstance(obj.get("source"), str) and obj["source"].strip(), obj.get("code")
            if NUMBER_KEYS & set(obj) and "fraction" not in obj:
                holder_status = obj.get("status")
                assert holder_status in ("verified", "provisional"), (name, obj.get("code", obj))


def test_node_names_are_bilingual(bundled):
    """Every framework node name has Vietnamese and English."""
    for framework in bundled.values():
        for node in framework.walk():
            assert node.name.vi and node.name.en, node.code


def test_self_assessed_leaves_list_evidence(bundled):
    """Every self-assessed PAR leaf lists the evidence documents it needs."""
    for node in bundled["par-province-2024"].leaves():
        if node.method == "self_assessed":
            assert node.evidence, node.code


def test_node_lookup_by_code(bundled):
    """A node is found by its code, and an unknown code raises KeyError."""
    par = bundled["par-province-2024"]
    assert par.node("par.3").name.vi == "Cải cách thủ tục hành chính"
    with pytest.raises(KeyError):
        par.node("par.99")


def test_provisional_flags(bundled):
    """The PAR framework is provisional through its estimated nodes; a provisional node says so."""
    par = bundled["par-province-2024"]
    assert par.is_provisional
    assert par.node("par.1.1.1").is_provisional


def test_points_mismatch_is_reported():
    """Changing one sub-criterion's points without rebalancing is reported as a problem."""
    document = copy.deepcopy(_document("par-province-2024"))
    document["nodes"][0]["children"][0]["children"][0]["max_points"] += 1
    problems = frameworks.framework_problems(document)
    assert any("add up to" in p for p in problems)


def test_duplicate_code_is_reported():
    """Two nodes with one code are reported."""
    document = copy.deepcopy(_document("sipas-2023"))
    access = document["nodes"][0]["children"][0]["children"][0]
    access["children"][1]["code"] = access["children"][0]["code"]
    assert any("duplicate node code" in p for p in frameworks.framework_problems(document))


def test_structure_count_mismatch_is_reported():
    """A declared structure count that the tree does not match is reported."""
    document = copy.deepcopy(_document("par-province-2024"))
    document["structure"][1]["count"] = 36
    assert any("37 found" in p for p in frameworks.framework_problems(document))


def test_unknown_node_is_reported(bundled):
    """A scored item pointing at an unknown node is reported."""
    problems = frameworks.check_questionnaire_links(_questionnaire("par.9.9"), bundled)
    assert len(problems) == 1 and "unknown node" in problems[0]


def test_self_assessed_node_cannot_be_scored_by_items(bundled):
    """A scored item pointing at a self-assessed node is reported."""
    problems = frameworks.check_questionnaire_links(_questionnaire("par.1.1.1"), bundled)
    assert len(problems) == 1 and "not a leaf measured" in problems[0]


def test_method_mismatch_is_reported(bundled):
    """A 'satisfied' item pointing at a survey node is reported."""
    problems = frameworks.check_questionnaire_links(_questionnaire("par.1.6.1", "satisfied"), bundled)
    assert len(problems) == 1 and "does not fit" in problems[0]


def test_uncovered_survey_node_is_reported(bundled):
    """A survey node no questionnaire scores is reported by survey_coverage."""
    problems = frameworks.survey_coverage([_questionnaire("par.1.6.1")], bundled["par-province-2024"])
    assert not any("par.1.6.1:" in p for p in problems)
    assert any("par.1.6.2:" in p for p in problems)


def test_load_framework_raises_with_one_line_per_problem(tmp_path):
    """A broken framework file raises FrameworkError naming the file."""
    document = copy.deepcopy(_document("sipas-2023"))
    del document["nodes"][0]["name"]["en"]
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    with pytest.raises(frameworks.FrameworkError) as caught:
        frameworks.load_framework(path)
    assert caught.value.errors and all(line.startswith(str(path)) for line in caught.value.errors)
