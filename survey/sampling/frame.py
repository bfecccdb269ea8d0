"""Reading and checking a sampling-frame file (CSV or XLSX) before anything is written.

One row per person, with a header row. Columns (in any order): `unit_code`, `group_code`,
`full_name`, `phone`, `email` (required columns), `stratum_code`, `cluster_code`, `position`,
`workplace_code` (optional). Every row is checked and every problem reported with its row number
(the header is row 1, as a spreadsheet shows it); only a file without problems is written, by
`service.replace_frame`, in the caller's transaction.

A row's stratum is `stratum_code`, or `<unit_code>:<group_code>` when that is empty. The upload
replaces the frame of each (unit, group) pair in the file and keeps the others, so that communes'
lists can arrive one by one. Messages are Vietnamese msgids rendered in the reader's language.
"""

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey.csvtext import MAX_BYTES, CsvFileError, decode
from survey.definitions.text import clean
from survey.sampling import crypto
from survey.sampling import service as waves
from survey.sampling.contact import email_key, normalise_email, normalise_phone
from survey.sampling.models import FrameEntry, Invitation, RespondentGroup, Stratum, Unit, Wave, WaveGroup

REQUIRED_COLUMNS = ("unit_code", "group_code", "full_name", "phone", "email")
COLUMNS = ("unit_code", "group_code", "stratum_code", "cluster_code", "full_name", "phone", "email",
           "position", "workplace_code")
REQUIRED_VALUES = ("unit_code", "group_code", "full_name")
LIMITS = {"full_name": 255, "position": 255, "stratum_code": 64, "cluster_code": 64}
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Problem:
    """One problem of a frame file: its row (None: the file as a whole) and a translatable message."""

    row: int | None
    message: object  # a lazy string: rendered in the language of whoever reads it

    def __str__(self) -> str:
        return str(self.message)


class FrameRefused(ValueError):
    """A frame file with problems; nothing was written."""

    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass
class CheckedFrame:
    """The people of a file that passed every check, ready for service.replace_frame."""

    people: list[waves.Person] = field(default_factory=list)
    census_groups: set[int] = field(default_factory=set)


def file_format(filename: str) -> str | None:
    """Return "csv" or "xlsx" from a file name, or None."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return suffix if suffix in FORMATS else None


def read_table(data: bytes, kind: str) -> Iterator[list[str]]:
    """Yield the rows of a CSV (strict UTF-8) or of the first sheet of an XLSX, as lists of text.

    Raises FrameRefused when the file cannot be read at all.
    """
    if len(data) > MAX_BYTES:
        raise FrameRefused([Problem(None, _l("Tệp lớn hơn %(mb)s MB.", mb=MAX_BYTES // (1024 * 1024)))])
    if kind == "csv":
        try:
            text = decode(data)
        except CsvFileError as exc:
            message = _l("Tệp không phải mã UTF-8. Trong Excel, hãy lưu bằng “CSV UTF-8 (Comma delimited)”.")
            raise FrameRefused([Problem(exc.line, message)]) from None
        return iter(csv.reader(io.StringIO(text)))
    return _xlsx_rows(data)


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    """Yield the first sheet's rows as text (numbers without a trailing .0: phone numbers lose no zero)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise FrameRefused([Problem(None, _l("Không đọc được tệp XLSX (tệp hỏng hoặc không phải Excel)."))]) \
            from None

    def text(value) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def rows() -> Iterator[list[str]]:
        try:
            for values in book.worksheets[0].iter_rows(values_only=True):
                yield [text(v) for v in values]
        finally:
            book.close()

    return rows()


