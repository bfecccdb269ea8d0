"""Validate questionnaires together with the index frameworks their scored items point into."""

from pathlib import Path

from survey.definitions import frameworks as fw
from survey.definitions import load
from survey.definitions.model import Questionnaire


def framework_folders(paths: list, fallback: list) -> list[Path]:
    """Return the frameworks/ folders beside the given folders, else those of the fallback folders."""
    folders = [Path(p) / "frameworks" for p in paths if (Path(p) / "frameworks").is_dir()]
    return folders or [Path(p) / "frameworks" for p in fallback if (Path(p) / "frameworks").is_dir()]


def validate(paths: list, fallback_dirs: list) -> tuple[list[Questionnaire], list[str]]:
    """Validate questionnaire files, the frameworks, and the links between them; one line a problem."""
    good, _frameworks, problems = validate_with_frameworks(paths, fallback_dirs)
    return good, problems


def validate_with_frameworks(paths: list, fallback_dirs: list) -> tuple[
        list[Questionnaire], dict[str, fw.Framework], list[str]]:
    """Validate as `validate` does; also return the frameworks read (id -> Framework).

    When a whole folder is validated, every framework node measured by items must also have an item.
    """
    good, problems, sources = [], [], {}
    for path in load.definition_files(paths):
        try:
            questionnaire = load.load_file(path)
        except load.DefinitionError as exc:
            problems += exc.errors
            continue
        except FileNotFoundError:
            problems.append(f"{path}: file: not found")
            continue
        good.append(questionnaire)
        sources[questionnaire.id] = path
    frameworks = {}
    for folder in framework_folders(paths, fallback_dirs):
        try:
            frameworks |= fw.load_frameworks(folder)
        except fw.FrameworkError as exc:
            problems += exc.errors
    for questionnaire in good:
        owner = f"questionnaire {questionnaire.id}: "
        problems += [f"{sources[questionnaire.id]}: {line.removeprefix(owner)}"
                     for line in fw.check_questionnaire_links(questionnaire, frameworks)]
    if any(Path(p).is_dir() for p in paths):
        for framework in frameworks.values():
            problems += fw.survey_coverage(good, framework)
    return good, frameworks, problems
