"""`flask backup` / `flask restore`: a seeded instance comes back whole; bad archives are refused."""

import hashlib
import json

import pytest
from sqlalchemy import inspect, select, table, text

from survey import create_app
from survey.assessment.storage import storage_for
from survey.backup import MAGIC, table_counts
from survey.db import Database, db
from survey.sampling import crypto
from survey.sampling.models import FrameEntry
from tests.conftest import TEST_SECRET
from tests.test_analysis_report import seeded  # noqa: F401 - the fixture: the demo province, answered

KEY = crypto.new_key()


@pytest.fixture
def source(seeded):  # noqa: F811 - uses the imported fixture
    """The demo province (frame, invitations, responses, answers), one evidence file, a backup key."""
    storage_for(seeded).put(b"%PDF-1.4 evidence of a one-stop shop\n")
    seeded.config["BACKUP_KEY"] = KEY
    return seeded


@pytest.fixture
def target(empty_database_url, tmp_path, monkeypatch):
    """An app with its own empty database and instance folder, holding the backup key."""
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "restored-instance"))
    restored = create_app({"SECRET_KEY": TEST_SECRET, "DATABASE_URL": empty_database_url,
                           "RATELIMIT_STORAGE_URI": "memory://", "BACKUP_KEY": KEY})
    yield restored
    Database.engine(restored).dispose()


def invoke(app, *args: str):
    """Run a `flask` command of this app (in its own app context: the test runs in the source's)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def checksum(app, name: str) -> str:
    """Return a SHA-256 over every row of a table, in primary-key order."""
    engine = Database.engine(app)
    with engine.connect() as connection:
        keys = inspect(connection).get_pk_constraint(name)["constrained_columns"]
        rows = connection.execute(select(text("*")).select_from(table(name)).order_by(*map(text, keys)))
        data = [[str(value) for value in row] for row in rows]
    assert data, f"{name} is empty: the checksum would prove nothing"
    return hashlib.sha256(json.dumps(data).encode("utf-8")).hexdigest()


def names(app) -> list[str]:
    """Return the frame's decrypted names, in id order."""
    engine = Database.engine(app)
    cipher = crypto.cipher(app)
    with engine.connect() as connection:
        stored = connection.scalars(select(FrameEntry.full_name).order_by(FrameEntry.id)).all()
    return [cipher.open(value, "full_name") for value in stored]


def make_backup(app, tmp_path):
    """Run `flask backup --out` and return the archive's path."""
    out = tmp_path / "backups" / "survey.bak"
    result = invoke(app, "backup", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output
    return out


def test_restore_brings_back_every_row_the_keys_and_the_evidence(source, target, tmp_path):
    """Every table's row count, the responses' and answers' checksums, contacts and evidence match."""
    archive = make_backup(source, tmp_path)
    data = archive.read_bytes()
    assert data.startswith(MAGIC)
    assert b"sipas" not in data and b"SQLite format" not in data and b"PGDMP" not in data
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    counts = table_counts(source)
    assert counts["responses"] > 0 and counts["answers"] > 0 and counts["invitations"] > 0
    assert counts["frame_entries"] > 0

    result = invoke(target, "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert "row counts match" in result.output and "evidence files: 1" in result.output
    assert table_counts(target) == counts
    for name in ("responses", "answers", "invitations", "frame_entries"):
        assert checksum(target, name) == checksum(source, name)
    frame_key = crypto.key_path(target.instance_path)
    assert frame_key.read_bytes() == crypto.key_path(source.instance_path).read_bytes()
    assert oct(crypto.key_path(target.instance_path).stat().st_mode & 0o777) == "0o600"
    assert names(target) == names(source) and "Nguyễn" in " ".join(names(target))
    key = hashlib.sha256(b"%PDF-1.4 evidence of a one-stop shop\n").hexdigest()
    assert storage_for(target).exists(key)

    again = invoke(target, "restore", str(archive))
    assert again.exit_code != 0 and "not empty" in again.output
    forced = invoke(target, "restore", "--force", str(archive))
    assert forced.exit_code == 0, forced.output
    assert table_counts(target) == counts


def assert_refused(target, archive, message: str) -> None:
    """A restore of the archive fails with the message and leaves the database without tables."""
    result = invoke(target, "restore", str(archive))
    assert result.exit_code != 0
    assert message in result.output, result.output
    with Database.engine(target).connect() as connection:
        assert inspect(connection).get_table_names() == []
    assert not crypto.key_path(target.instance_path).exists()


def test_tampered_archive_is_refused(source, target, tmp_path):
    """One changed byte in the ciphertext, a changed header or a cut file: refused, nothing written."""
    archive = make_backup(source, tmp_path)
    data = bytearray(archive.read_bytes())
    changed = tmp_path / "changed.bak"
    middle = bytearray(data)
    middle[len(data) // 2] ^= 1
    changed.write_bytes(middle)
    assert_refused(target, changed, "cannot be decrypted")
    at = data.index(b'"created": "') + len(b'"created": "')
    header = bytearray(data)
    header[at:at + 4] = b"1999"  # an older date, same length: the header still parses
    changed.write_bytes(header)
    assert_refused(target, changed, "cannot be decrypted")
    changed.write_bytes(bytes(data[:-100]))
    assert_refused(target, changed, "cannot be decrypted")
    changed.write_bytes(b"not a backup at all")
    assert_refused(target, changed, "not a survey backup archive")


def test_wrong_key_is_refused(source, target, tmp_path):
    """An archive opened with another key is refused with a clear message."""
    archive = make_backup(source, tmp_path)
    target.config["BACKUP_KEY"] = crypto.new_key()
    assert_refused(target, archive, "wrong SURVEY_BACKUP_KEY")


def test_no_key_no_backup(source, tmp_path):
    """Without SURVEY_BACKUP_KEY nothing is written; --generate-key prints a usable key."""
    source.config["BACKUP_KEY"] = None
    out = tmp_path / "plain.bak"
    result = invoke(source, "backup", "--out", str(out))
    assert result.exit_code != 0 and "SURVEY_BACKUP_KEY" in result.output
    assert not out.exists()
    generated = invoke(source, "backup", "--generate-key")
    source.config["BACKUP_KEY"] = generated.output.strip()
    assert make_backup(source, tmp_path).exists()


def test_newer_schema_revision_is_refused(source, target, tmp_path):
    """An archive made at a revision this code does not know (a newer version's) is refused."""
    db.session.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    db.session.commit()
    archive = make_backup(source, tmp_path)
    assert_refused(target, archive, "newer than this code's")


def test_instance_keys_are_replaced_and_another_frame_key_refused(source, target, tmp_path):
    """A SURVEY_FRAME_KEY other than the archive's is refused; a new instance's key file is set aside."""
    archive = make_backup(source, tmp_path)
    target.config["FRAME_KEY"] = crypto.new_key()
    assert_refused(target, archive, "SURVEY_FRAME_KEY here")
    target.config["FRAME_KEY"] = None
    crypto.ensure_key_file(target.instance_path)  # what a new instance's first use makes
    old = crypto.key_path(target.instance_path).read_bytes()
    result = invoke(target, "restore", str(archive))
    assert result.exit_code == 0, result.output
    assert "kept as frame_key.before-restore" in result.output
    assert crypto.key_path(target.instance_path).with_name("frame_key.before-restore").read_bytes() == old
    assert names(target) == names(source)