def check(session: Session, wave: Wave, rows: Iterable[list[str]],
          scope: set[int] | None = None, cipher: crypto.FrameCipher | None = None) -> CheckedFrame:
    """Check every row of a frame file for a wave; return the people, or raise FrameRefused.

    `scope` is the set of unit ids the uploading user may touch (None: every unit).
    """
    cipher = cipher or crypto.cipher()
    rows = iter(rows)
    columns = _columns(wave, rows)
    checker = _Checker(session, wave, scope, cipher)
    index = {name: columns.index(name) for name in COLUMNS if name in columns}
    width = len(columns)
    for number, values in enumerate(rows, start=2):
        if not any(v.strip() for v in values):
            continue  # an empty line (spreadsheets leave them at the end)
        values = (values + [""] * width)[:width] if len(values) < width else values
        if len(values) > width and any(v.strip() for v in values[width:]):
            checker.problem(number, _l("Dòng có nhiều ô hơn tiêu đề."))
        checker.row(number, {name: clean(values[i]).strip() for name, i in index.items()})
    return checker.result()


def _columns(wave: Wave, rows: Iterator[list[str]]) -> list[str]:
    """Take the header row and return its column names; raise FrameRefused if the wave or header is wrong."""
    if wave.status != "draft":
        raise FrameRefused([Problem(None, _l(
            "Đợt khảo sát %(code)s không còn ở trạng thái nháp: không thể thay danh sách mẫu.",
            code=wave.code))])
    header = next(rows, None)
    if header is None:
        raise FrameRefused([Problem(None, _l("Tệp trống."))])
    columns = [unicodedata.normalize("NFC", h or "").strip().lower() for h in header]
    while columns and not columns[-1]:
        columns.pop()  # spreadsheets report formatted but empty cells after the last column
    problems = _header_problems(columns)
    if problems:
        raise FrameRefused(problems)
    return columns


def check_file(wave: Wave, data: bytes, kind: str) -> None:
    """The quick checks of a file, before a job checks its rows: the wave takes a frame, the file can be
    read (strict UTF-8, a real XLSX), the header has the right columns. Raises FrameRefused."""
    _columns(wave, iter(read_table(data, kind)))


def _header_problems(columns: list[str]) -> list[Problem]:
    """Check the header row: every required column once, nothing unknown."""
    problems = []
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        problems.append(Problem(1, _l("Thiếu cột: %(columns)s. Các cột cần có: %(expected)s.",
                                      columns=", ".join(missing), expected=", ".join(COLUMNS))))
    unknown = [c for c in columns if c and c not in COLUMNS]
    if unknown:
        problems.append(Problem(1, _l("Cột không xác định: %(columns)s. Các cột nhận được: %(expected)s.",
                                      columns=", ".join(unknown), expected=", ".join(COLUMNS))))
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        problems.append(Problem(1, _l("Cột lặp lại: %(columns)s.", columns=", ".join(repeated))))
    if "" in columns:
        problems.append(Problem(1, _l("Có cột không có tên ở dòng tiêu đề.")))
    return problems


