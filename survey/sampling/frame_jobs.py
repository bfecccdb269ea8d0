"""A large sampling-frame file, checked and written by a job with progress, instead of in the request.

The upload page checks what is quick (the wave is a draft, the file reads as strict UTF-8 or XLSX,
the header has the right columns) and shows those problems itself; a file larger than
``FRAME_JOB_BYTES`` then goes to a job, which checks every row and writes the frame in one
transaction, exactly as the page does for a small file. Its problems, by row number, are shown on
the job page. Until the job runs, the file waits in ``instance/uploads`` under a random name,
encrypted with the frame key (it holds names and phone numbers); the job deletes it first thing,
and an upload left behind (a job that never ran) is deleted after a day.
"""

import os
import re
import secrets
import time
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from survey.auth.models import record
from survey.db import db
from survey.jobs import JobRefused, enqueue, job, message
from survey.sampling import crypto, frame
from survey.sampling import service as waves

FRAME_JOB = "frame.import"
SHOWN_PROBLEMS = 1000  # problems kept for the job page; the count says how many there are
STALE_SECONDS = 24 * 3600
_NAME = re.compile(r"[0-9a-f]{32}")


def uploads_dir() -> Path:
    """Return the folder where uploads wait for their job."""
    return Path(current_app.instance_path) / "uploads"


def store_upload(data: bytes) -> str:
    """Write an uploaded file, encrypted, under a new random name (owner-only); return the name."""
    folder = uploads_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _remove_stale(folder)
    name = secrets.token_hex(16)
    fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(crypto.cipher().seal_bytes(data, name))
    return name


def take_upload(name: str) -> bytes:
    """Read, decrypt and delete a stored upload (deleted even when it cannot be read)."""
    if not _NAME.fullmatch(name or ""):
        raise ValueError("not an upload name")
    path = uploads_dir() / name
    try:
        return crypto.cipher().open_bytes(path.read_bytes(), name)
    finally:
        path.unlink(missing_ok=True)


def _remove_stale(folder: Path) -> None:
    """Delete uploads older than a day: their job never ran."""
    limit = time.time() - STALE_SECONDS
    for path in folder.iterdir():
        if _NAME.fullmatch(path.name) and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)


def start(wave, data: bytes, filename: str, kind: str, scope: set[int] | None, user):
    """Store the file and queue the job that checks and writes it; the caller commits."""
    name = store_upload(data)
    return enqueue(FRAME_JOB, {"wave": wave.code, "upload": name, "filename": filename, "format": kind,
                               "scope": sorted(scope) if scope is not None else None},
                   user, wave=wave)


@job(FRAME_JOB, label=_l("Tải lên danh sách mẫu"), back=lambda p: ("frame.upload", {"code": p["wave"]}))
def import_frame(params: dict, progress) -> dict:
    """Check every row of a stored frame file and write it whole, or refuse it with every problem."""
    data = take_upload(params["upload"])
    wave = waves.find_wave(db.session, params["wave"])
    scope = set(params["scope"]) if params.get("scope") is not None else None
    total = max(data.count(b"\n") - 1, 1) if params["format"] == "csv" else None
    progress(0, total, _l("Đang kiểm tra từng dòng"))
    try:
        written = frame.import_frame(db.session, wave, data, params["format"], scope=scope, progress=progress)
    except frame.FrameRefused as exc:
        raise JobRefused(_l("Chưa ghi gì: tệp có %(n)s lỗi", n=len(exc.problems)),
                         problems=[{"row": p.row, "message": message(p.message)}
                                   for p in exc.problems[:SHOWN_PROBLEMS]],
                         problem_count=len(exc.problems)) from None
    except IntegrityError:  # another upload of the same people committed meanwhile
        raise JobRefused(_l("Danh sách vừa được thay đổi bởi một lần tải lên khác. Xin tải lại tệp.")) \
            from None
    record(db.session, "frame.imported", target=f"wave:{wave.code}", user=progress.user,
           source=params["filename"], added=written.added, removed=written.removed, job=progress.job_id)
    progress(written.added, written.added)
    summary = _l("Đã ghi %(added)s người vào danh sách mẫu (thay %(removed)s người của các đơn vị và nhóm "
                 "trong tệp).", added=written.added, removed=written.removed)
    return {"summary": message(summary),
            "links": [{"endpoint": "frame.upload", "values": {"code": wave.code},
                       "label": message(_l("Xem danh sách mẫu"))}]}
