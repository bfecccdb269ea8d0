"""Frame upload benchmark: check and write a 100,000-row sampling frame on SQLite.

Not a test: it prints the time. Run from the project root:

    python benchmarks/frame_upload.py [--rows 100000] [--units 100] [--xlsx]

Builds a draft wave over `--units` communes with a citizen group and a group of officials, writes a
CSV (or XLSX) of `--rows` people with unique phone numbers and e-mail addresses, then times what the
upload page does with it: read (strict UTF-8), check every row, encrypt the contact details and
write everything in one transaction (commit included). Budget (issue 10): under 30 s.
"""

import argparse
import csv
import io
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from survey import create_app  # noqa: E402
from survey.db import Database, db  # noqa: E402
from survey.models import Base  # noqa: E402
from survey.sampling import frame  # noqa: E402
from survey.sampling import service as waves  # noqa: E402
from survey.sampling.models import FrameEntry, RespondentGroup, Unit  # noqa: E402
from tests.factories import make_version  # noqa: E402

HEADER = ["unit_code", "group_code", "stratum_code", "cluster_code", "full_name", "phone", "email",
          "position", "workplace_code"]


def rows(count: int, units: int):
    """Yield people: in each block of ten, nine citizens in three villages and one official."""
    for n in range(count):
        unit = f"X{n // 10 % units:03d}"
        official = n % 10 == 9
        yield [unit, "cb" if official else "dan", "", "" if official else f"thon-{n % 3}",
               f"Nguyễn Văn Thử {n:06d}", f"091{n:07d}", f"nguoi{n:06d}@example.vn",
               "Công chức" if official else "", unit if official else ""]


def file_bytes(count: int, units: int, xlsx: bool) -> bytes:
    """The frame file, as a coordinator would upload it."""
    if xlsx:
        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(HEADER)
        for row in rows(count, units):
            sheet.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    writer.writerows(rows(count, units))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def draft_wave(session, units: int):
    """A draft wave over `units` communes (X000 ...) with citizens (dan) and officials (cb); committed."""
    wave = waves.create_wave(session, "BENCH", 2026, "Benchmark", date(2026, 9, 1), date(2026, 10, 31))
    session.add_all([Unit(code=f"X{n:03d}", name=f"Xã {n}", kind="commune", valid_from=date(2025, 7, 1))
                     for n in range(units)])
    session.add_all([RespondentGroup(code="dan", name="Người dân", kind="citizen"),
                     RespondentGroup(code="cb", name="Cán bộ", kind="official")])
    make_version(session)
    for code in ("dan", "cb"):
        waves.assign_group(session, wave, code, "small")
    session.commit()
    return wave


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--xlsx", action="store_true", help="upload an XLSX instead of a CSV")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["SURVEY_INSTANCE_PATH"] = folder
        app = create_app({"SECRET_KEY": "benchmark-secret-key-0123456789-abcdefghij",
                          "DATABASE_URL": f"sqlite:///{folder}/bench.db"})
        Base.metadata.create_all(Database.engine(app))
        with app.app_context():
            session = db.session
            wave = draft_wave(session, args.units)
            data = file_bytes(args.rows, args.units, args.xlsx)
            started, cpu = time.perf_counter(), time.process_time()
            written = frame.import_frame(session, wave, data, "xlsx" if args.xlsx else "csv")
            session.commit()
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            stored = session.scalar(select(func.count()).select_from(FrameEntry))
        Database.engine(app).dispose()
    kind = "XLSX" if args.xlsx else "CSV"
    print(f"{args.rows:,} rows ({kind}, {len(data) / 1e6:.1f} MB, {args.units} units): checked, encrypted "
          f"and written in {elapsed:.1f} s ({cpu:.1f} s of CPU; {written.added:,} added, {stored:,} stored; "
          f"budget 30 s)")


if __name__ == "__main__":
    main()
