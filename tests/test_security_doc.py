"""docs/security.md names only tests that exist, so its requirement-to-test map cannot rot."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_named_in_the_security_doc_exists():
    """Each `test_...` the threat model cites is defined somewhere under tests/."""
    named = set(re.findall(r"\btest_\w+", (ROOT / "docs" / "security.md").read_text(encoding="utf-8")))
    named = {n for n in named if not n.endswith("_")}  # "test_non_utf8_*" style prefixes
    defined = set()
    for path in (ROOT / "tests").rglob("*.py"):
        defined |= set(re.findall(r"^\s*def (test_\w+)", path.read_text(encoding="utf-8"), re.M))
        defined |= {p.stem for p in [path] if p.stem.startswith("test_")}
    assert len(named) > 40
    assert named - defined == set()
