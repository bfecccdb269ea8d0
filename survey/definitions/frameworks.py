"""Read index frameworks (PAR INDEX, SIPAS) kept as data, validate them, and check questionnaire links.

A framework file (questionnaires/frameworks/*.yaml) is a tree of nodes: fields, criteria and
sub-criteria for the PAR INDEX; overall, parts, components and items for SIPAS. Every number is data a
province may replace without code; each node carrying a number states `status` (verified |
provisional) and a `source`.

Problems are reported one per line, `FILE: WHERE: PROBLEM`. Rules checked after the JSON Schema:

- node codes are unique and each child's code starts with its parent's code and a dot;
- every leaf has a `method` and a `scoring_rule`; a parent's method, when given, is its children's;
- `derived_from` is used only on `sipas` nodes (and, across frameworks, names a known node);
- the `structure` counts, when given, match the number of nodes at each level;
- **points add up**: the max_points of a node's children that count (`in_total` not false) sum to the
  node's max_points, and the fields sum to the framework's max_points. This is a problem whatever the
  status: provisional numbers are still used to compute the index, so they must be coherent; a
  province replacing one number rebalances its siblings or parent in the same edit.

`check_questionnaire_links` checks one questionnaire's scored items against the frameworks and
`survey_coverage` checks that every node measured by items has at least one item in the bundle.
"""

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jsonschema

from survey import bundled
from survey.definitions.model import Questionnaire, Text
from survey.definitions.yamlfile import YamlFileError, read_yaml

SCHEMA_PATH = bundled.SCHEMAS / "framework.schema.json"
MEASURED_METHODS = {"fraction": "survey", "satisfied": "sipas"}  # item score method -> node method
TOLERANCE = 1e-6


