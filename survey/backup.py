"""Encrypted backups of the database, the evidence files and the keys needed to read them.

An archive is one file:

    MAGIC | header length (4 bytes) | header (JSON) | nonce prefix (8 bytes) | chunks

The header (format version, dialect, created time, Alembic revision) is readable without the key and
authenticated as associated data of every chunk. The payload is a tar stream cut into 1 MiB chunks,
each sealed with AES-256-GCM under `SURVEY_BACKUP_KEY` (nonce = prefix + chunk number; the associated
data also carries the chunk number and whether it is the last), so a changed, reordered, truncated or
extended file, or the wrong key, fails the tag check. Nothing is ever written unencrypted except
temporary files in a private temporary folder, removed at the end.

The tar stream holds `manifest.json` (the header again, every table's row count, the frame key's
fingerprint), the database (`database.sqlite`, made with SQLite's online backup API, or
`database.pgdump`, `pg_dump --format=custom`), `instance/secret_key` and `instance/frame_key` when
they are files (the secret key hashes invitation tokens, the frame key decrypts contact details: a
restore without them leaves links dead and contacts unreadable), and `evidence/...`, the local
evidence store.

Restore decrypts and unpacks the whole archive into a temporary folder first, so a bad tag refuses
the file before anything is changed; it refuses a revision the code does not know (newer than its
head) and another dialect; unless forced, a database that already has tables and a SURVEY_FRAME_KEY
whose fingerprint differs from the archive's. Instance key files that differ are replaced, the old
ones kept as `*.before-restore`; restart the app servers afterwards (they hold the keys in memory).
"""

import hashlib
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask
from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import make_url

from survey import migrate
from survey.assessment.storage import LocalStorage, storage_for
from survey.config import ConfigError
from survey.db import Database
from survey.sampling import crypto

MAGIC = b"PAR-SURVEY-BACKUP\n"
FORMAT = 1
CHUNK = 1024 * 1024
INSTANCE_FILES = ("secret_key", "frame_key")
_LENGTH = struct.Struct(">I")


class BackupError(RuntimeError):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class RestoreResult:
    """What a restore did: the archive's header, tables whose counts differ, what was written."""

    header: dict
    mismatched: dict = field(default_factory=dict)
    instance_files: list = field(default_factory=list)
    evidence_files: int = 0
    kept: list = field(default_factory=list)  # instance files moved aside (*.before-restore)


def load_backup_key(config) -> bytes:
    """Return SURVEY_BACKUP_KEY as 32 bytes (standard or URL-safe base64), or raise BackupError."""
    text = config.get("BACKUP_KEY")
    if text in (None, ""):
        raise BackupError("set SURVEY_BACKUP_KEY (base64 of 32 random bytes; `flask --app survey backup "
                          "--generate-key` prints one): backups are never written unencrypted")
    try:
        return crypto.parse_key(str(text).replace("+", "-").replace("/", "_"), "SURVEY_BACKUP_KEY")
    except ConfigError as exc:
        raise BackupError(str(exc)) from None


def key_fingerprint(key: bytes) -> str:
    """Return a short digest naming a key without revealing it."""
    return hashlib.sha256(b"par-survey key fingerprint\x00" + key).hexdigest()[:16]


# ---------------------------------------------------------------- the encrypted container


class _SealingWriter(io.RawIOBase):
    """A write-only stream that seals what it is given in chunks and writes them to `out`."""

    def __init__(self, out, key: bytes, aad: bytes):
        self._out, self._aead, self._aad = out, AESGCM(key), aad
        self._prefix = os.urandom(8)
        self._buffer = bytearray()
        self._index = 0
        out.write(self._prefix)

    def writable(self) -> bool:
        """This stream is written to."""
        return True

    def write(self, data) -> int:
        """Buffer data, sealing every full chunk (one is always held back to be marked last)."""
        self._buffer += data
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def finish(self) -> None:
        """Seal what remains as the last chunk (possibly empty)."""
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _seal(self, plain: bytes, last: bool) -> None:
        """Write one chunk: its length, then its ciphertext and tag."""
        nonce = self._prefix + struct.pack(">I", self._index)
        sealed = self._aead.encrypt(nonce, plain, _chunk_aad(self._aad, self._index, last))
        self._out.write(_LENGTH.pack(len(sealed)) + sealed)
        self._index += 1


