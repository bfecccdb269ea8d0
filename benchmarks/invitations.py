"""Invitations benchmark: issue, download the links again, print letters, e-mail through SMTP.

Not a test: it prints the times. Run from the project root:

    python benchmarks/invitations.py [--people 20000] [--units 100] [--send 1000]

Builds an open wave over `--units` communes and 10 agencies with a frame of `--people` selected people
(nine citizens in ten, one commune official who rates three agencies), then times: issuing every
invitation (one transaction), the links CSV of everyone (decrypting names and phone numbers, making
each token again), the letters page of one commune (one QR code per person), and e-mailing
`--send` invitations one by one to a local aiosmtpd server (console log off).
"""

import argparse
import os
import socket
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from survey import create_app  # noqa: E402
from survey.db import Database, db  # noqa: E402
from survey.models import Base  # noqa: E402
from survey.sampling import invitations  # noqa: E402
from survey.sampling import service as waves  # noqa: E402
from survey.sampling.models import FrameEntry, Invitation, RespondentGroup, Unit, WaveUnit  # noqa: E402
from tests.conftest import create_schema  # noqa: E402
from tests.factories import STAFF_PASSWORD, make_staff, make_version  # noqa: E402

KEY = "benchmark-secret-key-0123456789-abcdefghij"


class Sink:
    """An SMTP handler that counts and drops messages."""

    count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.count += 1
        return "250 OK"


def timed(label: str, work):
    """Run work, print how long it took, return its result."""
    started = time.perf_counter()
    result = work()
    print(f"{label}: {time.perf_counter() - started:.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--send", type=int, default=1_000)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    server = Controller(sink, hostname="127.0.0.1", port=port)
    server.start()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["SURVEY_INSTANCE_PATH"] = folder
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db"
        app = create_app({"SECRET_KEY": KEY, "DATABASE_URL": url, "MAIL_SERVER": "127.0.0.1",
                          "MAIL_PORT": port, "MAIL_USE_TLS": False, "PUBLIC_URL": "https://khaosat.example.vn",
                          "WTF_CSRF_ENABLED": False})
        engine = Database.engine(app)
        create_schema(app)
        with app.app_context():
            session = db.session
            today = date.today()
            wave = waves.create_wave(session, "BENCH", today.year, "Benchmark", today - timedelta(days=1),
                                     today + timedelta(days=30))
            communes = [Unit(code=f"X{n:03d}", name=f"Xã {n}", kind="commune", valid_from=date(2025, 7, 1))
                        for n in range(args.units)]
            agencies = [Unit(code=f"S{n:02d}", name=f"Sở {n}", kind="agency", valid_from=date(2025, 7, 1))
                        for n in range(10)]
            session.add_all(communes + agencies)
            groups = [RespondentGroup(code="dan", name="Người dân", kind="citizen"),
                      RespondentGroup(code="cb", name="Cán bộ", kind="official")]
            session.add_all(groups)
            session.flush()
            make_version(session)
            for group in groups:
                waves.assign_group(session, wave, group.code, "small")
            session.add_all([WaveUnit(wave_id=wave.id, unit_id=u.id) for u in communes + agencies])
            people = [waves.Person(f"{communes[n // 10 % args.units].code}:{'cb' if n % 10 == 9 else 'dan'}",
                                   communes[n // 10 % args.units].id, groups[1 if n % 10 == 9 else 0].id,
                                   f"Nguyễn Văn Thử {n:06d}", f"+84910{n:06d}", f"nguoi{n:06d}@example.vn")
                      for n in range(args.people)]
            waves.replace_frame(session, wave, people, census_groups={groups[1].id})
            session.execute(update(FrameEntry).values(selection_probability=1.0))
            wave.status = "open"
            make_staff(session, "coordinator")
            session.commit()

            def issue():
                result = invitations.issue(session, wave, KEY)
                session.commit()
                return result

            result = timed(f"issue {args.people:,} invitations", issue)
            assert result.created == args.people
            csv_text = timed("links CSV of everyone",
                             lambda: invitations.links_csv(invitations.people(session, wave, KEY),
                                                           "https://khaosat.example.vn"))
            assert csv_text.count("https://khaosat.example.vn/r/") == args.people
            client = app.test_client()
            client.post("/staff/login", data={"email": "coordinator@example.vn", "password": STAFF_PASSWORD})
            letters = timed("letters of one commune (page)",
                            lambda: client.get("/staff/waves/BENCH/invitations/letters?unit=X000"))
            assert letters.status_code == 200, letters.status_code
            print(f"  {letters.text.count('<svg')} letters, {len(letters.data) / 1e6:.1f} MB")
            keep = set(session.scalars(select(Invitation.id).order_by(Invitation.id).limit(args.send)))
            session.execute(update(Invitation).where(Invitation.id.not_in(keep)).values(sent_count=1))
            session.commit()

            def send():
                counts = invitations.send_invitations(session, wave)
                session.commit()
                return counts

            counts = timed(f"e-mail {args.send:,} invitations over SMTP", send)
            print(f"  sent {counts.sent:,}, received {sink.count:,}")
        Base.metadata.drop_all(engine)
        engine.dispose()
    server.stop()


if __name__ == "__main__":
    main()
