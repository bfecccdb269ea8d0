"""Frameworks are published versions: a checksum of the canonical form, idempotent, never edited."""

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from survey.definitions import frameworks as fw
from survey.definitions import load
from survey.instruments import frameworks as framework_service
from survey.instruments.models import FrameworkVersion, PublishedVersionError
from survey.instruments.service import VersionConflict
from survey.sampling import service as waves
from tests.factories import make_group, make_version, make_wave

BUNDLED = Path(__file__).resolve().parents[2] / "questionnaires"


def bundled_framework(code: str) -> fw.Framework:
    """Return a bundled framework, validated by the app's one reader."""
    return fw.load_frameworks(BUNDLED / "frameworks")[code]


def edited_copy(tmp_path, code: str, version: str, edit) -> Path:
    """Copy the bundled questionnaires folder, apply `edit` to one framework document, set its version."""
    folder = tmp_path / "questionnaires"
    shutil.copytree(BUNDLED, folder, symlinks=False)
    path = folder / "frameworks" / f"{code}.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(document)
    document["version"] = version
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


def test_publish_stores_the_canonical_document_and_its_checksum(session):
    """The stored definition is the normalised document; its checksum is the questionnaires' checksum."""
    framework = bundled_framework("sipas-2023")
    assert framework_service.publish(session, framework) == "added"
    stored = session.scalars(select(FrameworkVersion)).one()
    assert stored.version == framework.version and stored.framework.code == "sipas-2023"
    assert stored.definition == load.normalise(framework.document)
    assert stored.checksum == load.checksum(stored.definition) and len(stored.checksum) == 64


def test_publish_twice_is_unchanged_and_other_content_is_refused(session):
    """The same content again is a no-op; other content under the same version string is refused."""
    framework = bundled_framework("sipas-2023")
    framework_service.publish(session, framework)
    assert framework_service.publish(session, framework) == "unchanged"
    document = load.normalise(framework.document)
    document["nodes"][0]["children"][0]["weight"] = 3
    with pytest.raises(VersionConflict, match="framework sipas-2023 version 2023.1 is published"):
        framework_service.publish(session, fw.build(document))
    assert session.scalar(select(func.count()).select_from(FrameworkVersion)) == 1


def test_orm_refuses_to_edit_or_delete_a_framework_version(session):
    """A stored framework version cannot be changed or deleted through the ORM."""
    framework_service.publish(session, bundled_framework("sipas-2023"))
    session.commit()
    stored = session.scalars(select(FrameworkVersion)).one()
    stored.definition = {**stored.definition, "status": "verified"}
    with pytest.raises(PublishedVersionError):
        session.flush()
    session.rollback()
    session.delete(session.scalars(select(FrameworkVersion)).one())
    with pytest.raises(PublishedVersionError):
        session.flush()
    session.rollback()


def test_questionnaires_load_publishes_frameworks_idempotently(runner, session):
    """`flask questionnaires load` on the bundled folder publishes both frameworks once."""
    first = runner.invoke(args=["questionnaires", "load", str(BUNDLED)])
    assert first.exit_code == 0, first.output
    assert "sipas-2023 2023.1: added" in first.output and "par-province-2024" in first.output
    second = runner.invoke(args=["questionnaires", "load", str(BUNDLED)])
    assert second.exit_code == 0 and "sipas-2023 2023.1: unchanged" in second.output
    assert session.scalar(select(func.count()).select_from(FrameworkVersion)) == 2


def test_load_refuses_an_edited_framework_under_its_published_version(runner, session, tmp_path):
    """An edited framework file that keeps its version string is refused and nothing is written."""
    runner.invoke(args=["questionnaires", "load", str(BUNDLED)])
    folder = edited_copy(tmp_path, "sipas-2023", "2023.1",
                         lambda d: d["nodes"][0]["children"][0].update(weight=3))
    result = runner.invoke(args=["questionnaires", "load", str(folder)])
    assert result.exit_code != 0
    assert "framework sipas-2023 version 2023.1 is published with other content" in result.output
    assert "give the changed framework a new version" in result.output
    assert session.scalar(select(func.count()).select_from(FrameworkVersion)) == 2


def test_setup_publishes_the_bundled_frameworks_once(fresh):
    """`flask setup --no-demo` loads the frameworks; a second run loads none."""
    runner = fresh.test_cli_runner()
    first = runner.invoke(args=["setup", "--no-demo"])
    assert first.exit_code == 0, first.output
    assert "frameworks: 2 bundled, 2 newly loaded" in first.output
    second = runner.invoke(args=["setup", "--no-demo"])
    assert "frameworks: 2 bundled, 0 newly loaded" in second.output


def test_assigning_a_group_pins_the_newest_framework_version(session):
    """A wave points at the framework version current when its first group was assigned."""
    framework_service.publish(session, bundled_framework("sipas-2023"))
    sipas = load.load_file(BUNDLED / "sipas-service.yaml")
    version = make_version(session, load.normalise(sipas.source))
    wave, group = make_wave(session, status="draft"), make_group(session)
    waves.assign_group(session, wave, group.code, version.questionnaire.code)
    pinned = framework_service.pinned(session, wave.id)
    assert list(pinned) == ["sipas-2023"] and pinned["sipas-2023"].version == "2023.1"


def test_load_pins_waves_assigned_before_frameworks_were_stored(runner, session):
    """A wave assigned before any framework was published is pinned when the frameworks are loaded."""
    sipas = load.load_file(BUNDLED / "sipas-service.yaml")
    version = make_version(session, load.normalise(sipas.source))
    wave, group = make_wave(session, status="draft"), make_group(session)
    waves.assign_group(session, wave, group.code, version.questionnaire.code)
    session.commit()
    assert framework_service.pinned(session, wave.id) == {}
    result = runner.invoke(args=["questionnaires", "load", str(BUNDLED)])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert framework_service.pinned(session, wave.id)["sipas-2023"].version == "2023.1"
