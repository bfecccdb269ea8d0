"""Per-account lock-out with back-off, shared through the limiter storage; constant-time login."""

import statistics
import time

import pytest
from limits.storage import MemoryStorage
from sqlalchemy import select

from survey.auth.lockout import Lockout
from survey.auth.models import AuditLog, User
from tests.conftest import two_workers_on
from tests.factories import STAFF_PASSWORD, csrf_token, make_staff

REDIS_URL = "redis://127.0.0.1:6379/6"
LOCKED = "Đăng nhập sai quá nhiều lần"


def attempt(client, email: str, password: str, address: str = "127.0.0.1"):
    """Post the login form from an address (each address has its own per-IP limit)."""
    return client.post("/staff/login", environ_base={"REMOTE_ADDR": address},
                       data={"csrf_token": csrf_token(client), "email": email, "password": password})


def test_account_locked_after_five_failures(app, session, client):
    """After five wrong passwords even the right one is refused for a while, and the lock is logged."""
    user = make_staff(session, "analyst")
    for n in range(5):
        answer = attempt(client, user.email, f"sai-mật-khẩu-{n}")
        assert answer.status_code == 200 and "không đúng" in answer.text
    locked = attempt(client, user.email, STAFF_PASSWORD)
    assert locked.status_code == 429 and LOCKED in locked.text and "1 phút" in locked.text
    assert client.get("/staff/").status_code == 302
    assert session.scalars(select(AuditLog).filter_by(action="auth.locked")).one().target == f"user:{user.id}"


def test_lock_ends_and_success_forgets_failures(app, session, client):
    """When the lock runs out the right password logs in, and the failure count starts again."""
    user = make_staff(session, "analyst")
    app.extensions["login_lockout"].seconds = 1
    for n in range(5):
        attempt(client, user.email, f"sai-mật-khẩu-{n}")
    assert attempt(client, user.email, STAFF_PASSWORD).status_code == 429
    time.sleep(1.5)
    assert attempt(client, user.email, STAFF_PASSWORD).status_code == 302
    assert app.extensions["login_lockout"].failed(user.email) == 0  # one failure again, no lock


def test_unknown_email_is_locked_alike(client):
    """An unknown e-mail gets the same answers, lock included: a lock does not reveal an account."""
    answers = [attempt(client, "khong-co@example.vn", f"sai-{n}-mật-khẩu") for n in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] and LOCKED in answers[-1].text


def test_back_off_doubles_up_to_the_cap():
    """Each failure after the threshold doubles the lock: 60, 120, 240 ... capped at 3600 seconds."""
    locks = Lockout(MemoryStorage(), "", threshold=5, seconds=60, max_seconds=3600)
    waits = [locks.failed("a@example.vn") for _ in range(12)]
    assert waits == [0, 0, 0, 0, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert 3590 <= locks.locked_for("a@example.vn") <= 3600
    assert locks.locked_for("b@example.vn") == 0
    locks.succeeded("a@example.vn")
    assert locks.locked_for("a@example.vn") == 0 and locks.failed("a@example.vn") == 0


def test_unknown_email_takes_as_long_as_a_known_one(app, session, client):
    """Login answers for unknown and known e-mails take comparable time (median ratio within 3x).

    Both verify an Argon2 hash; before, an unknown e-mail answered in a few milliseconds and a
    known one in over a hundred. Several known accounts keep each below the lock-out threshold.
    """
    emails = [make_staff(session, role).email for role in ("analyst", "coordinator", "assessor")]
    known, unknown = [], []
    for n in range(12):
        for email, times in ((emails[n % 3], known), (f"khong-co-{n}@example.vn", unknown)):
            token = csrf_token(client)
            started = time.perf_counter()
            answer = client.post("/staff/login", environ_base={"REMOTE_ADDR": f"10.0.{n}.{len(times)}"},
                                 data={"csrf_token": token, "email": email, "password": "sai-mật-khẩu-rồi"})
            times.append(time.perf_counter() - started)
            assert answer.status_code == 200
    ratio = statistics.median(known) / statistics.median(unknown)
    print(f"median login: known {statistics.median(known):.4f} s, unknown {statistics.median(unknown):.4f} s")
    assert 1 / 3 < ratio < 3, (statistics.median(known), statistics.median(unknown))



@pytest.fixture
def two_workers(tmp_path, monkeypatch):
    """Two app instances (as two gunicorn workers) sharing one Redis store (needs Redis on :6379, db 6)."""
    with two_workers_on(REDIS_URL, tmp_path, monkeypatch) as apps:
        yield apps


def test_lock_is_shared_across_workers(two_workers):
    """Failures counted by one worker lock the account on the other (Redis storage)."""
    first, second = two_workers
    with first.app_context():
        from survey.db import db

        user = make_staff(db.session, "analyst")
        email = user.email
    with first.test_client() as one:
        for n in range(5):
            assert attempt(one, email, f"sai-mật-khẩu-{n}", f"10.1.0.{n}").status_code == 200
    with second.test_client() as two:
        answer = attempt(two, email, STAFF_PASSWORD, "10.2.0.1")
        assert answer.status_code == 429 and LOCKED in answer.text
    with second.app_context():
        from survey.db import db

        assert db.session.scalar(select(User).filter_by(email=email)) is not None
