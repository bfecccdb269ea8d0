"""Scoring rules of self-assessed nodes: one function per rule type found in par-province-2024.yaml."""

from datetime import date

import pytest

from survey import bundled
from survey.assessment import scoring
from survey.assessment.scoring import Declared
from survey.definitions.frameworks import Node, ScoringRule, load_framework

BANDS = {"unit": "percent", "bands": [{"min": 90, "fraction": 1}, {"min": 80, "fraction": 0.5},
                                      {"min": 0, "fraction": 0}]}
LEVELS = {"levels": [{"fraction": 1}, {"fraction": 0.75}, {"fraction": 0.5}, {"fraction": 0}]}


def test_the_framework_uses_exactly_the_rule_types_implemented():
    """The provincial framework's 56 self-assessed nodes (45.5 points) use the five rules with a function."""
    framework = load_framework(bundled.QUESTIONNAIRES / "frameworks" / "par-province-2024.yaml")
    nodes = scoring.self_assessed(framework)
    assert len(nodes) == 56
    assert sum(n.max_points for n in nodes) == pytest.approx(45.5)
    assert scoring.rule_types_in_use(framework) == {"yes_no", "ratio_bands", "linear", "graded", "deduction"}
    assert scoring.rule_types_in_use(framework) <= set(scoring.RULES)


def test_yes_no():
    """Done = max, not done = 0, not applicable = max; a date on or before the due date is done."""
    assert scoring.yes_no(0.5, Declared(answer="yes")) == 0.5
    assert scoring.yes_no(0.5, Declared(answer="no")) == 0
    assert scoring.yes_no(0.5, Declared(answer="na")) == 0.5
    assert scoring.yes_no(0.5, Declared()) is None
    assert scoring.yes_no(1, Declared(done_on=date(2024, 1, 15), due_on=date(2024, 1, 15))) == 1
    assert scoring.yes_no(1, Declared(done_on=date(2024, 1, 16), due_on=date(2024, 1, 15))) == 0


def test_ratio_bands():
    """The first band the percentage reaches gives its fraction; no denominator, no suggestion."""
    assert scoring.ratio_bands(0.75, BANDS, Declared(numerator=9, denominator=10)) == 0.75
    assert scoring.ratio_bands(0.75, BANDS, Declared(numerator=89.9, denominator=100)) == 0.375
    assert scoring.ratio_bands(0.75, BANDS, Declared(numerator=79, denominator=100)) == 0
    assert scoring.ratio_bands(0.75, BANDS, Declared(numerator=3, denominator=0)) is None
    assert scoring.ratio_bands(0.75, BANDS, Declared(answer="na")) == 0.75


def test_linear():
    """Max × ratio, capped at max, to the hundredth."""
    assert scoring.linear(0.75, {}, Declared(numerator=2, denominator=3)) == 0.5
    assert scoring.linear(1, {}, Declared(numerator=1, denominator=3)) == 0.33
    assert scoring.linear(1, {}, Declared(numerator=5, denominator=3)) == 1
    assert scoring.linear(1, {}, Declared()) is None


def test_graded():
    """The chosen level's fraction of max; an unknown level gives nothing."""
    assert scoring.graded(1.5, LEVELS, Declared(level=1)) == 1.125
    assert scoring.graded(1.5, LEVELS, Declared(level=3)) == 0
    assert scoring.graded(1.5, LEVELS, Declared(level=4)) is None


def test_deduction():
    """Max minus points per case, never under the floor."""
    params = {"points_per_case": 0.25, "floor": 0}
    assert scoring.deduction(0.75, params, Declared(count=0)) == 0.75
    assert scoring.deduction(0.75, params, Declared(count=1)) == 0.5
    assert scoring.deduction(0.75, params, Declared(count=7)) == 0
    assert scoring.deduction(0.75, params, Declared()) is None


def _node(rule: str, max_points: float, **params) -> Node:
    return Node(code="n", level="sub_criterion", name=None, max_points=max_points, method="self_assessed",
                scoring_rule=ScoringRule(rule, params))


def test_step_is_the_grain_of_the_rule():
    """Scores move by what the rule can give: the gcd of its points."""
    assert scoring.step(_node("yes_no", 0.5)) == 0.5
    assert scoring.step(_node("ratio_bands", 0.75, **BANDS)) == 0.375
    assert scoring.step(_node("graded", 1.5, **LEVELS)) == 0.375
    assert scoring.step(_node("deduction", 0.75, points_per_case=0.25, floor=0)) == 0.25
    assert scoring.step(_node("linear", 0.75)) == 0.01
    assert scoring.on_step(1.125, 0.375) and not scoring.on_step(1.0, 0.375)


def test_suggest_dispatches_on_the_rule():
    """suggest() uses the node's rule; an unknown rule suggests nothing."""
    assert scoring.suggest(_node("deduction", 1, points_per_case=0.25), Declared(count=2)) == 0.5
    assert scoring.suggest(_node("bonus", 1), Declared(count=2)) is None
