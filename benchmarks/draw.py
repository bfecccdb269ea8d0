"""Draw benchmark: draw and store the sample of a 100,000-person frame on SQLite or PostgreSQL.

Not a test: it prints the times. Run from the project root:

    python benchmarks/draw.py [--rows 100000] [--units 100] [--database-url URL]

Writes the frame of benchmarks/frame_upload.py (in each commune nine citizens of ten in three villages,
one official of ten), then times a preview and a kept draw (commit included) by simple random sampling
with sizes from a 5% margin of error, and a kept two-stage draw (2 villages by PPS, 100 people each).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from benchmarks.frame_upload import draft_wave, file_bytes  # noqa: E402
from survey import create_app  # noqa: E402
from survey.db import Database, db  # noqa: E402
from survey.models import Base  # noqa: E402
from survey.sampling import draw, frame  # noqa: E402
from survey.sampling.models import FrameEntry  # noqa: E402


def timed(step):
    """Run a step; return its result and wall-clock seconds."""
    started = time.perf_counter()
    result = step()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--database-url", default=None, help="an empty database (default: SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["SURVEY_INSTANCE_PATH"] = folder
        app = create_app({"SECRET_KEY": "benchmark-secret-key-0123456789-abcdefghij",
                          "DATABASE_URL": args.database_url or f"sqlite:///{folder}/bench.db"})
        Base.metadata.create_all(Database.engine(app))
        with app.app_context():
            session = db.session
            wave = draft_wave(session, args.units)
            frame.import_frame(session, wave, file_bytes(args.rows, args.units, False), "csv")
            session.commit()
            srs = draw.DrawParameters(margin=0.05)
            planned, preview = timed(lambda: draw.preview(session, wave, srs, 1))
            session.rollback()

            def keep(params):
                kept, _ = draw.draw(session, wave, params, 1)
                session.commit()
                return kept

            kept, kept_srs = timed(lambda: keep(srs))
            pps, kept_pps = timed(lambda: keep(draw.DrawParameters(clusters=2, per_cluster=100)))
            stored = session.scalar(select(func.count()).select_from(FrameEntry)
                                    .where(FrameEntry.selection_probability.is_not(None)))
        Database.engine(app).dispose()
    engine = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{args.rows:,} people in {len(planned.strata)} strata ({engine}): preview {preview:.2f} s "
          f"({planned.selected:,} selected); kept SRS draw {kept_srs:.2f} s ({kept.selected:,}); kept PPS "
          f"draw {kept_pps:.2f} s ({pps.selected:,} selected, {pps.clusters} villages; {stored:,} stored)")


if __name__ == "__main__":
    main()
