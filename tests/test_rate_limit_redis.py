"""Rate limits are shared between workers when Redis storage is configured (needs Redis on :6379)."""

import os
import uuid

import pytest

from survey import create_app
from survey.db import Database
from survey.models import Base
from tests.conftest import TEST_SECRET, database_url, stamp_head

REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_available() -> bool:
    """Tell whether a Redis server answers on the test URL."""
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.exceptions.ConnectionError:
        return False


@pytest.fixture
def two_workers(tmp_path, monkeypatch):
    """Two app instances (as two gunicorn workers) sharing one Redis limit store."""
    if not redis_available():
        if os.environ.get("CI") or os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("Redis is required in CI and is not reachable on 127.0.0.1:6379")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    monkeypatch.setenv("SURVEY_INSTANCE_PATH", str(tmp_path / "instance"))
    config = {"SECRET_KEY": TEST_SECRET, "DATABASE_URL": database_url(tmp_path),
              "RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex}
    apps = create_app(config), create_app(config)
    engine = Database.engine(apps[0])
    Base.metadata.create_all(engine)
    stamp_head(apps[0])
    yield apps
    Base.metadata.drop_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    for app in apps:
        Database.engine(app).dispose()


def test_token_guesses_are_limited_across_workers(two_workers):
    """Guesses spread over two workers still hit one limit of 30 a minute."""
    first, second = (app.test_client() for app in two_workers)
    codes = [first.get(f"/r/{'y' * 20}{n:04d}").status_code for n in range(30)]
    assert set(codes) == {404}
    assert second.get("/r/" + "z" * 24).status_code == 429