class _OpeningReader(io.RawIOBase):
    """A read-only stream of the plaintext of a sealed archive; a bad tag raises BackupError."""

    def __init__(self, source, key: bytes, aad: bytes):
        self._in, self._aead, self._aad = source, AESGCM(key), aad
        self._prefix = source.read(8)
        self._plain = b""
        self._index = 0
        self._pending = self._read_chunk()
        self._done = False

    def readable(self) -> bool:
        """This stream is read from."""
        return True

    def _read_chunk(self) -> bytes | None:
        """Return the next sealed chunk, or None at the end of the file."""
        head = self._in.read(_LENGTH.size)
        if not head:
            return None
        if len(head) < _LENGTH.size:
            raise _refused()
        sealed = self._in.read(_LENGTH.unpack(head)[0])
        if len(sealed) < _LENGTH.unpack(head)[0]:
            raise _refused()
        return sealed

    def _next(self) -> bool:
        """Decrypt the pending chunk into the buffer; False once the last chunk has been read."""
        if self._done:
            return False
        if self._pending is None:
            raise _refused()  # no chunk at all, or the file ends before a chunk marked last
        following = self._read_chunk()
        last = following is None
        nonce = self._prefix + struct.pack(">I", self._index)
        try:
            self._plain += self._aead.decrypt(nonce, self._pending, _chunk_aad(self._aad, self._index, last))
        except InvalidTag:
            raise _refused() from None
        self._index += 1
        self._pending, self._done = following, last
        return True

    def read(self, size: int = -1) -> bytes:
        """Return up to size bytes of plaintext."""
        while (size < 0 or len(self._plain) < size) and self._next():
            pass
        if size < 0:
            size = len(self._plain)
        data, self._plain = self._plain[:size], self._plain[size:]
        return data

    def readinto(self, buffer) -> int:
        """Fill the buffer with plaintext."""
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _chunk_aad(header_aad: bytes, index: int, last: bool) -> bytes:
    """The associated data of one chunk: the header, the chunk's number and whether it is the last."""
    return header_aad + struct.pack(">I?", index, last)


def _refused() -> BackupError:
    """The one message for a wrong key and a changed or cut file (they cannot be told apart)."""
    return BackupError("the archive cannot be decrypted: wrong SURVEY_BACKUP_KEY, or the file was "
                       "changed or truncated; nothing was restored")


def read_header(handle) -> tuple[dict, bytes]:
    """Read the header at the start of an archive; return it and the bytes authenticated with it."""
    magic = handle.read(len(MAGIC))
    if magic != MAGIC:
        raise BackupError("not a survey backup archive (unknown file format)")
    raw_length = handle.read(_LENGTH.size)
    length = _LENGTH.unpack(raw_length)[0] if len(raw_length) == _LENGTH.size else 0
    raw = handle.read(length)
    try:
        header = json.loads(raw)
    except ValueError:
        raise BackupError("the archive's header is damaged") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError(f"archive format {header.get('format') if isinstance(header, dict) else '?'} "
                          f"is not supported by this version (expects {FORMAT})")
    return header, MAGIC + raw_length + raw


# ---------------------------------------------------------------- backup


