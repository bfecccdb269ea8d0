"""Read questionnaire files, validate them (JSON Schema, then semantic rules), build frozen objects.

Every problem is reported on one line: `FILE: WHERE: PROBLEM`, WHERE naming the item id.
"""

import hashlib
import json
from functools import cache
from pathlib import Path

import jsonschema

from survey import bundled
from survey.definitions import rules
from survey.definitions.model import Item, Option, Questionnaire, Score, Section, Text
from survey.definitions.yamlfile import YamlFileError, read_yaml

SCHEMA_DIR = bundled.SCHEMAS
class DefinitionError(ValueError):
    """A definition file with problems; `errors` holds one line per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@cache
def schema(name: str = "questionnaire") -> dict:
    """Return a JSON Schema from questionnaires/schema/."""
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


def read_document(path: Path) -> dict:
    """Parse a YAML file (see survey.definitions.yamlfile), reporting any problem on one line."""
    try:
        document = read_yaml(path)
    except YamlFileError as exc:
        raise DefinitionError([str(exc)]) from None
    if not isinstance(document, dict):
        raise DefinitionError([f"{path}: file: expected a mapping at the top level"])
    return document


def _short(value) -> str:
    """Return a value's repr cut to 60 characters, so that one problem stays one short line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _schema_message(error: jsonschema.ValidationError, field: str) -> str:
    """Phrase one schema error for a person editing the file."""
    prefix = f"{field}: " if field else ""
    if error.validator == "enum" and field == "type":
        allowed = ", ".join(error.validator_value)
        return f"unknown item type {_short(error.instance)} (expected one of: {allowed})"
    if error.validator == "required":
        missing = [p for p in error.validator_value if p not in error.instance]
        if missing == ["vi"]:
            return f"{prefix}missing Vietnamese label (vi)"
        return f"{prefix}missing {', '.join(map(repr, missing))}"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{prefix}unknown key {', '.join(map(repr, extra))}"
    if error.validator == "oneOf" and field.endswith("score"):
        return f"{prefix}score must be a number from 0 to 1 or 'satisfied'"
    if error.validator == "type":
        return f"{prefix}expected {error.validator_value}, found {_short(error.instance)}"
    return prefix + error.message.splitlines()[0][:200]


def schema_errors(document: dict) -> list[str]:
    """Check a document against the JSON Schema; return `WHERE: PROBLEM` lines."""
    validator = jsonschema.Draft202012Validator(schema())
    lines = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path))):
        owner, field = rules.where(document, list(error.absolute_path))
        lines.append(f"{owner}: {_schema_message(error, field)}")
    return lines


def normalise(document: dict) -> dict:
    """Return the document with option codes as strings and every text in NFC."""

    def walk(node, key=None):
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if key == "code" and isinstance(node, int) and not isinstance(node, bool):
            return str(node)
        return node

    return walk(document)


def canonical_json(document: dict) -> str:
    """Return the canonical JSON form of a document: sorted keys, no spaces, UTF-8 text kept."""
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def checksum(document: dict) -> str:
    """Return the SHA-256 of the canonical JSON form: formatting and key order do not count."""
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()


def problems(document: dict) -> list[str]:
    """Return schema problems, or, when the schema holds, semantic problems."""
    found = schema_errors(document)
    return found or rules.check(normalise(document))


def text_of(raw: dict | None) -> Text | None:
    """Build a Text from its mapping."""
    if not raw:
        return None
    return Text(raw["vi"], raw.get("en"), tuple((k, v) for k, v in raw.items() if k not in ("vi", "en")))


def _option(raw: dict) -> Option:
    """Build an Option from its mapping."""
    return Option(str(raw["code"]), text_of(raw["label"]), raw.get("score"), raw.get("excluded", False))


def _score(raw: dict | None) -> Score | None:
    """Build a Score from its mapping."""
    return Score(raw["node"], raw["method"]) if raw else None


