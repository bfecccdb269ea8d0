"""With the limit storage (Redis) unreachable the site keeps answering: limits count in memory.

No mock: the storage URL points at a loopback port where nothing listens, as when Redis is stopped.
The load benchmark's bare route exists only when SURVEY_BENCH_ENDPOINT is set.
"""

import socket

import pytest
from sqlalchemy import func, select

from survey.db import Database
from survey.health import BENCH_WRITES
from tests.conftest import TEST_SECRET
from tests.factories import (
    STAFF_PASSWORD,
    csrf_token,
    make_group,
    make_invitation,
    make_staff,
    make_version,
    make_wave,
)


def closed_port() -> int:
    """Return a loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_down(configured):
    """An app of the test database whose limit storage is a Redis that is not running."""
    return configured(RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{closed_port()}/0")


def test_respondent_links_answer_and_guesses_are_still_limited(redis_down, session):
    """Valid links open; unknown tokens get 404, then 429 after 30, counted in the worker's memory."""
    wave, group, version = make_wave(session), make_group(session), make_version(session)
    tokens = [make_invitation(session, TEST_SECRET, wave=wave, group=group, version=version)[1]
              for _ in range(3)]
    session.commit()
    client = redis_down.test_client()
    assert [client.get(f"/r/{token}").status_code for token in tokens] == [200, 200, 200]
    guesses = [client.get(f"/r/{'q' * 20}{n:04d}").status_code for n in range(31)]
    assert guesses == [404] * 30 + [429]


def test_login_works_and_locks_without_redis(redis_down, session):
    """Staff log in while Redis is down, and five wrong passwords still lock the account."""
    user = make_staff(session, "analyst")
    session.commit()
    client = redis_down.test_client()

    def attempt(password: str, address: str):
        return client.post("/staff/login", environ_base={"REMOTE_ADDR": address}, data={
            "csrf_token": csrf_token(client), "email": user.email, "password": password})

    assert attempt(STAFF_PASSWORD, "10.0.0.1").status_code == 302
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    answers = [attempt(f"sai-{n}", "10.0.0.2").status_code for n in range(5)]
    assert answers == [200] * 5
    locked = attempt(STAFF_PASSWORD, "10.0.0.3")
    assert locked.status_code == 429 and "Đăng nhập sai quá nhiều lần" in locked.text


def test_bench_endpoint_only_when_set(app, configured):
    """GET /_bench/bare and /_bench/write answer only in an app configured with BENCH_ENDPOINT; the
    write route stores one row per call in a table of its own."""
    assert app.test_client().get("/_bench/bare").status_code == 404
    bench = configured(BENCH_ENDPOINT=True)
    answer = bench.test_client().get("/_bench/bare")
    assert answer.status_code == 200 and answer.text == "ok\n"
    assert answer.headers["Cache-Control"] == "no-store"
    assert app.test_client().get("/_bench/write").status_code == 404
    for _ in range(2):  # the first call makes the route's own table
        assert bench.test_client().get("/_bench/write").status_code == 200
    engine = Database.engine(bench)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(BENCH_WRITES)).scalar() == 2
    BENCH_WRITES.drop(engine)
