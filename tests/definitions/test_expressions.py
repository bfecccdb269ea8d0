"""The safe expression parser and evaluator, on the cases shared with the browser script."""

import json
from pathlib import Path

import pytest

from survey.definitions import expressions

CASES = json.loads((Path(__file__).parent / "expression_cases.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("text", CASES["true"])
def test_true_cases(text):
    """Expressions that hold for the shared answers."""
    assert expressions.holds(text, CASES["answers"]) is True


@pytest.mark.parametrize("text", CASES["false"])
def test_false_cases(text):
    """Expressions that do not hold for the shared answers."""
    assert expressions.holds(text, CASES["answers"]) is False


@pytest.mark.parametrize("case", CASES["self"], ids=lambda c: c["expr"])
def test_constraints_on_the_item_itself(case):
    """`.` is the value being checked."""
    assert expressions.holds(case["expr"], {}, current=case["current"]) is case["expected"]


@pytest.mark.parametrize("text", CASES["syntax_errors"])
def test_syntax_errors(text):
    """Malformed or unsupported expressions raise ExpressionError, never run anything."""
    with pytest.raises(expressions.ExpressionError):
        expressions.parse(text)


def test_references_are_listed():
    """The parser reports which items an expression refers to."""
    node = expressions.parse("${a} = 'x' and (selected(${b}, 'y') or count-selected(${c}) > 1)")
    assert expressions.references(node) == {"a", "b", "c"}
