"""Checks on the questionnaires bundled in questionnaires/, read from the files themselves."""

import unicodedata
from pathlib import Path

import yaml

from survey.definitions import frameworks, load

ROOT = Path(__file__).resolve().parents[2]
QUESTIONNAIRES = ROOT / "questionnaires"
TEXT_KEYS = {"title", "description", "label", "hint", "constraint_message"}
PAR_IDS = {"par-hdnd-tinh", "par-lanh-dao-so", "par-lanh-dao-phong-so", "par-lanh-dao-xa",
           "par-lanh-dao-phong-xa"}


def _bundle():
    """Load every bundled questionnaire and framework."""
    good, errors = load.load_paths([QUESTIONNAIRES])
    return {q.id: q for q in good}, errors, frameworks.load_frameworks(QUESTIONNAIRES / "frameworks")


def _texts(node, path=()):
    """Yield (path, mapping) for every bilingual text in a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in TEXT_KEYS or key == "name":
                yield (*path, key), value
            yield from _texts(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _texts(value, (*path, index))


def _component_items(component: str) -> list[str]:
    """Return the sipas-service item ids scored on the items of one service component."""
    questionnaires, _, fws = _bundle()
    codes = {n.code for n in fws["sipas-2023"].node(component).children}
    return [i.id for i in questionnaires["sipas-service"].scored_items() if i.score.node in codes]


def test_bundled_questionnaires_validate():
    """Every bundled questionnaire passes the schema and the semantic rules."""
    questionnaires, errors, _ = _bundle()
    assert errors == []
    assert {"sipas-service", "sipas-policy", *PAR_IDS} <= set(questionnaires)


def test_sipas_service_part_has_five_components():
    """The SIPAS service part counts five components (the overall question is reported apart)."""
    _, _, fws = _bundle()
    counted = [c for c in fws["sipas-2023"].node("sipas.service").children if c.in_total]
    assert len(counted) == 5


def test_access_component_has_three_items():
    """The access component is measured by exactly three items of sipas-service."""
    assert len(_component_items("sipas.service.access")) == 3


def test_procedure_component_has_four_items():
    """The procedures component is measured by exactly four items of sipas-service."""
    assert len(_component_items("sipas.service.procedure")) == 4


def test_every_service_component_has_items():
    """Each of the five counted service components has at least one item in sipas-service."""
    _, _, fws = _bundle()
    for component in fws["sipas-2023"].node("sipas.service").children:
        assert _component_items(component.code), component.code


def test_scored_items_point_at_existing_nodes():
    """Every scored item points at a leaf of its framework that fits its scoring method."""
    questionnaires, _, fws = _bundle()
    problems = [p for q in questionnaires.values() for p in frameworks.check_questionnaire_links(q, fws)]
    assert problems == []


def test_every_survey_criterion_has_a_par_item():
    """Every survey-assessed node of par-province-2024 is scored by some PAR questionnaire item."""
    questionnaires, _, fws = _bundle()
    par = [questionnaires[i] for i in PAR_IDS]
    assert frameworks.survey_coverage(par, fws["par-province-2024"]) == []


def test_every_sipas_item_node_has_an_item():
    """Every SIPAS item node is scored by the bundled SIPAS questionnaires."""
    questionnaires, _, fws = _bundle()
    assert frameworks.survey_coverage(questionnaires.values(), fws["sipas-2023"]) == []


def test_par_questionnaires_use_the_abcd_fractions():
    """PAR options A/B/C/D score 1/0.6/0.2/0 and the don't-know option is excluded."""
    questionnaires, _, _ = _bundle()
    for qid in PAR_IDS:
        for item in questionnaires[qid].scored_items():
            scores = {o.code: (o.score, o.excluded) for o in item.options}
            assert scores == {"A": (1, False), "B": (0.6, False), "C": (0.2, False), "D": (0, False),
                              "X": (None, True)}, (qid, item.id)


def test_sipas_scale_counts_four_and_five_as_satisfied():
    """SIPAS items count codes 4 and 5 as satisfied and exclude code 9 from the denominator."""
    questionnaires, _, _ = _bundle()
    for qid in ("sipas-service", "sipas-policy"):
        for item in questionnaires[qid].scored_items():
            assert {o.code for o in item.options if o.score == "satisfied"} == {"4", "5"}
            assert {o.code for o in item.options if o.excluded} == {"9"}


def test_each_par_questionnaire_names_the_rated_units_first():
    """Each PAR questionnaire opens with a note and names the assessed units in its description."""
    questionnaires, _, _ = _bundle()
    for qid in PAR_IDS:
        first = questionnaires[qid].sections[0].items[0]
        assert first.type == "note"
        assert "Đơn vị được đánh giá" in questionnaires[qid].description.vi


def test_every_label_has_vietnamese_and_english():
    """Titles, descriptions, labels, hints, options, rows and messages all carry vi and en."""
    for path in sorted(QUESTIONNAIRES.rglob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for where, text in _texts(document):
            assert isinstance(text, dict) and text.get("vi") and text.get("en"), (path.name, where)


def test_all_text_is_nfc():
    """Every bundled questionnaire and framework file is Unicode NFC."""
    for path in sorted(QUESTIONNAIRES.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert unicodedata.normalize("NFC", text) == text, path.name
