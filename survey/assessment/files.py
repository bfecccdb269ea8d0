"""Checks on an uploaded evidence file: its type from the content, its size, a harmless name.

Only PDF, DOCX, XLSX, JPEG and PNG are accepted, recognised by their bytes (`filetype`), never by
the name the browser sends: a renamed program is refused. A DOCX or XLSX must also be an Office
Open XML package: a zip whose `[Content_Types].xml` declares the main part of that kind and holds
it (`word/document.xml`, `xl/workbook.xml`). The original name is kept for display only, in NFC,
without folders, `..`, control or bidirectional characters; it never becomes a path.
"""

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype

MAX_BYTES = 20 * 1024 * 1024
MAX_NAME = 200
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ALLOWED = {"application/pdf": "pdf", DOCX: "docx", XLSX: "xlsx", "image/jpeg": "jpg", "image/png": "png"}
INLINE = {"application/pdf", "image/jpeg", "image/png"}  # shown in the browser; the others download
# The main part an Office package must declare and hold.
MAIN_PARTS = {
    DOCX: ("word/document.xml", "wordprocessingml.document.main+xml"),
    XLSX: ("xl/workbook.xml", "spreadsheetml.sheet.main+xml"),
}
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069<>:\"|?*]")


class UploadRefused(ValueError):
    """A file that cannot be evidence; `reason` names why (empty, too_large, type)."""

    def __init__(self, reason: str, **params):
        super().__init__(reason)
        self.reason, self.params = reason, params


@dataclass(frozen=True)
class Checked:
    """An accepted file: its detected media type and a display name."""

    media_type: str
    file_name: str


def _office_type(data: bytes) -> str | None:
    """The Office Open XML type a zip really is (its declared and present main part), or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            names = set(package.namelist())
            if "[Content_Types].xml" not in names:
                return None
            types = package.read("[Content_Types].xml").decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return None
    for media_type, (part, content_type) in MAIN_PARTS.items():
        if part in names and content_type in types and f"/{part}" in types:
            return media_type
    return None


def detect(data: bytes) -> str | None:
    """The accepted media type of the bytes, or None."""
    kind = filetype.guess(data[:8192])
    mime = kind.mime if kind else None
    if mime in (DOCX, XLSX, "application/zip"):
        return _office_type(data)
    return mime if mime in ALLOWED else None


def safe_name(name: str | None, extension: str) -> str:
    """A display name: NFC, no folders or leading dots, no control or bidi characters, the right extension."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE.sub("", text).strip().lstrip(".").strip()
    stem = text.rsplit(".", 1)[0] if "." in text else text
    stem = re.sub(r"\.{2,}", ".", stem).strip(" .")[:MAX_NAME] or "tai-lieu"
    return f"{stem}.{extension}"


def check(data: bytes, name: str | None) -> Checked:
    """Accept the bytes as evidence or raise UploadRefused."""
    if not data:
        raise UploadRefused("empty")
    if len(data) > MAX_BYTES:
        raise UploadRefused("too_large", size=len(data))
    media_type = detect(data)
    if media_type is None:
        raise UploadRefused("type")
    return Checked(media_type, safe_name(name, ALLOWED[media_type]))
