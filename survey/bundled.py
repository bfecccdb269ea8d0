"""Files shipped inside the package: questionnaires, frameworks, schemas, migrations, demo data.

They are found through importlib.resources, so that an installed wheel works without the source
tree (the repository's top-level `questionnaires/` is a link to the same folder).
"""

from importlib.resources import files
from pathlib import Path


def path(*parts: str) -> Path:
    """Return the file-system path of a file or folder shipped in the `survey` package."""
    return Path(str(files("survey").joinpath(*parts)))


QUESTIONNAIRES = path("questionnaires")
SCHEMAS = QUESTIONNAIRES / "schema"
MIGRATIONS = path("migrations")
DEMO = path("demo")
