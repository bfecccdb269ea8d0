"""Encryption at rest of the sampling frame's contact details, and the key that does it.

Names, phone numbers, e-mail addresses and positions are stored as ``v1:`` followed by the
URL-safe base64 of a 12-byte random nonce and the AES-256-GCM ciphertext with its tag; the column
name is the associated data, so a value copied into another column does not decrypt. A value
without the prefix is legacy plaintext (rows written before migration 0005): ``open`` returns it as
it is, and ``flask waves frame-encrypt`` encrypts it in place.

Duplicate people are found without decrypting: each entry also stores a keyed digest (HMAC-SHA-256
under a key derived from the frame key) of its normalised phone number and e-mail address, unique
within a wave.

The key (32 random bytes, URL-safe base64) comes from ``SURVEY_FRAME_KEY``; without it, from
``instance/frame_key`` (mode 600), which ``flask setup`` creates, and outside production the first
use too. Production never generates one on the fly: losing the key loses the frame's contact
details, so it is made on purpose and backed up.
"""

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, current_app

from survey.config import ConfigError

PREFIX = "v1:"
KEY_FILE = "frame_key"
_EXTENSION = "frame_cipher"


class FrameKeyMissing(ConfigError):
    """No frame key is configured where one is needed (production without one)."""


class FrameCipher:
    """Encrypts and decrypts contact details, and digests them for duplicate checks."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ConfigError("the frame key must be 32 bytes (URL-safe base64 of 32 random bytes)")
        self._aead = AESGCM(key)
        self._digest_key = hmac.new(key, b"par-survey frame digest v1", hashlib.sha256).digest()

    def seal(self, value: str | None, column: str) -> str | None:
        """Encrypt a value for a column (None and '' stay None)."""
        if not value:
            return None
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), column.encode("ascii"))
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, value: str | None, column: str) -> str | None:
        """Decrypt a stored value; legacy plaintext (without the prefix) comes back as it is."""
        if value is None or not value.startswith(PREFIX):
            return value
        raw = base64.urlsafe_b64decode(value[len(PREFIX):])
        return self._aead.decrypt(raw[:12], raw[12:], column.encode("ascii")).decode("utf-8")

    def seal_bytes(self, data: bytes, label: str) -> bytes:
        """Encrypt a file's bytes (an uploaded frame waiting for its job) bound to a label (its name)."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, data, label.encode("ascii"))

    def open_bytes(self, sealed: bytes, label: str) -> bytes:
        """Decrypt what ``seal_bytes`` returned for the same label."""
        return self._aead.decrypt(sealed[:12], sealed[12:], label.encode("ascii"))

    def digest(self, value: str | None) -> str | None:
        """Return the keyed digest of a normalised phone number or e-mail address (None stays None)."""
        if not value:
            return None
        return hmac.digest(self._digest_key, value.encode("utf-8"), "sha256").hex()


def is_sealed(value: str | None) -> bool:
    """Tell whether a stored value is ciphertext (not legacy plaintext)."""
    return value is None or value.startswith(PREFIX)


def parse_key(text, name: str = "SURVEY_FRAME_KEY") -> bytes:
    """Decode a key (the setting `name`) given as URL-safe base64 of 32 bytes, or raise ConfigError."""
    if not isinstance(text, str):
        raise ConfigError(f"{name} must be text: URL-safe base64 of 32 random bytes")
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii") + b"=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ConfigError(f"{name} is not URL-safe base64") from None
    if len(key) != 32:
        raise ConfigError(f"{name} must decode to 32 bytes, not {len(key)}; make one with "
                          "python -c 'import base64, os; "
                          "print(base64.urlsafe_b64encode(os.urandom(32)).decode())'")
    return key


def new_key() -> str:
    """Return a fresh key as text."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def key_path(instance_path: str) -> Path:
    """Return where the generated key lives."""
    return Path(instance_path) / KEY_FILE


def check_config(config: dict) -> None:
    """Refuse a malformed SURVEY_FRAME_KEY when the app starts (a missing one is refused at use)."""
    if config.get("FRAME_KEY") not in (None, ""):
        parse_key(config["FRAME_KEY"])


def ensure_key_file(instance_path: str) -> bool:
    """Create instance/frame_key (mode 600) unless it exists; return whether it was created."""
    path = key_path(instance_path)
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(new_key() + "\n")
    return True


def load_key(config: dict, instance_path: str) -> bytes:
    """Return the frame key: the setting, else the instance file, generated outside production."""
    if config.get("FRAME_KEY") not in (None, ""):
        return parse_key(config["FRAME_KEY"])
    path = key_path(instance_path)
    if not path.exists():
        if config.get("ENV") == "production":
            raise FrameKeyMissing("production needs SURVEY_FRAME_KEY or instance/frame_key: run "
                                  "`flask --app survey setup` once to create it, and back it up (without "
                                  "it the frame's contact details cannot be read)")
        ensure_key_file(instance_path)
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path} must be readable by its owner only (chmod 600)")
    return parse_key(path.read_text(encoding="ascii"))


def cipher(app: Flask | None = None) -> FrameCipher:
    """Return the app's frame cipher (the current app by default), loading the key once."""
    app = app or current_app._get_current_object()
    found = app.extensions.get(_EXTENSION)
    if found is None:
        found = app.extensions[_EXTENSION] = FrameCipher(load_key(app.config, app.instance_path))
    return found