class _Checker:
    """Checks rows one by one against the wave, the reference data and the rows before them."""

    def __init__(self, session: Session, wave: Wave, scope: set[int] | None, cipher: crypto.FrameCipher):
        self.session, self.wave, self.scope, self.cipher = session, wave, scope, cipher
        self.units = {u.code: u for u in session.scalars(select(Unit))}
        self.valid = {code for code, u in self.units.items() if u.valid_on(wave.opens_on)}
        self.unit_ids = {code: u.id for code, u in self.units.items()}
        self.groups = {g.code: g for g in session.scalars(
            select(RespondentGroup).join(WaveGroup, WaveGroup.group_id == RespondentGroup.id)
            .where(WaveGroup.wave_id == wave.id))}
        self.strata = {s.code: s for s in session.scalars(select(Stratum).filter_by(wave_id=wave.id))}
        self.problems: list[Problem] = []
        self.people: list[waves.Person] = []
        self.stratum_rows: dict[str, tuple[int, int, int]] = {}  # code -> (row, unit id, group id)
        self.seen: dict[str, int] = {}  # digest -> first row
        self.rows_of: list[tuple[int, str, str]] = []  # row, digest, "phone" or "email"
        self.census: set[int] = set()  # groups of officials: everyone in the frame is asked

    def problem(self, row: int, message) -> None:
        self.problems.append(Problem(row, message))

    def row(self, number: int, row: dict[str, str]) -> None:
        """Check one row; keep the person when it has no problem."""
        before = len(self.problems)
        for name in REQUIRED_VALUES:
            if not row.get(name):
                self.problem(number, _l("Cột %(column)s không được để trống.", column=name))
        for name, limit in LIMITS.items():
            if len(row.get(name, "")) > limit:
                self.problem(number, _l("Cột %(column)s dài quá %(limit)s ký tự.", column=name, limit=limit))
        unit = self._unit(number, row.get("unit_code", ""), "unit_code")
        workplace = self._unit(number, row.get("workplace_code", ""), "workplace_code")
        group = None
        if row.get("group_code"):
            group = self.groups.get(row["group_code"])
            if group is None:
                self.problem(number, _l("Nhóm đối tượng %(code)s không có trong đợt khảo sát này.",
                                        code=row["group_code"]))
        stratum_code = row.get("stratum_code") or f"{row.get('unit_code')}:{row.get('group_code')}"
        if unit is not None and group is not None:
            self._stratum(number, stratum_code, unit, group)
        phone, phone_digest = self._phone(number, row.get("phone", ""))
        email, email_digest = self._email(number, row.get("email", ""))
        if len(self.problems) == before:
            self.people.append(waves.Person(
                stratum_code=stratum_code, unit_id=unit.id, group_id=group.id, full_name=row["full_name"],
                phone=phone, email=email, position=row.get("position") or None,
                cluster_code=row.get("cluster_code") or None,
                workplace_unit_id=workplace.id if workplace else None,
                phone_digest=phone_digest, email_digest=email_digest))
            if group.kind == "official":
                self.census.add(group.id)

    def _unit(self, number: int, code: str, column: str) -> Unit | None:
        """Resolve a unit code: it must exist, be valid when the wave opens and be in the user's scope."""
        if not code:
            return None
        unit = self.units.get(code)
        if unit is None:
            self.problem(number, _l("Không có đơn vị mã %(code)s (cột %(column)s).",
                                    code=code, column=column))
        elif code not in self.valid:
            self.problem(number, _l("Đơn vị %(code)s không còn hiệu lực vào ngày %(day)s (cột %(column)s).",
                                    code=code, day=self.wave.opens_on.strftime("%d/%m/%Y"), column=column))
        elif column == "unit_code" and self.scope is not None and self.unit_ids[code] not in self.scope:
            self.problem(number, _l("Đơn vị %(code)s nằm ngoài phạm vi được giao cho bạn.", code=code))
        else:
            return unit
        return None

    def _stratum(self, number: int, code: str, unit: Unit, group: RespondentGroup) -> None:
        """A stratum code belongs to one unit and group, in the file and in the wave."""
        known = self.strata.get(code)
        if known is not None and (known.unit_id, known.group_id) != (unit.id, group.id):
            self.problem(number, _l("Tầng %(code)s của đợt khảo sát thuộc đơn vị hoặc nhóm khác.", code=code))
            return
        first = self.stratum_rows.setdefault(code, (number, unit.id, group.id))
        if first[1:] != (unit.id, group.id):
            self.problem(number, _l("Tầng %(code)s đã gắn với đơn vị hoặc nhóm khác ở dòng %(row)s.",
                                    code=code, row=first[0]))

    def _phone(self, number: int, raw: str) -> tuple[str | None, str | None]:
        """Return the phone number in E.164 and its digest (None, None when empty or wrong)."""
        if not raw:
            return None, None
        phone = normalise_phone(raw)
        if phone is None:
            self.problem(number, _l("Số điện thoại %(value)s không đúng dạng số Việt Nam.", value=raw))
            return None, None
        return phone, self._once(number, phone, "phone")

    def _email(self, number: int, raw: str) -> tuple[str | None, str | None]:
        """Return the e-mail address (domain in lower case) and its digest."""
        if not raw:
            return None, None
        email = normalise_email(raw)
        if email is None:
            self.problem(number, _l("Địa chỉ thư điện tử %(value)s không đúng cú pháp.", value=raw))
            return None, None
        return email, self._once(number, email, "email")

    def _once(self, number: int, value: str, kind: str) -> str:
        """Note a phone number or address and return its digest; a repeat within the file is a problem."""
        digest = self.cipher.digest(value if kind == "phone" else email_key(value))
        first = self.seen.setdefault(digest, number)
        if first != number:
            message = (_l("Số điện thoại %(value)s trùng với dòng %(row)s.", value=value, row=first)
                       if kind == "phone" else
                       _l("Địa chỉ thư điện tử %(value)s trùng với dòng %(row)s.", value=value, row=first))
            self.problem(number, message)
        else:
            self.rows_of.append((number, digest, kind))
        return digest

    def result(self) -> CheckedFrame:
        """Check against the people kept from other units and groups, then return or refuse."""
        pairs = {(p.unit_id, p.group_id) for p in self.people}
        pairs |= {(s[1], s[2]) for s in self.stratum_rows.values()}
        kept = (select(FrameEntry.phone_digest, FrameEntry.email_digest)
                .where(FrameEntry.wave_id == self.wave.id))
        if pairs:
            kept = kept.where(FrameEntry.id.not_in(waves.frame_entries_in(self.session, self.wave, pairs)))
        elsewhere = {d for row in self.session.execute(kept) for d in row if d}
        if pairs:
            invited = self.session.scalar(select(func.count()).select_from(Invitation).where(
                Invitation.frame_entry_id.in_(waves.frame_entries_in(self.session, self.wave, pairs))))
            if invited:
                self.problems.append(Problem(None, _l(
                    "Đã có %(n)s thư mời gửi cho người trong danh sách cũ của các đơn vị và nhóm này: "
                    "không thể thay danh sách.", n=invited)))
        for number, digest, kind in self.rows_of:
            if digest in elsewhere:
                self.problem(number, _l("Số điện thoại đã có trong danh sách mẫu của đợt "
                                        "(đơn vị hoặc nhóm khác).") if kind == "phone" else
                             _l("Địa chỉ thư điện tử đã có trong danh sách mẫu của đợt "
                                "(đơn vị hoặc nhóm khác)."))
        if not self.people and not self.problems:
            self.problems.append(Problem(None, _l("Tệp không có dòng dữ liệu nào.")))
        if self.problems:
            self.problems.sort(key=lambda p: (p.row or 0))
            raise FrameRefused(self.problems)
        return CheckedFrame(self.people, self.census)


