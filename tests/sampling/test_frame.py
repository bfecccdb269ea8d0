"""The sampling frame: upload through the page and the CLI, every row checked, all or nothing, encrypted."""

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, inspect, select, text

from survey.auth.models import AuditLog, UserUnit
from survey.db import Database
from survey.jobs.models import JobRecord
from survey.sampling import frame
from survey.sampling import service as waves
from survey.sampling.models import FrameEntry, Invitation, RespondentGroup, Stratum, Unit
from tests.conftest import TEST_SECRET, on_postgresql
from tests.factories import (
    STAFF_PASSWORD,
    csrf_token,
    log_in,
    make_group,
    make_staff,
    make_unit,
    make_version,
)

HEADER = "unit_code,group_code,stratum_code,cluster_code,full_name,phone,email,position,workplace_code"


@pytest.fixture
def draft(session):
    """A draft wave over ten communes with a citizen group and a group of officials (census)."""
    wave = waves.create_wave(session, "KS-2026", 2026, "Khảo sát 2026", date(2026, 9, 1), date(2026, 10, 31))
    units = [make_unit(session, code=f"X{n:02d}", name=f"Xã Số {n}") for n in range(10)]
    make_version(session)
    citizens = make_group(session, code="dan", kind="citizen")
    officials = make_group(session, code="cb", kind="official")
    for group in (citizens, officials):
        waves.assign_group(session, wave, group.code, "small")
    waves.add_units(session, wave, units)
    session.commit()
    return wave


def person(n: int) -> tuple[str, str, str]:
    """The name, phone and e-mail address of person n (unique, findable in raw bytes)."""
    return f"Nguyễn Thị Thử{n:04d}", f"091{n:07d}", f"nguoi.thu{n:04d}@example.vn"


def good_rows(count: int = 1000, units: int = 10) -> list[str]:
    """Rows in blocks of ten people (nine citizens in clusters, one official) dealt over `units` communes."""
    rows = []
    for n in range(count):
        name, phone, email = person(n)
        unit = f"X{n // 10 % units:02d}"
        if n % 10 == 9:
            rows.append(f"{unit},cb,,,{name},{phone},{email},Chủ tịch UBND,{unit}")
        else:
            rows.append(f"{unit},dan,,thon-{n % 3},{name},{phone},{email},,")
    return rows


def csv_bytes(rows: list[str], header: str = HEADER) -> bytes:
    """A CSV file (UTF-8 with a byte-order mark, as Excel saves "CSV UTF-8")."""
    return ("\ufeff" + "\n".join([header, *rows]) + "\n").encode("utf-8")


def ten_bad(rows: list[str]) -> tuple[list[str], dict[int, str]]:
    """Spoil ten rows of a good file in ten ways; return the rows and a word of each row's report."""
    rows = list(rows)
    name, phone, email = person(0)
    spoil = {  # row index in the list -> (new row, a word the report must contain)
        10: ("Z99,dan,,,Lê Văn A,0912000001,,,", "Z99"),  # unknown unit
        20: ("X00,khong_co,,,Lê Văn B,0912000002,,,", "khong_co"),  # group not in the wave
        30: ("X00,dan,,,Lê Văn C,12345,,,", "12345"),  # not a Vietnamese phone number
        40: ("X00,dan,,,Lê Văn D,,khong-phai-email,,", "khong-phai-email"),  # bad e-mail syntax
        50: (f"X00,dan,,,Lê Văn E,{phone},,,", "+84910000000"),  # same phone as the first row
        60: (f"X00,dan,,,Lê Văn F,,{email.upper()},,", "NGUOI.THU0000@example.vn"),  # as row 2's, in capitals
        70: ("X00,dan,,,,0912000007,,,", "full_name"),  # empty name
        80: ("X01,dan,X00:dan,,Lê Văn H,0912000008,,,", "X00:dan"),  # stratum of another unit
        90: ("X00,cb,,,Lê Văn I,0912000009,,,Z98", "Z98"),  # unknown workplace
        100: ("X00,dan,,,Lê Văn K,0912000010,+841234,,", "+841234"),  # bad e-mail again, another way
    }
    expected = {}
    for index, (row, word) in spoil.items():
        rows[index] = row
        expected[index + 2] = word  # the header is row 1
    return rows, expected