class FrameworkError(ValueError):
    """A framework file with problems; `errors` holds one line per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ScoringRule:
    """How a node's points (or index value) are computed; `params` holds the rule's other keys."""

    type: str
    params: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Node:
    """A node of an index framework: a field, criterion or sub-criterion, or a SIPAS level."""

    code: str
    level: str
    name: Text
    max_points: float | None = None
    weight: float | None = None
    in_total: bool = True
    method: str | None = None
    scoring_rule: ScoringRule | None = None
    evidence: tuple[Text, ...] = ()
    data_source: Text | None = None
    derived_from: tuple[str, str] | None = None  # (framework id, node code)
    status: str | None = None
    source: str | None = None
    children: tuple["Node", ...] = ()

    @property
    def is_leaf(self) -> bool:
        """Tell whether the node has no children."""
        return not self.children

    @property
    def is_provisional(self) -> bool:
        """Tell whether the node's numbers (or its rule's) are provisional estimates."""
        rule_status = self.scoring_rule.params.get("status") if self.scoring_rule else None
        return "provisional" in (self.status, rule_status)

    @property
    def measured_by_items(self) -> bool:
        """Tell whether questionnaire items must point at this node (survey or SIPAS leaf, not derived)."""
        return self.is_leaf and self.method in ("survey", "sipas") and self.derived_from is None

    def walk(self) -> Iterator["Node"]:
        """Yield the node and its descendants, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class Framework:
    """A whole index framework version."""

    id: str
    version: str
    index: str
    name: Text
    status: str
    source: str
    nodes: tuple[Node, ...]
    max_points: float | None = None
    description: Text | None = None
    document: dict = field(default_factory=dict, compare=False, repr=False, hash=False)
    _by_code: dict = field(default_factory=dict, init=False, compare=False, repr=False, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_code", {n.code: n for n in self.walk()})

    def walk(self) -> Iterator[Node]:
        """Yield every node, depth first."""
        for node in self.nodes:
            yield from node.walk()

    def node(self, code: str) -> Node:
        """Return the node with the code, raising KeyError when unknown."""
        return self._by_code[code]

    def get(self, code: str) -> Node | None:
        """Return the node with the code, or None."""
        return self._by_code.get(code)

    def leaves(self) -> list[Node]:
        """Return the leaf nodes in order."""
        return [n for n in self.walk() if n.is_leaf]

    def at_level(self, level: str) -> list[Node]:
        """Return the nodes of one level (field, criterion, ..., item) in order."""
        return [n for n in self.walk() if n.level == level]

    def provisional_nodes(self) -> list[Node]:
        """Return the nodes whose numbers are provisional."""
        return [n for n in self.walk() if n.is_provisional]

    @property
    def is_provisional(self) -> bool:
        """Tell whether the framework or any of its numbers is provisional."""
        return self.status == "provisional" or bool(self.provisional_nodes())


@cache
def schema() -> dict:
    """Return the framework JSON Schema."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _where(document: dict, path: list) -> str:
    """Name the node a schema path points into, and the field below it."""
    owner, rest, node = "framework", [], document
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("code"), str) and "level" in node:
            owner, rest = f"node {node['code']}", []
            continue
        rest.append(str(step) if not isinstance(step, int) else f"[{step}]")
    return f"{owner}: {'.'.join(rest).replace('.[', '[')}" if rest else owner


def schema_errors(document: dict) -> list[str]:
    """Check a document against the framework JSON Schema; return `WHERE: PROBLEM` lines."""
    validator = jsonschema.Draft202012Validator(schema())
    return [f"{_where(document, list(e.absolute_path))}: {e.message}"
            for e in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))]


def _text(raw: dict | None) -> Text | None:
    """Build a Text from its mapping."""
    return Text(raw["vi"], raw.get("en")) if raw else None


def _node(raw: dict, default_weight: float | None = None) -> Node:
    """Build a Node (and its children) from its mapping; a node without `weight` gets the default.

    The default is the framework's `aggregation.default_weight` (the schema requires it whenever
    there is an aggregation): `weighted_mean` weighs children by it unless they state their own.
    """
    rule = raw.get("scoring_rule")
    params = {k: v for k, v in rule.items() if k != "type"} if rule else {}
    derived = raw.get("derived_from")
    return Node(
        code=raw["code"], level=raw["level"], name=_text(raw["name"]),
        max_points=raw.get("max_points"), weight=raw.get("weight", default_weight),
        in_total=raw.get("in_total", True),
        method=raw.get("method"),
        scoring_rule=ScoringRule(rule["type"], params) if rule else None,
        evidence=tuple(_text(t) for t in raw.get("evidence", ())), data_source=_text(raw.get("data_source")),
        derived_from=(derived["framework"], derived["node"]) if derived else None,
        status=raw.get("status"), source=raw.get("source"),
        children=tuple(_node(c, default_weight) for c in raw.get("children", ())),
    )


def build(document: dict) -> Framework:
    """Build the frozen Framework from a schema-valid document."""
    return Framework(
        id=document["id"], version=document["version"], index=document["index"], name=_text(document["name"]),
        status=document["status"], source=document["source"],
        nodes=tuple(_node(n, (document.get("aggregation") or {}).get("default_weight"))
                    for n in document["nodes"]),
        max_points=document.get("max_points"),
        description=_text(document.get("description")), document=document,
    )


def _sum_problem(owner: str, total: float | None, children: Iterable[Node]) -> list[str]:
    """Report children whose counted max_points do not add up to the total."""
    counted = [c for c in children if c.in_total]
    if total is None or not counted:
        return []
    missing = [c.code for c in counted if c.max_points is None]
    if missing:
        return [f"{owner}: children without max_points: {', '.join(missing)}"]
    found = sum(c.max_points for c in counted)
    if not math.isclose(found, total, abs_tol=TOLERANCE):
        return [f"{owner}: children's max_points add up to {found:g}, not {total:g}"]
    return []


def semantic_problems(framework: Framework) -> list[str]:
    """Return the problems a schema-valid framework may still have, one `WHERE: PROBLEM` line each."""
    problems, seen = [], {}
    for node in framework.walk():
        seen[node.code] = seen.get(node.code, 0) + 1
    problems += [f"node {code}: duplicate node code" for code, n in seen.items() if n > 1]
    problems += _sum_problem("framework", framework.max_points, framework.nodes)
    for node in framework.walk():
        owner = f"node {node.code}"
        if node.is_leaf and (node.method is None or node.scoring_rule is None):
            problems.append(f"{owner}: a leaf needs a method and a scoring_rule")
        for child in node.children:
            if not child.code.startswith(node.code + "."):
                problems.append(f"node {child.code}: code does not start with its parent's code "
                                f"{node.code!r} and a dot")
            if node.method and child.method and child.method != node.method:
                problems.append(f"node {child.code}: method {child.method!r} differs from its parent's "
                                f"{node.method!r}")
        rule = node.scoring_rule.type if node.scoring_rule else None
        unweighted = [c.code for c in node.children if c.in_total and c.weight is None]
        if rule == "weighted_mean" and unweighted:
            problems.append(f"{owner}: weighted_mean over children without a weight "
                            f"({', '.join(unweighted)}) and no aggregation.default_weight")
        if node.derived_from and node.method != "sipas":
            problems.append(f"{owner}: derived_from is only for sipas nodes")
        problems += _sum_problem(owner, node.max_points, node.children)
    for entry in framework.document.get("structure", []):
        found = len(framework.at_level(entry["level"]))
        if found != entry["count"]:
            problems.append(f"framework: structure: {entry['count']} {entry['level']} nodes declared, "
                            f"{found} found")
    return problems


def framework_problems(document: dict) -> list[str]:
    """Return schema problems, or, when the schema holds, semantic problems."""
    found = schema_errors(document)
    return found or semantic_problems(build(document))


def load_framework(path: Path | str) -> Framework:
    """Read, validate and build one framework file, raising FrameworkError with one line per problem."""
    path = Path(path)
    try:
        document = read_yaml(path)
    except YamlFileError as exc:
        raise FrameworkError([str(exc)]) from None
    if not isinstance(document, dict):
        raise FrameworkError([f"{path}: file: expected a mapping at the top level"])
    found = framework_problems(document)
    if found:
        raise FrameworkError([f"{path}: {line}" for line in found])
    return build(document)


def load_frameworks(directory: Path | str) -> dict[str, Framework]:
    """Load every framework file in a folder; return id -> Framework, or raise with every problem."""
    frameworks, errors = {}, []
    for path in sorted(Path(directory).glob("*.y*ml")):
        try:
            framework = load_framework(path)
        except FrameworkError as exc:
            errors += exc.errors
            continue
        if framework.id in frameworks:
            errors.append(f"{path}: framework: duplicate framework id {framework.id!r}")
        frameworks[framework.id] = framework
    for framework in frameworks.values():
        for node in framework.walk():
            if node.derived_from:
                other, code = node.derived_from
                if other not in frameworks or frameworks[other].get(code) is None:
                    errors.append(f"{framework.id}: node {node.code}: derived_from names unknown node "
                                  f"{other}/{code}")
    if errors:
        raise FrameworkError(errors)
    return frameworks


def check_questionnaire_links(questionnaire: Questionnaire, frameworks: dict[str, Framework]) -> list[str]:
    """Check one questionnaire's scored items against the frameworks; one line per problem."""
    owner = f"questionnaire {questionnaire.id}"
    scored = questionnaire.scored_items()
    if questionnaire.framework is None:
        return [f"{owner}: scored items but no framework"] if scored else []
    framework = frameworks.get(questionnaire.framework)
    if framework is None:
        return [f"{owner}: unknown framework {questionnaire.framework!r}"]
    problems = []
    for item in scored:
        where = f"{owner}: item {item.id}"
        node = framework.get(item.score.node)
        if node is None:
            problems.append(f"{where}: unknown node {item.score.node!r} in framework {framework.id}")
            continue
        if not node.measured_by_items:
            problems.append(f"{where}: node {node.code} is not a leaf measured by questionnaire items")
        elif MEASURED_METHODS[item.score.method] != node.method:
            problems.append(f"{where}: score method {item.score.method!r} does not fit node {node.code} "
                            f"(method {node.method!r})")
    return problems


def survey_coverage(questionnaires: Iterable[Questionnaire], framework: Framework) -> list[str]:
    """Report every node measured by items that no questionnaire of the bundle scores; one line each."""
    covered = {item.score.node for q in questionnaires if q.framework == framework.id
               for item in q.scored_items()}
    return [f"{framework.id}: node {node.code}: no questionnaire item scores this node"
            for node in framework.walk() if node.measured_by_items and node.code not in covered]


def bundle_problems(questionnaires: list[Questionnaire], frameworks: dict[str, Framework]) -> list[str]:
    """Check every questionnaire's links and every framework's coverage."""
    problems = [line for q in questionnaires for line in check_questionnaire_links(q, frameworks)]
    for framework in frameworks.values():
        problems += survey_coverage(questionnaires, framework)
    return problems
