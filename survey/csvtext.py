"""Reading CSV files given to imports: strictly UTF-8 (a byte-order mark allowed), size-capped.

Excel on Windows saves "CSV" in the local code page unless told "CSV UTF-8"; such a file must be
refused with the line of its first bad byte, not decoded into mojibake or a traceback.
"""

from pathlib import Path

MAX_BYTES = 50 * 1024 * 1024


class CsvFileError(ValueError):
    """A CSV file that cannot be read as text; the message is `line N: problem` or `file: problem`.

    `line` is the line of the first byte that is not UTF-8 (None for the file as a whole).
    """

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line


def decode(data: bytes) -> str:
    """Decode UTF-8 strictly, dropping a leading BOM; name the line and column of a bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        message = (f"line {line}: not UTF-8 (byte 0x{data[exc.start]:02x} at byte "
                   f"{exc.start - start + 1} of the line); save the file as “CSV UTF-8”")
        raise CsvFileError(message, line) from None


def read_csv_text(path: Path | str) -> str:
    """Return a CSV file's text, or raise CsvFileError with one line."""
    with Path(path).open("rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise CsvFileError(f"file: larger than {MAX_BYTES // (1024 * 1024)} MB")
    return decode(data)
