"""A safe parser and evaluator for XLSForm-style `relevant` and `constraint` expressions.

The grammar is a small subset of XPath 1.0 as XLSForm uses it: `${item}` references, `.` for the
item being checked, string and number literals, `= != < <= > >=`, `+ - * div mod`, `and`, `or`, and
the functions `not()`, `selected()`, `count-selected()`, `string-length()`, `true()`, `false()`.
Nothing is ever passed to `eval`; comparison follows XPath: numbers compare as numbers, an empty
answer compares as the empty string, and a failed number conversion is NaN.
"""

import math
import re
from dataclasses import dataclass

TOKEN = re.compile(
    r"""\s*(?:
        (?P<ref>\$\{(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)\})
      | (?P<number>\d+(?:\.\d+)?|\.\d+)
      | (?P<string>'[^']*'|"[^"]*")
      | (?P<op><=|>=|!=|=|<|>|\+|-|\*|\(|\)|,)
      | (?P<word>[A-Za-z][A-Za-z0-9-]*)
      | (?P<dot>\.)
    )""",
    re.VERBOSE,
)
FUNCTIONS = {
    "not": 1,
    "selected": 2,
    "count-selected": 1,
    "string-length": 1,
    "true": 0,
    "false": 0,
}
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")


class ExpressionError(ValueError):
    """An expression that cannot be parsed; the message says where."""


@dataclass(frozen=True)
class Node:
    """A node of the expression tree: an operator or function with its arguments, or a leaf."""

    kind: str  # "num", "str", "ref", "self", "op", "call"
    value: object = None
    args: tuple["Node", ...] = ()


def tokenize(text: str) -> list[tuple[str, str]]:
    """Split an expression into (kind, text) tokens, refusing anything unknown."""
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"unexpected character {text[position:].lstrip()[:1]!r} "
                                  f"at position {position + 1}")
        kind = match.lastgroup if match.lastgroup != "name" else "ref"
        if match.group("ref"):
            kind, value = "ref", match.group("name")
        else:
            value = match.group(kind)
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _Parser:
    """Recursive-descent parser over the token list."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        """Return the next token without consuming it."""
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, str]:
        """Consume the next token, checking its kind or text when asked."""
        token = self.peek()
        if token is None:
            raise ExpressionError("expression ends too early")
        if (kind and token[0] != kind) or (value and token[1] != value):
            raise ExpressionError(f"expected {value or kind!r} but found {token[1]!r}")
        self.pos += 1
        return token

    def accept(self, kind: str, *values: str) -> str | None:
        """Consume the next token if it matches; return its text."""
        token = self.peek()
        if token and token[0] == kind and (not values or token[1] in values):
            self.pos += 1
            return token[1]
        return None

    def parse(self) -> Node:
        """Parse the whole text as one expression."""
        if not self.tokens:
            raise ExpressionError("empty expression")
        node = self.binary(0)
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r} after a complete expression")
        return node

    LEVELS = (("word", ("or",)), ("word", ("and",)), ("op", COMPARISONS),
              ("op", ("+", "-")), ("mul", ("*", "div", "mod")))

    def binary(self, level: int) -> Node:
        """Parse left-associative binary operators by precedence level."""
        if level == len(self.LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while True:
            operator = self._operator(level)
            if operator is None:
                return node
            node = Node("op", operator, (node, self.binary(level + 1)))

    def _operator(self, level: int) -> str | None:
        """Consume an operator of the given level, if one comes next."""
        kind, operators = self.LEVELS[level]
        if kind == "mul":
            return self.accept("op", "*") or self.accept("word", "div", "mod")
        return self.accept(kind, *operators)

    def unary(self) -> Node:
        """Parse a negation or a primary term."""
        if self.accept("op", "-"):
            return Node("op", "neg", (self.unary(),))
        return self.primary()

    def primary(self) -> Node:
        """Parse a literal, reference, function call or parenthesised expression."""
        token = self.peek()
        if token is None:
            raise ExpressionError("expression ends too early")
        kind, value = token
        self.pos += 1
        if kind == "number":
            return Node("num", float(value))
        if kind == "string":
            return Node("str", value[1:-1])
        if kind == "ref":
            return Node("ref", value)
        if kind == "dot":
            return Node("self")
        if kind == "op" and value == "(":
            node = self.binary(0)
            self.take("op", ")")
            return node
        if kind == "word" and value in FUNCTIONS:
            return self.call(value)
        raise ExpressionError(f"unexpected {value!r}")

    def call(self, name: str) -> Node:
        """Parse a function call's arguments and check their number."""
        self.take("op", "(")
        args = []
        if not self.accept("op", ")"):
            args.append(self.binary(0))
            while self.accept("op", ","):
                args.append(self.binary(0))
            self.take("op", ")")
        if len(args) != FUNCTIONS[name]:
            raise ExpressionError(f"{name}() takes {FUNCTIONS[name]} argument(s), got {len(args)}")
        return Node("call", name, tuple(args))


