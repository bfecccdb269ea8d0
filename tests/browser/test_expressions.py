"""respond.js evaluates expressions exactly as survey/definitions/expressions.py does."""

import json
from pathlib import Path

from survey.definitions import expressions
from tests.browser.expression_fuzz import ANSWERS as FUZZ_ANSWERS
from tests.browser.expression_fuzz import JS_OUTCOMES, generate, outcome, python_answers

CASES = json.loads((Path(__file__).parents[1] / "definitions" / "expression_cases.json").read_text("utf-8"))

SHARED = """([cases]) => {
  const E = window.ParExpr, answers = cases.answers, result = {};
  result.true = cases.true.map((e) => E.holds(e, answers));
  result.false = cases.false.map((e) => E.holds(e, answers));
  result.self = cases.self.map((c) => E.holds(c.expr, answers, c.current));
  result.syntax_errors = cases.syntax_errors.map((e) => {
    try { E.parse(e); return 'parsed'; } catch (error) { return error.name; }
  });
  return result;
}"""


def script_page(context, live_server):
    """Open a server page and load /static/respond.js into it."""
    page = context.new_page()
    page.goto(f"{live_server.url}/healthz")
    page.add_script_tag(url=f"{live_server.url}/static/respond.js")
    page.wait_for_function("() => window.ParExpr !== undefined")
    return page


def test_shared_cases_agree_with_python(context, live_server):
    """Every case of expression_cases.json gives in the browser what it gives in Python."""
    result = script_page(context, live_server).evaluate(SHARED, [CASES])
    answers = CASES["answers"]
    assert result["true"] == [expressions.holds(e, answers) for e in CASES["true"]]
    assert all(result["true"])
    assert result["false"] == [expressions.holds(e, answers) for e in CASES["false"]]
    assert not any(result["false"])
    assert result["self"] == [expressions.holds(c["expr"], answers, c["current"]) for c in CASES["self"]]
    assert result["self"] == [c["expected"] for c in CASES["self"]]
    assert result["syntax_errors"] == ["ExpressionError"] * len(CASES["syntax_errors"])


def test_random_expressions_agree_with_python(context, live_server):
    """Thousands of random expressions, broken ones included, give the same value, text and truth."""
    texts = generate(4000, seed=20251125)
    answers = python_answers()
    expected = [outcome(text, answers) for text in texts]
    got = script_page(context, live_server).evaluate(JS_OUTCOMES, [texts, FUZZ_ANSWERS, 34])
    differences = [(t, e, g) for t, e, g in zip(texts, expected, got, strict=True) if e != g]
    assert not differences[:10]
    assert {e[0] for e in expected} >= {"syntax", "bool", "num", "str", "list", "date", "none"}
