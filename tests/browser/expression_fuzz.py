"""Random expressions (valid and broken) for comparing respond.js with the Python evaluator."""

import random
from datetime import date

from survey.definitions import expressions

# Answers of every kind a page can hold; {"$date": ...} stands for a date answer.
ANSWERS = {
    "n0": 0, "n34": 34, "nf": 2.5, "neg": -7, "big": 1e22, "tiny": 0.00001, "s": "Lan", "sn": "12",
    "sc": " 3.5 ", "sd": "2025-11-25", "e": "", "none": None, "l": ["a", "c"], "l0": [], "ln": ["1", "2"],
    "d": {"$date": "2025-11-25"}, "d2": {"$date": "2024-02-29"}, "u": "ⅹ ١٢", "w": "a b\u3000c",
}
ATOMS = ["${n0}", "${n34}", "${nf}", "${neg}", "${big}", "${tiny}", "${s}", "${sn}", "${sc}", "${sd}",
         "${e}", "${none}", "${l}", "${l0}", "${ln}", "${d}", "${d2}", "${u}", "${w}", "${missing}", ".",
         "0", "1", "2.5", ".5", "10", "34", "1e3", "'1'", "''", "'abc'", "'Lan'", "'2025-11-25'",
         "'2025-12-01'", "' 3 '", '"a"', "'a c'", "true()", "false()", "١٢", "007"]
OPERATORS = ["=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod", "and", "or"]
NOISE = ["(", ")", "'", "$", "=", ",", " ", "{", "}", "x", "1", ".", "\x1c", "\ufeff"]
CURRENT = 34


def python_answers() -> dict:
    """The answers as the server holds them (dates as date objects)."""
    return {k: date.fromisoformat(v["$date"]) if isinstance(v, dict) else v for k, v in ANSWERS.items()}


def _expression(rng: random.Random, depth: int = 0) -> str:
    """Build a random, mostly well-formed expression."""
    r = rng.random()
    if depth > 3 or r < 0.3:
        return rng.choice(ATOMS)
    if r < 0.6:
        return f"{_expression(rng, depth + 1)} {rng.choice(OPERATORS)} {_expression(rng, depth + 1)}"
    if r < 0.7:
        return f"({_expression(rng, depth + 1)})"
    if r < 0.75:
        return f"-{_expression(rng, depth + 1)}"
    name = rng.choice(["not", "selected", "count-selected", "string-length"])
    args = ", ".join(_expression(rng, depth + 1) for _ in range(2 if name == "selected" else 1))
    return f"{name}({args})"


def _mutate(rng: random.Random, text: str) -> str:
    """Delete or insert a character or two, to exercise syntax errors."""
    pieces = list(text)
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(pieces) + 1)
        if rng.random() < 0.4 and pieces:
            del pieces[min(i, len(pieces) - 1)]
        else:
            pieces.insert(i, rng.choice(NOISE))
    return "".join(pieces)


def generate(count: int, seed: int) -> list[str]:
    """Return `count` random expressions, a fifth of them mangled."""
    rng = random.Random(seed)
    found = []
    for _ in range(count):
        text = _expression(rng)
        found.append(_mutate(rng, text) if rng.random() < 0.2 else text)
    return found


def outcome(text: str, answers: dict, current=CURRENT) -> list:
    """What Python makes of an expression: ["syntax"], ["error"] or [kind, as text, holds]."""
    try:
        node = expressions.parse(text)
    except expressions.ExpressionError:
        return ["syntax"]
    try:
        value = expressions.evaluate(node, answers, current)
    except (ValueError, OverflowError):
        return ["error"]
    kind = ("bool" if isinstance(value, bool) else "num" if isinstance(value, int | float) else
            "list" if isinstance(value, list) else "date" if hasattr(value, "isoformat") else
            "none" if value is None else "str")
    return [kind, expressions.to_string(value), expressions.holds(node, answers, current)]


# The same classification in the page, for window.ParExpr.
JS_OUTCOMES = """([texts, answers, current]) => {
  const E = window.ParExpr;
  for (const key of Object.keys(answers)) {
    const v = answers[key];
    if (v && v.$date) answers[key] = new E.Day(v.$date);
  }
  return texts.map((text) => {
    let node, value;
    try { node = E.parse(text); } catch (e) { return ['syntax']; }
    try { value = E.evaluate(node, answers, current); } catch (e) { return ['error']; }
    const kind = typeof value === 'boolean' ? 'bool' : typeof value === 'number' ? 'num'
      : Array.isArray(value) ? 'list' : value instanceof E.Day ? 'date' : value === null ? 'none' : 'str';
    return [kind, E.toString(value), E.holds(node, answers, current)];
  });
}"""