def import_frame(session: Session, wave: Wave, data: bytes, kind: str, scope: set[int] | None = None,
                 cipher: crypto.FrameCipher | None = None, progress=None) -> waves.FrameWritten:
    """Read, check and write a frame file in the caller's transaction; raise FrameRefused, writing nothing.

    `progress`, when given, is called as ``progress(rows read)`` every few hundred rows, then with a
    message before the write (the ``progress(done, total, message)`` of survey/jobs).
    """
    cipher = cipher or crypto.cipher()
    rows = read_table(data, kind)
    if progress is not None:
        rows = _counted(rows, progress)
    checked = check(session, wave, rows, scope, cipher)
    if progress is not None:
        progress(None, None, _l("Đang mã hóa và ghi danh sách vào cơ sở dữ liệu"))
    try:
        return waves.replace_frame(session, wave, checked.people, checked.census_groups, cipher)
    except waves.WaveError as exc:
        raise FrameRefused([Problem(None, str(exc))]) from None


def _counted(rows: Iterable[list[str]], progress, every: int = 500) -> Iterator[list[str]]:
    """Yield the rows, reporting how many were read every `every` rows (the header not counted)."""
    count = -1
    for count, row in enumerate(rows):
        if count and count % every == 0:
            progress(count)
        yield row
    progress(max(count, 0))
