"""One meaning of a framework's weights: the app's frozen definition and the analysis agree.

`aggregation.default_weight` (required by the schema whenever a framework has an aggregation) is
the weight of every node that states none. The app's definition used to leave such a node's weight
empty while the analysis used the default; both now give the default, and a `weighted_mean` over
children with neither a weight nor a default is refused.
"""

import copy
from pathlib import Path

import yaml

from analysis import synthetic
from analysis.indices import sipas_indices
from analysis.instruments import parse_framework
from survey.definitions import frameworks as fw
from survey.definitions import load

ROOT = Path(__file__).resolve().parents[2] / "questionnaires"


def sipas_document() -> dict:
    """Return the bundled SIPAS framework as the app stores it."""
    return load.normalise(fw.load_framework(ROOT / "frameworks" / "sipas-2023.yaml").document)


def access(document: dict) -> dict:
    """Return the 'access' component node of a SIPAS document."""
    return document["nodes"][0]["children"][0]["children"][0]


def test_bundled_frameworks_have_the_same_weights_in_the_app_and_the_analysis():
    """Every node's weight is the same in survey.definitions and analysis.instruments."""
    for code, framework in fw.load_frameworks(ROOT / "frameworks").items():
        analysed = parse_framework(load.normalise(framework.document))
        for node in framework.walk():
            if node.weight is not None:
                assert analysed.nodes[node.code].weight == node.weight, (code, node.code)


def test_a_node_without_weight_gets_the_default_weight_on_both_sides():
    """A node that states no weight weighs aggregation.default_weight in both readers."""
    document = sipas_document()
    document["aggregation"]["default_weight"] = 2
    del access(document)["weight"]
    assert fw.framework_problems(document) == []
    assert fw.build(document).node("sipas.service.access").weight == 2
    assert parse_framework(document).nodes["sipas.service.access"].weight == 2.0


def test_weighted_mean_without_weight_or_default_is_refused():
    """Without aggregation.default_weight a weighted_mean child must state its weight."""
    document = sipas_document()
    del document["aggregation"]
    del access(document)["weight"]
    assert fw.framework_problems(document) == [
        "node sipas.service: weighted_mean over children without a weight (sipas.service.access) "
        "and no aggregation.default_weight"]


def test_the_default_weight_is_used_by_the_sipas_estimates():
    """Default weight 3 gives the same indices as an explicit weight 3, and not those of weight 1."""
    questionnaire = load.normalise(yaml.safe_load((ROOT / "sipas-service.yaml").read_text(encoding="utf-8")))
    responses, _strata = synthetic.responses(questionnaire, {"u1": "Xã A", "u2": "Xã B"}, per_unit=30, seed=3)
    explicit = sipas_document()
    access(explicit)["weight"] = 3
    by_default = copy.deepcopy(explicit)
    by_default["aggregation"]["default_weight"] = 3
    del access(by_default)["weight"]  # every other node states its weight (1)
    plain = sipas_document()
    part = "sipas.service"
    estimate = {name: sipas_indices(responses, questionnaire, doc).set_index(["code", "unit"])["estimate"]
                for name, doc in [("explicit", explicit), ("default", by_default), ("plain", plain)]}
    assert estimate["default"].equals(estimate["explicit"])
    assert not estimate["plain"].loc[part].equals(estimate["explicit"].loc[part])