def upload(client, wave, data: bytes, filename: str = "danh-sach.csv"):
    """Post a frame file from the page's form."""
    page = f"/staff/waves/{wave.code}/frame"
    return client.post(page, data={"csrf_token": csrf_token(client, page),
                                   "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def counts(session) -> tuple[int, int]:
    """Count frame entries and strata."""
    session.expire_all()
    return (session.scalar(select(func.count()).select_from(FrameEntry)),
            session.scalar(select(func.count()).select_from(Stratum)))


def test_good_frame_over_ten_units_is_written(client, session, draft):
    """A 1,000-row frame over 10 communes is written: strata per commune and group, contacts readable."""
    log_in(client, session, "coordinator")
    answer = upload(client, draft, csv_bytes(good_rows()))
    assert answer.status_code == 302
    assert "Đã ghi 1000 người" in client.get(answer.headers["Location"]).text
    assert counts(session) == (1000, 20)
    strata = {s.code: s for s in session.scalars(select(Stratum))}
    assert (strata["X03:dan"].population_size, strata["X03:dan"].sample_size) == (90, 0)  # the draw sets it
    assert (strata["X03:cb"].population_size, strata["X03:cb"].sample_size) == (10, 10)  # census
    people = {waves.contact(p).full_name: (waves.contact(p), p) for p in session.scalars(select(FrameEntry))}
    found, entry = people[person(19)[0]]  # the official of the second block: commune X01
    assert (found.phone, found.email, found.position) == ("+84910000019", person(19)[2], "Chủ tịch UBND")
    assert entry.workplace_unit_id == strata["X01:cb"].unit_id
    assert people[person(4)[0]][1].cluster_code == "thon-1"


def test_database_holds_no_plaintext_contact_details(client, session, draft, app):
    """After an upload no column of any table, nor the SQLite file, holds a name, phone or address."""
    log_in(client, session, "coordinator")
    assert upload(client, draft, csv_bytes(good_rows(200))).status_code == 302
    needles = set()
    for n in range(200):
        name, phone, email = person(n)
        needles |= {name, phone, phone[1:], email, f"+84{phone[1:]}"}
    engine = Database.engine(app)
    found = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                found += [(table, v) for v in row if isinstance(v, str) and any(x in v for x in needles)]
    assert found == []
    assert session.scalar(select(func.count()).where(FrameEntry.full_name.like("v1:%"))) == 200
    if not on_postgresql():
        session.close()
        files = [Path(engine.url.database), Path(engine.url.database + "-wal")]
        raw = b"".join(f.read_bytes() for f in files if f.exists())
        assert not [x for x in needles if x.encode("utf-8") in raw]


def test_malformed_frames_write_nothing_and_report_every_row_on_the_page(client, session, draft):
    """Bad encoding, a missing column, 10 bad rows among 1,000: each refused with row numbers, nothing written
    (an earlier frame stays as it was)."""
    log_in(client, session, "coordinator")
    assert upload(client, draft, csv_bytes(good_rows(50, units=5))).status_code == 302
    before = counts(session)
    assert before == (50, 10)

    latin = ("\n".join([HEADER, *good_rows(3)[:3], "X00,dan,,,Trần Văn Đức,0912000099,,,"]) + "\n")
    answer = upload(client, draft, latin.encode("cp1258", errors="replace"))
    assert answer.status_code == 422
    assert "Dòng 5: Tệp không phải mã UTF-8" in answer.text

    answer = upload(client, draft, csv_bytes(good_rows(1000), header=HEADER.replace(",phone", "")))
    assert answer.status_code == 422
    assert "Dòng 1: Thiếu cột: phone" in answer.text

    rows, expected = ten_bad(good_rows(1000))
    answer = upload(client, draft, csv_bytes(rows))
    assert answer.status_code == 422
    assert "tệp có 10 lỗi" in answer.text
    reported = [line for line in answer.text.splitlines() if line.strip().startswith("<li>Dòng ")]
    assert len(reported) == 10
    for row, word in expected.items():
        line = next(line for line in reported if line.strip().startswith(f"<li>Dòng {row}:"))
        assert word in line, (row, line)
    assert counts(session) == before


def test_malformed_frames_write_nothing_and_report_every_row_in_the_cli(runner, session, draft, tmp_path):
    """The same files through `flask waves frame-import`: non-zero exit, every row named, nothing written."""
    bad_encoding = tmp_path / "latin.csv"
    row = "X00,dan,,,Trần Văn Đức,0912000099,,,"
    bad_encoding.write_bytes(f"{HEADER}\n{row}\n".encode("cp1258", "replace"))
    missing = tmp_path / "missing.csv"
    missing.write_bytes(csv_bytes(good_rows(1000), header=HEADER.replace(",email", "")))
    rows, expected = ten_bad(good_rows(1000))
    bad_rows = tmp_path / "bad.csv"
    bad_rows.write_bytes(csv_bytes(rows))

    result = runner.invoke(args=["waves", "frame-import", draft.code, str(bad_encoding)])
    assert result.exit_code == 1
    assert "row 2: The file is not UTF-8" in result.output
    result = runner.invoke(args=["waves", "frame-import", draft.code, str(missing)])
    assert "row 1: Missing column(s): email" in result.output
    result = runner.invoke(args=["waves", "frame-import", draft.code, str(bad_rows)])
    assert result.exit_code == 1
    assert "10 problem(s); nothing imported" in result.output
    lines = [line for line in result.output.splitlines() if ": row " in line]
    assert [int(line.split(": row ")[1].split(":")[0]) for line in lines] == sorted(expected)
    for line, (row, word) in zip(lines, sorted(expected.items()), strict=True):
        assert word in line, (row, line)
    assert counts(session) == (0, 0)

    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(good_rows(1000)))
    result = runner.invoke(args=["waves", "frame-import", draft.code, str(good)])
    assert result.exit_code == 0, result.output
    assert "1000 people written" in result.output
    assert counts(session) == (1000, 20)


def test_xlsx_frame_keeps_phone_numbers_typed_as_numbers(client, session, draft):
    """An XLSX whose phone column Excel turned into numbers (leading zero lost) is read correctly."""
    book = Workbook()
    sheet = book.active
    sheet.append([*HEADER.split(","), None, None])  # formatted empty cells after the header
    sheet.append(["X00", "dan", None, None, "Phạm Văn Số", 912345678, "so@example.vn", None, None])
    sheet.append(["X00", "cb", None, None, "Võ Thị Chữ", "0243 826 1234", None, "Phó Chủ tịch", "X00"])
    buffer = io.BytesIO()
    book.save(buffer)
    log_in(client, session, "coordinator")
    assert upload(client, draft, buffer.getvalue(), "danh-sach.xlsx").status_code == 302
    phones = sorted(waves.contact(p).phone for p in session.scalars(select(FrameEntry)))
    assert phones == ["+842438261234", "+84912345678"]


def test_uploads_replace_their_units_and_groups_and_refuse_people_already_elsewhere(client, session, draft):
    """A second file replaces the lists of its (unit, group) pairs only; a phone of another is refused."""
    log_in(client, session, "coordinator")
    assert upload(client, draft, csv_bytes(good_rows(100, units=2))).status_code == 302
    assert counts(session) == (100, 4)
    again = [r for r in good_rows(100, units=2) if r.startswith("X00,dan")][:5]
    assert upload(client, draft, csv_bytes(again)).status_code == 302
    assert counts(session) == (60, 4)  # X00 citizens: 45 → 5; the others kept
    assert session.scalar(select(Stratum.population_size).filter_by(code="X00:dan")) == 5
    name, phone, _ = person(15)  # an X01 citizen
    answer = upload(client, draft, csv_bytes([f"X02,dan,,,{name},{phone},,,"]))
    assert answer.status_code == 422
    assert "Dòng 2: Số điện thoại đã có trong danh sách mẫu của đợt" in answer.text
    assert counts(session) == (60, 4)


def test_scoped_coordinator_touches_only_their_units(app, session, draft):
    """A coordinator scoped to X00 may not upload rows of X01 and sees only X00's strata."""
    client = app.test_client()
    user = make_staff(session, "coordinator", all_units=False)
    session.add(UserUnit(user_id=user.id, unit_id=session.scalar(select(Unit.id).filter_by(code="X00"))))
    session.commit()
    client.post("/staff/login", data={"csrf_token": csrf_token(client), "email": user.email,
                                      "password": STAFF_PASSWORD})
    answer = upload(client, draft, csv_bytes(good_rows(20, units=2)))
    assert answer.status_code == 422
    assert "Dòng 12: Đơn vị X01 nằm ngoài phạm vi được giao cho bạn." in answer.text
    assert counts(session) == (0, 0)
    mine = [r for r in good_rows(20, units=2) if r.startswith("X00")]
    assert upload(client, draft, csv_bytes(mine)).status_code == 302
    other = session.scalar(select(Unit).filter_by(code="X01"))
    waves.add_stratum(session, draft, "X01:dan", 5, 0, unit=other,
                      group=session.scalar(select(RespondentGroup).filter_by(code="dan")))
    session.commit()
    page = client.get(f"/staff/waves/{draft.code}/frame").text
    assert "X00:dan" in page and "X01" not in page


def test_frame_of_an_open_wave_or_with_invitations_cannot_be_replaced(client, session, draft, app):
    """Once invitations exist, or the wave is open, an upload is refused and nothing changes."""
    log_in(client, session, "coordinator")
    assert upload(client, draft, csv_bytes(good_rows(10, units=1))).status_code == 302
    entry = session.scalars(select(FrameEntry)).first()
    stratum = session.get(Stratum, entry.stratum_id)
    waves.invite(session, draft, session.get(RespondentGroup, stratum.group_id), entry,
                 [session.get(Unit, stratum.unit_id)], TEST_SECRET)
    session.commit()
    answer = upload(client, draft, csv_bytes(good_rows(10, units=1)))
    assert answer.status_code == 422
    assert "thư mời" in answer.text
    waves.set_status(session, draft, "open")
    session.commit()
    answer = upload(client, draft, csv_bytes(good_rows(10, units=1)))
    assert answer.status_code == 422
    assert "không còn ở trạng thái nháp" in answer.text
    assert counts(session) == (10, 2)
    assert session.scalar(select(func.count()).select_from(Invitation)) == 1


@pytest.mark.parametrize("role", ["analyst", "data_entry", "assessor", "approver"])
def test_only_coordinators_reach_the_upload_page(client, session, draft, role):
    """An analyst (or any other non-coordinator) gets 403 on the page and on an upload; nothing is written."""
    log_in(client, session, role)
    page = f"/staff/waves/{draft.code}/frame"
    assert client.get(page).status_code == 403
    answer = client.post(page, data={"file": (io.BytesIO(csv_bytes(good_rows(10))), "a.csv")},
                         content_type="multipart/form-data")
    assert answer.status_code in (400, 403)
    assert counts(session) == (0, 0)


def test_check_reports_header_problems_together(session, draft):
    """Unknown and repeated columns are named with the missing ones, all on row 1."""
    with pytest.raises(frame.FrameRefused) as refused:
        frame.check(session, draft, iter([["unit_code", "group_code", "full_name", "phone", "phone", "sdt"]]))
    assert [p.row for p in refused.value.problems] == [1, 1, 1]
    assert "email" in str(refused.value.problems[0]) and "sdt" in str(refused.value.problems[1])


def test_large_frame_is_checked_and_written_by_a_job(app, client, session, draft):
    """A file over FRAME_JOB_BYTES goes to a job: the page shows its progress, then what was written;
    the file waited encrypted in the instance folder and is gone afterwards."""
    app.config["FRAME_JOB_BYTES"] = 1000
    log_in(client, session, "coordinator")
    answer = upload(client, draft, csv_bytes(good_rows()))
    assert answer.status_code == 302 and "/staff/jobs/" in answer.headers["Location"]
    page = client.get(answer.headers["Location"]).text  # tests run the job right after the commit
    assert "Hoàn thành" in page and "Đã ghi 1000 người vào danh sách mẫu" in page
    assert f'href="/staff/waves/{draft.code}/frame"' in page and '<progress max="1000" value="1000">' in page
    assert counts(session) == (1000, 20)
    job = session.scalars(select(JobRecord)).one()
    assert (job.kind, job.status, job.wave_id) == ("frame.import", "done", draft.id)
    audit = session.scalars(select(AuditLog).filter_by(action="frame.imported")).one()
    assert audit.details["added"] == 1000 and audit.details["job"] == job.id
    assert list((Path(app.instance_path) / "uploads").iterdir()) == []


def test_large_frame_with_problems_lists_them_on_the_job_page_or_the_upload_page(app, client, session, draft):
    """Row problems are found by the job and listed by row on its page; a wrong header or encoding is
    said on the upload page at once, with no job. Nothing is written either way."""
    app.config["FRAME_JOB_BYTES"] = 1000
    log_in(client, session, "coordinator")
    rows, expected = ten_bad(good_rows(1000))
    answer = upload(client, draft, csv_bytes(rows))
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).text
    assert "Không thành công" in page and "tệp có 10 lỗi" in page
    reported = [line for line in page.splitlines() if line.strip().startswith("<li>Dòng ")]
    assert len(reported) == 10
    for row, word in expected.items():
        line = next(line for line in reported if line.strip().startswith(f"<li>Dòng {row}:"))
        assert word in line, (row, line)
    english = client.get(answer.headers["Location"] + "?lang=en").text
    assert "There is no unit with code Z99 (column unit_code)." in english  # in the reader's language
    client.get("/staff/?lang=vi")
    answer = upload(client, draft, csv_bytes(good_rows(1000), header=HEADER.replace(",phone", "")))
    assert answer.status_code == 422 and "Dòng 1: Thiếu cột: phone" in answer.text
    assert counts(session) == (0, 0)
    assert session.scalar(select(func.count()).select_from(JobRecord)) == 1
    assert list((Path(app.instance_path) / "uploads").iterdir()) == []
