"""Hostile input files: each is refused quickly with one line `FILE: WHERE: PROBLEM`, nothing written."""

import resource
import time

import pytest
from sqlalchemy import func, select

from survey.definitions import frameworks, load, yamlfile
from survey.instruments.models import QuestionnaireVersion
from survey.sampling.models import RespondentGroup, Unit

# The "billion laughs" of YAML: 9 levels of 9 aliases expand to 9^9 strings.
LAUGHS = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
    f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n" for i in range(8))


def load_command(runner, path):
    """Run `questionnaires load` on one file; return the result and the lines naming the file."""
    result = runner.invoke(args=["questionnaires", "load", str(path)])
    return result, [line for line in result.output.splitlines() if line.startswith(str(path))]


def test_nested_aliases_are_refused_without_expanding(runner, session, tmp_path):
    """A 'billion laughs' file is refused at its first alias, in bounded memory and time."""
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS, encoding="utf-8")
    assert path.stat().st_size < 1024
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    result, lines = load_command(runner, path)
    assert time.monotonic() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024  # KiB: < 100 MB
    assert result.exit_code != 0
    assert lines == [f"{path}: line 1: YAML anchors (&name) are not allowed; write the value out"]
    assert "lol" not in result.output
    assert session.scalar(select(func.count()).select_from(QuestionnaireVersion)) == 0


def test_alias_is_refused(tmp_path):
    """An alias (here to a key defined by a merge-free anchor-less document) is refused by name."""
    path = tmp_path / "alias.yaml"
    path.write_text("id: q\ntitle: *x\n", encoding="utf-8")
    with pytest.raises(load.DefinitionError) as caught:
        load.load_file(path)
    assert caught.value.errors == [f"{path}: line 2: YAML aliases (*name) are not allowed; "
                                   "write the value out"]


def test_anchors_alone_are_refused(tmp_path):
    """An anchor without an alias is refused too: the files are plain data."""
    path = tmp_path / "anchor.yaml"
    path.write_text("id: &x q\n", encoding="utf-8")
    with pytest.raises(load.DefinitionError) as caught:
        load.load_file(path)
    assert caught.value.errors == [f"{path}: line 1: YAML anchors (&name) are not allowed; "
                                   "write the value out"]


@pytest.mark.parametrize("style", ["block", "flow"])
def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path, style):
    """5,000 levels of nesting give one line, not a RecursionError traceback."""
    path = tmp_path / "deep.yaml"
    depth = 5000
    if style == "flow":
        path.write_text("id: " + "[" * depth + "]" * depth + "\n", encoding="utf-8")
    else:
        path.write_text("id: q\nsections:\n" + "- " * depth + "1\n", encoding="utf-8")
    good, errors = load.load_paths([path])
    assert good == []
    assert len(errors) == 1 and errors[0].startswith(f"{path}: line ")
    assert errors[0].endswith(f"nested more than {yamlfile.MAX_DEPTH} levels deep")


def test_large_file_is_refused_before_parsing(tmp_path):
    """A 50 MB file is refused at once by its size."""
    path = tmp_path / "big.yaml"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("id: q\nnotes:\n")
        line = "  - " + "x" * 1000 + "\n"
        for _ in range(50 * 1024):
            handle.write(line)
    started = time.monotonic()
    with pytest.raises(load.DefinitionError) as caught:
        load.load_file(path)
    assert time.monotonic() - started < 2
    assert caught.value.errors == [f"{path}: file: larger than 2 MB"]


def test_non_utf8_yaml_names_the_line(tmp_path):
    """A questionnaire saved in a legacy code page is refused with the line of the bad byte."""
    path = tmp_path / "cp1258.yaml"
    path.write_bytes(b"id: q\ntitle:\n  vi: Phi" + b"\xe9u\n")
    with pytest.raises(load.DefinitionError) as caught:
        load.load_file(path)
    assert caught.value.errors == [f"{path}: line 3: not UTF-8 text (byte 0xe9); save the file as UTF-8"]


def test_framework_files_use_the_same_reader(tmp_path):
    """Framework files are read by the same reader and refuse aliases the same way."""
    path = tmp_path / "fw.yaml"
    path.write_text("id: &f x\n", encoding="utf-8")
    with pytest.raises(frameworks.FrameworkError) as caught:
        frameworks.load_framework(path)
    assert caught.value.errors == [f"{path}: line 1: YAML anchors (&name) are not allowed; "
                                   "write the value out"]


def test_non_utf8_units_csv_is_refused_with_its_line(runner, session, tmp_path):
    """A units CSV saved as Windows-1258 gives one line with the line number, not a traceback."""
    path = tmp_path / "units.csv"
    path.write_bytes(b"code,name,name_en,kind,parent_code,valid_from,valid_to,predecessors\n"
                     b"A,Xa A,,commune,,2025-07-01,,\n"
                     b"B,X\xe3 B,,commune,,2025-07-01,,\n")
    result = runner.invoke(args=["units", "import", str(path)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert f"{path}: line 3: not UTF-8 (byte 0xe3 at byte 4 of the line)" in result.output
    assert session.scalar(select(func.count()).select_from(Unit)) == 0


def test_units_csv_with_bom_is_read(runner, session, tmp_path):
    """A UTF-8 file with a byte-order mark (Excel's “CSV UTF-8”) imports."""
    path = tmp_path / "units.csv"
    path.write_bytes("\ufeffcode,name,name_en,kind,parent_code,valid_from,valid_to,predecessors\n"
                     "A,Xã A,,commune,,2025-07-01,,\n".encode())
    result = runner.invoke(args=["units", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert session.scalar(select(Unit.name).filter_by(code="A")) == "Xã A"


def test_non_utf8_groups_and_odk_csv_are_refused(runner, session, tmp_path):
    """Groups and ODK submission imports read CSV the same strict way."""
    groups = tmp_path / "groups.csv"
    groups.write_bytes(b"code,name,name_en,kind\ng1,Nh\xf3m,,citizen\n")
    result = runner.invoke(args=["groups", "import", str(groups)])
    assert result.exit_code != 0 and f"{groups}: line 2: not UTF-8" in result.output
    assert session.scalar(select(func.count()).select_from(RespondentGroup)) == 0
    odk = tmp_path / "odk.csv"
    odk.write_bytes(b"used,age\n\xff,1\n")
    result = runner.invoke(args=["responses", "import-odk", str(odk), "--wave", "W", "--group", "g",
                                 "--unit", "U"])
    assert result.exit_code != 0 and f"{odk}: line 2: not UTF-8" in result.output
