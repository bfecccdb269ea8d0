"""Loading questionnaires: idempotent, and a published version is never edited."""

import copy

import pytest
import yaml

from survey.instruments.models import PublishedVersionError, QuestionnaireVersion
from tests.factories import SMALL_QUESTIONNAIRE, make_version


def write(tmp_path, document, name="q.yaml"):
    """Write a definition file and return its path."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def test_load_twice_adds_one_version(runner, session, tmp_path):
    """Loading the same file twice stores it once."""
    path = write(tmp_path, SMALL_QUESTIONNAIRE)
    first = runner.invoke(args=["questionnaires", "load", str(path)])
    second = runner.invoke(args=["questionnaires", "load", str(path)])
    assert first.exit_code == 0 and "small 1: added" in first.output
    assert second.exit_code == 0 and "small 1: unchanged" in second.output
    assert session.query(QuestionnaireVersion).count() == 1


def test_load_refuses_to_change_published_version(runner, session, tmp_path):
    """A file that changes a published version is refused and nothing is written."""
    runner.invoke(args=["questionnaires", "load", str(write(tmp_path, SMALL_QUESTIONNAIRE))])
    changed = copy.deepcopy(SMALL_QUESTIONNAIRE)
    changed["title"]["vi"] = "Phiếu nhỏ (sửa)"
    result = runner.invoke(args=["questionnaires", "load", str(write(tmp_path, changed))])
    assert result.exit_code != 0
    assert "is published with other content" in result.output
    session.expire_all()
    assert session.query(QuestionnaireVersion).one().definition["title"]["vi"] == "Phiếu nhỏ"


def test_new_version_is_added_beside_the_old(runner, session, tmp_path):
    """A changed questionnaire with a new version string is added; the old one stays."""
    runner.invoke(args=["questionnaires", "load", str(write(tmp_path, SMALL_QUESTIONNAIRE))])
    changed = copy.deepcopy(SMALL_QUESTIONNAIRE) | {"version": "2"}
    result = runner.invoke(args=["questionnaires", "load", str(write(tmp_path, changed))])
    assert result.exit_code == 0 and "small 2: added" in result.output
    assert sorted(v.version for v in session.query(QuestionnaireVersion)) == ["1", "2"]


def test_orm_refuses_edits_of_published_version(session):
    """Editing or deleting a published version in code fails at flush."""
    version = make_version(session)
    session.commit()
    version.definition = {"changed": True}
    with pytest.raises(PublishedVersionError):
        session.flush()
    session.rollback()
    session.delete(session.get(QuestionnaireVersion, version.id))
    with pytest.raises(PublishedVersionError):
        session.flush()


def test_list_shows_items_and_scored_items(runner, session):
    """`questionnaires list` prints id, version and item counts."""
    make_version(session)
    session.commit()
    result = runner.invoke(args=["questionnaires", "list"])
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if line.startswith("small"))
    assert line.split()[-2:] == ["4", "1"]  # used, age, m1_signs, wish; one scored
