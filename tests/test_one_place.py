"""Each thing in one place: responses and invitations are created by their services only.

Responses (drafts, clerk forms, imported submissions) are made in survey/responses/service.py and
invitations (sampled, walk-in, demo) in survey/sampling/service.py; a second constructor elsewhere
would skip the checks and the design codes those services apply.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "survey"
OWNERS = {
    "Response": {"survey/responses/service.py"},
    "HeldSubmission": {"survey/responses/service.py"},
    "Invitation": {"survey/sampling/service.py"},
}


def constructions(name: str) -> set[str]:
    """Return the modules of the package that call a model's constructor by its name."""
    found = set()
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = any(isinstance(node, ast.ImportFrom) and node.module and node.module.endswith(".models")
                       and any(alias.name == name for alias in node.names) for node in ast.walk(tree))
        called = any(isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name
                     for node in ast.walk(tree))
        if imported and called:
            found.add(path.relative_to(ROOT.parent).as_posix())
    return found


@pytest.mark.parametrize("model", sorted(OWNERS))
def test_model_made_in_its_service_only(model):
    assert constructions(model) == OWNERS[model]
