"""Where evidence files live: a small interface, and a local-folder implementation.

`EvidenceStorage` is what the rest of the code uses: `put(bytes) -> key`, `open(key)`, `exists(key)`,
`delete(key)`. Keys are the SHA-256 of the content (hex), so the same file is stored once and a key
can never point at changed bytes. The implementation is chosen by `SURVEY_EVIDENCE_STORAGE`:

- `local:/path` (default `local:<instance folder>/evidence`): files under `/path/ab/cd/<sha256>`,
  outside the web root; nothing serves that folder except the evidence view, which checks access.

Several app servers need a shared store. An S3-compatible one (MinIO, a provider's object storage)
fits the same interface: add `S3Storage(bucket, prefix)` whose `put` does
`put_object(Bucket, Key=prefix + key, Body=data, ChecksumSHA256=...)` (idempotent: same key, same
bytes), `open` returns the `get_object` body, `exists` a `head_object`, `delete` a `delete_object`;
parse `s3://bucket/prefix` in `storage_for` and take the endpoint and credentials from the
environment the client library reads (never from the config file). boto3 is not a dependency yet.
"""

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, current_app

KEY = re.compile(r"^[0-9a-f]{64}$")


class EvidenceStorage(Protocol):
    """Content-addressed storage of evidence files."""

    def put(self, data: bytes) -> str:
        """Store the bytes and return their key (the SHA-256, hex); storing twice is harmless."""

    def open(self, key: str) -> BinaryIO:
        """Open the stored bytes for reading; KeyError when absent."""

    def exists(self, key: str) -> bool:
        """Tell whether the key is stored."""

    def delete(self, key: str) -> None:
        """Remove the stored bytes (nothing happens when absent)."""


class LocalStorage:
    """Files in a local folder, one per SHA-256, written atomically."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        """The file of a key; refuses anything but 64 hex digits (no path tricks)."""
        if not KEY.match(key):
            raise KeyError(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        """Store the bytes under their SHA-256 (a temporary file renamed into place)."""
        key = hashlib.sha256(data).hexdigest()
        path = self._path(key)
        if path.exists():
            return key
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def open(self, key: str) -> BinaryIO:
        """Open the stored file."""
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        return path.open("rb")

    def exists(self, key: str) -> bool:
        """Tell whether the file is there."""
        try:
            return self._path(key).is_file()
        except KeyError:
            return False

    def delete(self, key: str) -> None:
        """Remove the file."""
        self._path(key).unlink(missing_ok=True)


def from_setting(setting: str, instance_path: str) -> EvidenceStorage:
    """Build the storage a `SURVEY_EVIDENCE_STORAGE` value names."""
    scheme, _, rest = setting.partition(":")
    if scheme == "local":
        return LocalStorage(rest or os.path.join(instance_path, "evidence"))
    raise ValueError(f"EVIDENCE_STORAGE: unknown storage {scheme!r} (expected local:/path)")


def storage_for(app: Flask | None = None) -> EvidenceStorage:
    """The app's evidence storage, built once from its configuration."""
    app = app or current_app
    if "survey.evidence" not in app.extensions:
        setting = app.config.get("EVIDENCE_STORAGE") or "local:"
        app.extensions["survey.evidence"] = from_setting(str(setting), app.instance_path)
    return app.extensions["survey.evidence"]