def _item(raw: dict, section_id: str, scales: dict) -> Item:
    """Build an Item, resolving a named scale and building matrix rows."""
    options = tuple(_option(o) for o in raw.get("options") or scales.get(raw.get("scale"), []))
    rows = tuple(
        Item(id=row["id"], type="single_choice", label=text_of(row["label"]),
             hint=text_of(row.get("hint")), section_id=section_id,
             required=raw.get("required", False), relevant=raw.get("relevant"),
             options=options, score=_score(row.get("score")), matrix_id=raw["id"])
        for row in raw.get("rows", [])
    )
    return Item(
        id=raw["id"], type=raw["type"], label=text_of(raw["label"]), section_id=section_id,
        hint=text_of(raw.get("hint")), required=raw.get("required", False),
        relevant=raw.get("relevant"), constraint=raw.get("constraint"),
        constraint_message=text_of(raw.get("constraint_message")), options=options, rows=rows,
        score=_score(raw.get("score")), min=raw.get("min"), max=raw.get("max"),
        max_length=raw.get("max_length"), appearance=raw.get("appearance"),
        other_specify=str(raw["other_specify"]) if raw.get("other_specify") is not None else None,
    )


OTHER_MAX_LENGTH = 255


def other_text(item: Item) -> Item | None:
    """Return the text answer that an "other, please specify" option opens, or None.

    Stored as its own item `<item>_other`, shown (and required) only while that option is chosen:
    pruned like any hidden answer otherwise. Its label names the option in each of its languages.
    """
    if item.other_specify is None:
        return None
    option = item.option(item.other_specify)
    text = other_label(option.label if option else Text(item.other_specify))
    return Item(id=f"{item.id}_other", type="text", label=text, section_id=item.section_id,
                required=True, relevant=f"selected(${{{item.id}}}, '{item.other_specify}')",
                max_length=OTHER_MAX_LENGTH, other_of=item.id)


def other_label(label: Text) -> Text:
    """Return the label of an "other, please specify" text, naming its option («Khác»)."""
    return Text(f"Nếu chọn «{label.vi}», xin ghi rõ:", f"If «{label.en or label.vi}», please specify:",
                tuple((code, f"«{value}»: …") for code, value in label.others))  # a form's own languages


def _section_items(raw_items: list[dict], section_id: str, scales: dict) -> tuple[Item, ...]:
    """Build a section's items, each "other, specify" text right after its question."""
    found = []
    for raw in raw_items:
        item = _item(raw, section_id, scales)
        found += [item, *filter(None, [other_text(item)])]
    return tuple(found)


def build(document: dict) -> Questionnaire:
    """Build the frozen Questionnaire from a valid, normalised document."""
    scales = document.get("scales", {})
    sections = tuple(
        Section(
            id=s["id"], title=text_of(s["title"]), description=text_of(s.get("description")),
            relevant=s.get("relevant"), once=bool(s.get("once", False)),
            items=_section_items(s["items"], s["id"], scales),
        )
        for s in document["sections"]
    )
    return Questionnaire(
        id=document["id"], version=document["version"], title=text_of(document["title"]),
        description=text_of(document.get("description")), minutes=document.get("minutes"),
        groups=tuple(document.get("groups", ())), framework=document.get("framework"),
        languages=tuple((lang["code"], lang["name"]) for lang in document.get("languages", ())),
        sections=sections, source=document,
    )


def from_document(document: dict, source: str = "<definition>") -> Questionnaire:
    """Validate and build a questionnaire, raising DefinitionError with one line per problem."""
    found = problems(document)
    if found:
        raise DefinitionError([f"{source}: {line}" for line in found])
    return build(normalise(document))


def load_file(path: Path | str) -> Questionnaire:
    """Read, validate and build one questionnaire file."""
    path = Path(path)
    return from_document(read_document(path), str(path))


def definition_files(paths: list[Path | str]) -> list[Path]:
    """Expand files and folders into the questionnaire files they hold (schemas left out)."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.y*ml") if "schema" not in p.parts
                            and p.suffix in (".yaml", ".yml") and _is_questionnaire(p))
        else:
            found.append(path)
    return found


def _is_questionnaire(path: Path) -> bool:
    """Tell questionnaire files from other data files (frameworks) kept alongside."""
    return "frameworks" not in path.parts


def load_paths(paths: list[Path | str]) -> tuple[list[Questionnaire], list[str]]:
    """Validate every file under the paths; return the good questionnaires and all problems."""
    good, errors = [], []
    for path in definition_files(paths):
        if not path.exists():
            errors.append(f"{path}: file: not found")
            continue
        try:
            good.append(load_file(path))
        except DefinitionError as exc:
            errors += exc.errors
    return good, errors
