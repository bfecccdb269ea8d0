"""Rate limits are shared between workers when Redis storage is configured (needs Redis on :6379)."""

import os
import uuid

import pytest

from survey.db import db
from tests.conftest import TEST_SECRET, two_workers_on
from tests.factories import make_group, make_invitation, make_version, make_wave

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def fresh_address() -> dict:
    """A client address no other test or run used: counts in Redis outlive a test for a minute.

    (Flask-Limiter keeps the key prefix of the first app it was bound to, so the prefix alone does
    not keep tests apart.)
    """
    a, b, c = uuid.uuid4().bytes[:3]
    return {"REMOTE_ADDR": f"10.{a}.{b}.{c}"}



@pytest.fixture
def two_workers(tmp_path, monkeypatch):
    """Two app instances (as two gunicorn workers) sharing one Redis limit store."""
    with two_workers_on(REDIS_URL, tmp_path, monkeypatch) as apps:
        yield apps


def test_token_guesses_are_limited_across_workers(two_workers):
    """Guesses spread over two workers still hit one limit of 30 a minute."""
    first, second = (app.test_client() for app in two_workers)
    client = fresh_address()
    codes = [first.get(f"/r/{'y' * 20}{n:04d}", environ_base=client).status_code for n in range(30)]
    assert set(codes) == {404}
    assert second.get("/r/" + "z" * 24, environ_base=client).status_code == 429


def test_valid_links_from_one_address_are_not_limited_across_workers(two_workers):
    """40 people from one address, spread over two workers, open their links; guesses still stop at 30."""
    first, second = two_workers
    with first.app_context():
        wave, group, version = make_wave(db.session), make_group(db.session), make_version(db.session)
        tokens = [make_invitation(db.session, TEST_SECRET, wave=wave, group=group, version=version)[1]
                  for _ in range(40)]
        db.session.commit()
    workers, client = [first.test_client(), second.test_client()], fresh_address()
    landings = [workers[n % 2].get(f"/r/{token}", environ_base=client).status_code
                for n, token in enumerate(tokens)]
    assert set(landings) == {200}
    guesses = [workers[n % 2].get(f"/r/{'v' * 20}{n:04d}", environ_base=client).status_code
               for n in range(31)]
    assert guesses == [404] * 30 + [429]
