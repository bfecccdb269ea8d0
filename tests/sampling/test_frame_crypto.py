"""The frame key and encryption at rest: where the key comes from, what production refuses, legacy rows."""

import os
import stat
from datetime import date

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from survey import create_app, migrate
from survey.config import ConfigError
from survey.db import Database
from survey.sampling import crypto
from survey.sampling import service as waves
from survey.sampling.models import FrameEntry
from tests.conftest import TEST_SECRET
from tests.factories import make_stratum, make_wave

PRODUCTION = {"ENV": "production", "RATELIMIT_SINGLE_PROCESS": True, "RELEASE_BATCH": 5}


def test_key_is_generated_once_into_the_instance_folder_owner_only(app, configured):
    """Outside production the first use writes instance/frame_key (mode 600); another app reads the same."""
    path = crypto.key_path(app.instance_path)
    assert not path.exists()
    sealed = crypto.cipher(app).seal("Nguyễn Văn An", "full_name")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = configured()
    assert crypto.cipher(other).open(sealed, "full_name") == "Nguyễn Văn An"


def test_key_from_the_environment_and_a_malformed_one_refused(configured, app):
    """SURVEY_FRAME_KEY is used as given (no file written); a key that is not 32 bytes stops the app."""
    key = crypto.new_key()
    one, two = configured(FRAME_KEY=key), configured(FRAME_KEY=key)
    sealed = crypto.cipher(one).seal("0912345678", "phone")
    assert sealed.startswith("v1:") and "0912345678" not in sealed
    assert crypto.cipher(two).open(sealed, "phone") == "0912345678"
    assert not crypto.key_path(app.instance_path).exists()
    with pytest.raises(ConfigError, match="32 bytes"):
        configured(FRAME_KEY="c2hvcnQ")
    with pytest.raises(ConfigError, match="base64"):
        configured(FRAME_KEY="không phải khoá")