def backup(app: Flask, out: Path) -> dict:
    """Write an encrypted archive of the app's database, instance keys and evidence to `out`.

    Returns the manifest. The archive is written next to `out` and renamed into place at the end,
    so an interrupted backup never leaves a partial file under the final name.
    """
    key = load_backup_key(app.config)
    engine = Database.engine(app)
    dialect = engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {dialect}")
    header = {"format": FORMAT, "dialect": dialect,
              "created": datetime.now(UTC).isoformat(timespec="seconds"),
              "revision": migrate.current(app)}
    manifest = dict(header, tables=table_counts(app), frame_key=_frame_key_info(app))
    evidence = _evidence_root(app)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".backup-", dir=out.parent) as work:
        dump = Path(work) / ("database.sqlite" if dialect == "sqlite" else "database.pgdump")
        if dialect == "sqlite":
            _sqlite_dump(engine, dump)
        else:
            manifest["pg_dump"] = _pg_dump(app, dump)
        partial = out.with_name(out.name + ".partial")
        raw_header = json.dumps(header, sort_keys=True).encode("utf-8")
        aad = MAGIC + _LENGTH.pack(len(raw_header)) + raw_header
        with open(partial, "wb") as handle:
            handle.write(aad)
            writer = _SealingWriter(handle, key, aad)
            with tarfile.open(fileobj=writer, mode="w|") as archive:
                _add_bytes(archive, "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
                archive.add(dump, arcname=dump.name)
                for name in INSTANCE_FILES:
                    path = Path(app.instance_path) / name
                    if path.is_file():
                        archive.add(path, arcname=f"instance/{name}")
                if evidence is not None and evidence.is_dir():
                    for path in sorted(evidence.rglob("*")):
                        if path.is_file() and not path.name.startswith(".upload-"):
                            archive.add(path, arcname=f"evidence/{path.relative_to(evidence).as_posix()}")
            writer.finish()
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(partial, 0o600)
        os.replace(partial, out)
    return manifest


def table_counts(app: Flask) -> dict[str, int]:
    """Return the number of rows of every table in the database."""
    engine = Database.engine(app)
    with engine.connect() as connection:
        names = inspect(connection).get_table_names()
        return {name: connection.scalar(select(func.count()).select_from(table(name)))
                for name in sorted(names)}


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add in-memory bytes to a tar stream as a file."""
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    archive.addfile(info, io.BytesIO(data))


def _frame_key_info(app: Flask) -> dict:
    """Say where the frame key comes from and its fingerprint (None when there is none yet)."""
    if app.config.get("FRAME_KEY") not in (None, ""):
        key = crypto.parse_key(app.config["FRAME_KEY"])
        return {"source": "environment", "fingerprint": key_fingerprint(key)}
    path = crypto.key_path(app.instance_path)
    if path.is_file():
        key = crypto.parse_key(path.read_text("ascii"))
        return {"source": "instance", "fingerprint": key_fingerprint(key)}
    return {"source": None, "fingerprint": None}


def _evidence_root(app: Flask) -> Path | None:
    """Return the local evidence folder; other stores are backed up by their own means."""
    storage = storage_for(app)
    if not isinstance(storage, LocalStorage):
        raise BackupError("backups include local evidence storage only: back the evidence store up "
                          "with its own tools")
    return storage.root


def _sqlite_dump(engine, target: Path) -> None:
    """Copy the live SQLite database with the online backup API (consistent while others write)."""
    raw = engine.raw_connection()
    try:
        destination = sqlite3.connect(target)
        try:
            raw.driver_connection.backup(destination)
        finally:
            destination.close()
    finally:
        raw.close()


def _pg_tool(name: str) -> str:
    """Return the path of a PostgreSQL client program on PATH, or say how to get it."""
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not on PATH: install the PostgreSQL client programs of the "
                          "server's major version (e.g. apt install postgresql-client-16)")
    return found


def _pg_major(program: str) -> int:
    """Return the major version of a PostgreSQL client program (`pg_dump (PostgreSQL) 15.2` -> 15)."""
    text = subprocess.run([program, "--version"], capture_output=True, text=True, check=True).stdout
    return int(text.split()[-1].split(".")[0])


def _pg_env(app: Flask) -> tuple[str, dict]:
    """Return a libpq connection URL without the password, and an environment carrying it."""
    url = make_url(app.config["DATABASE_URL"]).set(drivername="postgresql")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(password=None).render_as_string(hide_password=False), env


def _run(command: list[str], env: dict, what: str) -> None:
    """Run a client program; a failure raises BackupError with its own message."""
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")


def _pg_dump(app: Flask, target: Path) -> int:
    """Dump the PostgreSQL database with pg_dump --format=custom; return pg_dump's major version."""
    program = _pg_tool("pg_dump")
    major = _pg_major(program)
    with Database.engine(app).connect() as connection:
        server = int(connection.exec_driver_sql("SHOW server_version_num").scalar()) // 10000
    if major < server:
        raise BackupError(f"pg_dump {major} cannot dump a PostgreSQL {server} server: install the "
                          f"client programs of version {server} or newer and put them first on PATH")
    url, env = _pg_env(app)
    _run([program, "--format=custom", "--no-owner", "--no-privileges", f"--file={target}", f"--dbname={url}"],
         env, "pg_dump")
    return major


# ---------------------------------------------------------------- restore


def restore(app: Flask, source: Path, force: bool = False) -> RestoreResult:
    """Restore an archive into the app's database, instance folder and evidence store.

    Everything is checked before anything is written: the tag of every chunk, the format, the
    dialect, the revision, that the database has no tables and that the instance keys match (the
    last two unless `force`).
    """
    key = load_backup_key(app.config)
    engine = Database.engine(app)
    private = tempfile.TemporaryDirectory(prefix=".restore-", dir=app.instance_path)
    with open(source, "rb") as handle, private as work:
        header, aad = read_header(handle)
        if header.get("dialect") != engine.dialect.name:
            raise BackupError(f"the archive holds a {header.get('dialect')} database; this app uses "
                              f"{engine.dialect.name}")
        _check_revision(header.get("revision"))
        root = Path(work)
        with tarfile.open(fileobj=_OpeningReader(handle, key, aad), mode="r|") as archive:
            archive.extractall(root, filter="data")
        manifest = json.loads((root / "manifest.json").read_text("utf-8"))
        if {k: manifest.get(k) for k in header} != header:
            raise _refused()
        result = RestoreResult(header=header)
        _check_evidence(root)
        _check_target(app, manifest, force)
        _restore_database(app, root, force)
        result.instance_files, result.kept = _restore_instance(app, root)
        result.evidence_files = _restore_evidence(app, root)
        engine.dispose()
        app.extensions.pop("frame_cipher", None)  # crypto.cipher loads the restored key anew
        found = table_counts(app)
        result.mismatched = {name: (count, found.get(name)) for name, count in manifest["tables"].items()
                             if found.get(name) != count}
        return result


def _check_revision(revision: str | None) -> None:
    """Refuse an archive whose schema revision this code does not know (a newer version made it)."""
    if revision is None:
        return
    try:
        known = ScriptDirectory(str(migrate.MIGRATIONS)).get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(f"the archive's schema revision {revision} is newer than this code's "
                          f"({', '.join(sorted(migrate.heads()))}): restore it with the version that made it")


def _check_target(app: Flask, manifest: dict, force: bool) -> None:
    """Refuse a database with tables, or a SURVEY_FRAME_KEY other than the archive's, unless forced.

    Instance key files that differ are replaced (the old ones kept aside): in an empty database they
    protect nothing yet, and `create_app` generates a secret key into a new instance folder.
    """
    if force:
        return
    with Database.engine(app).connect() as connection:
        tables = inspect(connection).get_table_names()
    if tables:
        raise BackupError(f"the database is not empty ({len(tables)} tables): restore into an empty "
                          "database, or pass --force to replace its contents")
    wanted = (manifest.get("frame_key") or {}).get("fingerprint")
    if wanted and app.config.get("FRAME_KEY") not in (None, ""):
        found = key_fingerprint(crypto.parse_key(app.config["FRAME_KEY"]))
        if found != wanted:
            raise BackupError(f"SURVEY_FRAME_KEY here (fingerprint {found}) is not the key the archive's "
                              f"contact details were encrypted with ({wanted}): they would be unreadable. "
                              "Set the right key, or pass --force")


def _restore_database(app: Flask, root: Path, force: bool) -> None:
    """Load the archive's database into the app's."""
    engine = Database.engine(app)
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(root / "database.sqlite")
        raw = engine.raw_connection()
        try:
            source.backup(raw.driver_connection)  # replaces the whole database, page by page
        finally:
            raw.close()
            source.close()
        return
    program = _pg_tool("pg_restore")
    url, env = _pg_env(app)
    command = [program, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
               f"--dbname={url}"]
    if force:
        command += ["--clean", "--if-exists"]
    _run(command + [str(root / "database.pgdump")], env,
         f"pg_restore {_pg_major(program)} (an archive from a newer pg_dump needs a newer pg_restore)")


def _restore_instance(app: Flask, root: Path) -> tuple[list[str], list[str]]:
    """Write the archive's instance keys (mode 600), moving differing ones aside."""
    written, kept = [], []
    for name in INSTANCE_FILES:
        theirs = root / "instance" / name
        if not theirs.is_file():
            continue
        ours = Path(app.instance_path) / name
        data = theirs.read_bytes()
        if ours.is_file():
            if ours.read_bytes().strip() == data.strip():
                continue
            os.replace(ours, ours.with_name(name + ".before-restore"))
            kept.append(name)
        ours.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(ours, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        written.append(name)
    return written, kept


def _evidence_files(root: Path) -> list[Path]:
    """Return the unpacked evidence files."""
    return sorted(path for path in (root / "evidence").rglob("*") if path.is_file())


def _check_evidence(root: Path) -> None:
    """Refuse evidence whose name is not the SHA-256 of its bytes (the store is content-addressed)."""
    for path in _evidence_files(root):
        with path.open("rb") as handle:
            if hashlib.file_digest(handle, "sha256").hexdigest() != path.name:
                raise BackupError(f"evidence file {path.name} does not match its content; "
                                  "nothing was restored")


def _restore_evidence(app: Flask, root: Path) -> int:
    """Put every evidence file back into the app's store; return how many."""
    files = _evidence_files(root)
    storage = storage_for(app)
    for path in files:
        storage.put(path.read_bytes())
    return len(files)

