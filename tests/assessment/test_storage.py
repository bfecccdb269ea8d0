"""The evidence storage: content-addressed local files, chosen by SURVEY_EVIDENCE_STORAGE."""

import hashlib

import pytest

from survey.assessment.storage import LocalStorage, from_setting, storage_for


def test_local_storage_put_open_exists_delete(tmp_path):
    """Keys are SHA-256; storing twice is harmless; bad keys never become paths."""
    storage = LocalStorage(tmp_path / "evidence")
    key = storage.put(b"%PDF-1.4 x")
    assert key == hashlib.sha256(b"%PDF-1.4 x").hexdigest() == storage.put(b"%PDF-1.4 x")
    assert (tmp_path / "evidence" / key[:2] / key[2:4] / key).is_file()
    with storage.open(key) as handle:
        assert handle.read() == b"%PDF-1.4 x"
    assert storage.exists(key) and not storage.exists("../../etc/passwd")
    with pytest.raises(KeyError):
        storage.open("../" + key)
    storage.delete(key)
    assert not storage.exists(key)


def test_setting_chooses_the_folder(tmp_path, configured):
    """`local:/path` puts files there; `local:` under the instance folder; other schemes are refused."""
    app = configured(EVIDENCE_STORAGE=f"local:{tmp_path / 'shared'}")
    assert storage_for(app).root == tmp_path / "shared"
    assert from_setting("local:", "/srv/instance").root.as_posix() == "/srv/instance/evidence"
    with pytest.raises(ValueError, match="unknown storage 's3'"):
        from_setting("s3://bucket/prefix", "/srv/instance")
