"""Suggested scores of self-assessed nodes, one function per scoring-rule type of the frameworks.

The self-assessed leaves of `par-province-2024.yaml` use five rule types (listed by
`rule_types_in_use`): `yes_no`, `ratio_bands`, `linear`, `graded` and `deduction`. Each gets a pure
function from the declared data to points; `suggest` picks the one of a node. A function returns
None when the declared data do not allow a suggestion (nothing declared yet, a zero denominator).

"Not applicable" (không phát sinh) suggests the maximum: in the ministry's practice a task that did
not arise in the year is not held against the unit, but it always needs an explanation [I].

`step` gives the grain of a node's scores: the greatest common divisor of the points its rule can
give (yes/no: 0 or max; bands and levels: their fractions of max; deduction: points per case);
linear rules score to the hundredth. A self-score must be a multiple of the step, 0 ≤ score ≤ max.
"""

import math
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from survey.definitions.frameworks import Framework, Node

SELF_ASSESSED = "self_assessed"
FINE_STEP = 0.01  # linear rules, and the grain of appraisal scores
ANSWERS = ("yes", "no", "na")


@dataclass(frozen=True)
class Declared:
    """What the assessor declared for a node: an answer, a count, a ratio, dates, a graded level."""

    answer: str | None = None  # yes | no | na
    count: int | None = None
    numerator: float | None = None
    denominator: float | None = None
    done_on: date | None = None
    due_on: date | None = None
    level: int | None = None  # index into a graded rule's levels


def _rounded(points: float) -> float:
    """Round points to the fourth decimal (float noise off, no real precision lost)."""
    return round(points + 0.0, 4)


def yes_no(max_points: float, declared: Declared) -> float | None:
    """Done = max, not done = 0; a completion date on or before the due date counts as done."""
    answer = declared.answer
    if answer is None and declared.done_on is not None and declared.due_on is not None:
        answer = "yes" if declared.done_on <= declared.due_on else "no"
    if answer in ("yes", "na"):
        return _rounded(max_points)
    if answer == "no":
        return 0.0
    return None


def ratio(declared: Declared, unit: str | None) -> float | None:
    """The declared ratio in the rule's unit (percent by default), or None without a positive denominator."""
    if declared.numerator is None or not declared.denominator or declared.denominator <= 0:
        return None
    value = declared.numerator / declared.denominator
    return value * 100 if unit in (None, "percent") else value


def ratio_bands(max_points: float, params: dict, declared: Declared) -> float | None:
    """The first band (descending min) the ratio reaches gives its fraction of max."""
    if declared.answer == "na":
        return _rounded(max_points)
    value = ratio(declared, params.get("unit"))
    if value is None:
        return None
    for band in sorted(params["bands"], key=lambda b: b["min"], reverse=True):
        if value >= band["min"] - 1e-9:
            return _rounded(max_points * band["fraction"])
    return 0.0


def linear(max_points: float, params: dict, declared: Declared) -> float | None:
    """Max × the achieved ratio (capped at 1), to the hundredth of a point."""
    if declared.answer == "na":
        return _rounded(max_points)
    value = ratio(declared, "ratio")
    if value is None:
        return None
    return round(max_points * min(max(value, 0.0), 1.0), 2)


def graded(max_points: float, params: dict, declared: Declared) -> float | None:
    """The chosen level's fraction of max."""
    if declared.answer == "na":
        return _rounded(max_points)
    levels = params["levels"]
    if declared.level is None or not 0 <= declared.level < len(levels):
        return None
    return _rounded(max_points * levels[declared.level]["fraction"])


def deduction(max_points: float, params: dict, declared: Declared) -> float | None:
    """Max minus points_per_case for each case found, not below the floor (0 by default)."""
    if declared.answer == "na":
        return _rounded(max_points)
    if declared.count is None or declared.count < 0:
        return None
    floor = params.get("floor", 0)
    return _rounded(max(max_points - params["points_per_case"] * declared.count, floor))


RULES = {
    "yes_no": lambda node, declared: yes_no(node.max_points, declared),
    "ratio_bands": lambda node, declared: ratio_bands(node.max_points, node.scoring_rule.params, declared),
    "linear": lambda node, declared: linear(node.max_points, node.scoring_rule.params, declared),
    "graded": lambda node, declared: graded(node.max_points, node.scoring_rule.params, declared),
    "deduction": lambda node, declared: deduction(node.max_points, node.scoring_rule.params, declared),
}


def suggest(node: Node, declared: Declared) -> float | None:
    """The score the node's rule gives for the declared data, or None (unknown rule, nothing declared)."""
    rule = RULES.get(node.scoring_rule.type) if node.scoring_rule else None
    return None if rule is None else rule(node, declared)


def _gcd(values: list[float]) -> float:
    """The greatest common divisor of non-negative decimals (as fractions to the ten-thousandth)."""
    fractions = [Fraction(v).limit_denominator(10_000) for v in values if v > 1e-12]
    if not fractions:
        return FINE_STEP
    denominator = math.lcm(*(f.denominator for f in fractions))
    numerator = math.gcd(*(int(f * denominator) for f in fractions))
    return float(Fraction(numerator, denominator))


def step(node: Node) -> float:
    """The grain of the node's scores: the gcd of the points its rule can give."""
    rule, top = node.scoring_rule, node.max_points
    if rule is None or rule.type not in RULES or rule.type == "linear":
        return FINE_STEP
    if rule.type == "yes_no":
        return _gcd([top])
    if rule.type == "ratio_bands":
        return _gcd([top, *(top * b["fraction"] for b in rule.params["bands"])])
    if rule.type == "graded":
        return _gcd([top, *(top * level["fraction"] for level in rule.params["levels"])])
    floor = rule.params.get("floor", 0)
    return _gcd([top, rule.params["points_per_case"], top - floor])


def on_step(score: float, grain: float) -> bool:
    """Tell whether a score is a multiple of the step (to a ten-thousandth)."""
    return math.isclose(score / grain, round(score / grain), abs_tol=1e-6)


def self_assessed(framework: Framework) -> list[Node]:
    """The nodes an assessment scores: self-assessed leaves, in the framework's order."""
    return [n for n in framework.walk() if n.is_leaf and n.method == SELF_ASSESSED]


def rule_types_in_use(framework: Framework) -> set[str]:
    """The scoring-rule types of a framework's self-assessed nodes."""
    return {n.scoring_rule.type for n in self_assessed(framework) if n.scoring_rule}