def test_production_refuses_a_missing_key_until_setup_creates_one(configured, app):
    """Production never makes a key itself; `flask setup` makes it (mode 600); a loose file is refused."""
    production = configured(**PRODUCTION)
    with pytest.raises(crypto.FrameKeyMissing, match="SURVEY_FRAME_KEY"):
        crypto.cipher(production)
    result = production.test_cli_runner().invoke(args=["setup", "--no-demo"])
    assert result.exit_code == 0, result.output
    assert "frame key: created" in result.output
    path = crypto.key_path(app.instance_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypto.cipher(production).open(crypto.cipher(production).seal("x", "email"), "email") == "x"
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        crypto.cipher(configured(**PRODUCTION))


def test_ciphertext_is_bound_to_its_column_and_key(app, configured):
    """A value copied into another column, or read with another key, does not decrypt."""
    sealed = crypto.cipher(app).seal("Trần Thị Bình", "full_name")
    with pytest.raises(InvalidTag):
        crypto.cipher(app).open(sealed, "position")
    with pytest.raises(InvalidTag):
        crypto.cipher(configured(FRAME_KEY=crypto.new_key())).open(sealed, "full_name")
    assert crypto.cipher(app).seal("Trần Thị Bình", "full_name") != sealed  # a fresh nonce each time


def test_add_person_encrypts_and_refuses_a_bad_or_repeated_phone(session):
    """The service the demo seeder uses stores ciphertext, E.164 phones, and no person twice."""
    wave = make_wave(session, status="draft")
    stratum = make_stratum(session, wave)
    person = waves.add_person(session, wave, stratum, "Lê Văn Cường", phone="0912 345 678", email="C@Mail.VN")
    assert person.phone.startswith("v1:") and person.full_name.startswith("v1:")
    assert waves.contact(person) == waves.Contact("Lê Văn Cường", "+84912345678", "C@mail.vn", None)
    with pytest.raises(waves.WaveError, match="phone is in the frame"):
        waves.add_person(session, wave, stratum, "Người khác", phone="+84 912 345 678")
    with pytest.raises(waves.WaveError, match="email is in the frame"):
        waves.add_person(session, wave, stratum, "Người khác", email="c@mail.vn")
    with pytest.raises(waves.WaveError, match="not a Vietnamese phone number"):
        waves.add_person(session, wave, stratum, "Người khác", phone="+1 415 555 2671")


def test_legacy_plaintext_is_read_and_frame_encrypt_encrypts_it(session, runner):
    """Rows written before 0005 hold plaintext: read as they are, then encrypted by `waves frame-encrypt`."""
    wave = make_wave(session, status="draft")
    stratum = make_stratum(session, wave)
    for name, phone in (("Phạm Văn Dũng", "0987654321"), ("Võ Thị Em", "0987654321"), ("Đặng Văn G", "12")):
        session.execute(text("INSERT INTO frame_entries (wave_id, stratum_id, full_name, phone, email) "
                             "VALUES (:w, :s, :n, :p, NULL)"),
                        {"w": wave.id, "s": stratum.id, "n": name, "p": phone})
    session.commit()
    first = session.scalars(select(FrameEntry).order_by(FrameEntry.id)).first()
    assert waves.contact(first).full_name == "Phạm Văn Dũng"
    result = runner.invoke(args=["waves", "frame-encrypt"])
    assert result.exit_code == 0, result.output
    assert "3 frame entries encrypted" in result.output
    session.expire_all()
    people = session.scalars(select(FrameEntry).order_by(FrameEntry.id)).all()
    assert all(p.full_name.startswith("v1:") and p.phone.startswith("v1:") for p in people)
    assert [waves.contact(p).phone for p in people] == ["0987654321", "0987654321", "12"]
    # the first gets the digest; the repeated number and the invalid one are kept without one
    assert [p.phone_digest is not None for p in people] == [True, False, False]
    assert "0 frame entries encrypted" in runner.invoke(args=["waves", "frame-encrypt"]).output


def test_migration_0005_keeps_existing_frame_rows_readable(empty_app):  # noqa: F811
    """A frame entry stored at 0004 is there after 0005, read as legacy plaintext, then encrypted."""
    migrate.upgrade(empty_app, "0004")
    engine = Database.engine(empty_app)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO waves (code, year, name, status, opens_on, closes_on) "
                                "VALUES ('W', 2026, 'Đợt', 'draft', :d, :d)"), {"d": date(2026, 9, 1)})
        connection.execute(text("INSERT INTO strata (wave_id, code, population_size, sample_size) "
                                "VALUES (1, 'S', 10, 1)"))
        connection.execute(text(
            "INSERT INTO frame_entries (wave_id, stratum_id, full_name, phone, email, position) "
            "VALUES (1, 1, 'Huỳnh Văn Hải', '0912000111', 'hai@example.vn', 'Chuyên viên')"))
    migrate.upgrade(empty_app)
    migrate.check(empty_app)
    with empty_app.app_context(), Session(engine) as session:
        cipher = crypto.cipher(empty_app)
        person = session.scalars(select(FrameEntry)).one()
        assert waves.contact(person, cipher).full_name == "Huỳnh Văn Hải"
        assert waves.encrypt_legacy(session, cipher) == 1
        session.commit()
        raw = session.execute(text("SELECT full_name, phone, email, position FROM frame_entries")).one()
        assert all(value.startswith("v1:") for value in raw)
        person = session.scalars(select(FrameEntry)).one()
        assert waves.contact(person, cipher) == waves.Contact("Huỳnh Văn Hải", "0912000111", "hai@example.vn",
                                                              "Chuyên viên")


def test_create_app_with_a_test_secret_still_starts(tmp_path, monkeypatch):
    """The frame key check does not get in the way of an app without any frame key setting."""
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"SECRET_KEY": TEST_SECRET, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert not crypto.key_path(app.instance_path).exists()  # made at first use, not at start