def parse(text: str) -> Node:
    """Parse an expression into a tree, raising ExpressionError on bad syntax."""
    return _Parser(text).parse()


def references(node: Node) -> set[str]:
    """Return the item ids an expression refers to."""
    found = {node.value} if node.kind == "ref" else set()
    for arg in node.args:
        found |= references(arg)
    return found


def uses_self(node: Node) -> bool:
    """Tell whether the expression refers to `.` (the item being checked)."""
    return node.kind == "self" or any(uses_self(arg) for arg in node.args)


def to_string(value) -> str:
    """Convert a value to a string the XPath way (an unanswered item is the empty string)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if math.isnan(value):
            return "NaN"
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, list | tuple):
        return " ".join(to_string(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def to_number(value) -> float:
    """Convert a value to a number the XPath way: anything unreadable is NaN."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    text = to_string(value).strip()
    if not re.fullmatch(r"-?(\d+(\.\d*)?|\.\d+)", text):
        return math.nan
    return float(text)


def to_boolean(value) -> bool:
    """Convert a value to a boolean the XPath way."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return not math.isnan(value) and value != 0
    if isinstance(value, list | tuple):
        return len(value) > 0
    return to_string(value) != ""


def _compare(operator: str, left, right) -> bool:
    """Compare two values with XPath 1.0 rules, dates as ISO strings."""
    if operator in ("=", "!="):
        if isinstance(left, bool) or isinstance(right, bool):
            equal = to_boolean(left) == to_boolean(right)
        elif _numeric(left) or _numeric(right):
            equal = to_number(left) == to_number(right)
        else:
            equal = to_string(left) == to_string(right)
        return equal if operator == "=" else not equal
    if hasattr(left, "isoformat") or hasattr(right, "isoformat"):
        a, b = to_string(left), to_string(right)
    else:
        a, b = to_number(left), to_number(right)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator]


def _numeric(value) -> bool:
    """Tell whether a value is a number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _arithmetic(operator: str, a: float, b: float) -> float:
    """Apply an arithmetic operator with XPath's division semantics."""
    if operator == "+":
        return a + b
    if operator == "-":
        return a - b
    if operator == "*":
        return a * b
    if b == 0 or math.isnan(b) or math.isnan(a):
        if operator == "mod" or math.isnan(a) or math.isnan(b) or a == 0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b if operator == "div" else math.fmod(a, b)


def _call(name: str, args: list):
    """Evaluate one of the supported functions."""
    if name == "true":
        return True
    if name == "false":
        return False
    if name == "not":
        return not to_boolean(args[0])
    if name == "selected":
        chosen = args[0] if isinstance(args[0], list | tuple) else to_string(args[0]).split()
        return to_string(args[1]) in [to_string(c) for c in chosen]
    if name == "count-selected":
        chosen = args[0] if isinstance(args[0], list | tuple) else to_string(args[0]).split()
        return float(len(chosen))
    return float(len(to_string(args[0])))  # string-length


def evaluate(node: Node, answers: dict, current=None):
    """Evaluate a parsed expression against answers (item id -> value); `.` is `current`."""
    kind = node.kind
    if kind in ("num", "str"):
        return node.value
    if kind == "ref":
        return answers.get(node.value)
    if kind == "self":
        return current
    if kind == "call":
        return _call(node.value, [evaluate(a, answers, current) for a in node.args])
    operator = node.value
    if operator == "neg":
        return -to_number(evaluate(node.args[0], answers, current))
    if operator == "or":
        return to_boolean(evaluate(node.args[0], answers, current)) or to_boolean(
            evaluate(node.args[1], answers, current)
        )
    if operator == "and":
        return to_boolean(evaluate(node.args[0], answers, current)) and to_boolean(
            evaluate(node.args[1], answers, current)
        )
    left = evaluate(node.args[0], answers, current)
    right = evaluate(node.args[1], answers, current)
    if operator in COMPARISONS:
        return _compare(operator, left, right)
    return _arithmetic(operator, to_number(left), to_number(right))


def holds(text_or_node, answers: dict, current=None) -> bool:
    """Evaluate an expression as a condition; an absent expression always holds."""
    if text_or_node is None:
        return True
    node = parse(text_or_node) if isinstance(text_or_node, str) else text_or_node
    return to_boolean(evaluate(node, answers, current))
