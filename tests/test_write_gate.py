"""SQLite writers take turns at a lock file (survey.db.wait_to_write) instead of SQLite's polling."""

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from survey import db as database
from survey.db import make_engine, wait_to_write
from tests.conftest import on_postgresql

pytestmark = pytest.mark.skipif(on_postgresql(), reason="the SQLite write gate")


@pytest.fixture
def sessions(tmp_path):
    """A session factory on a SQLite file with one table."""
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield sessionmaker(bind=engine)
    engine.dispose()


def test_second_writer_waits_for_the_first_commit_then_goes_at_once(sessions):
    first, second = sessions(), sessions()
    wait_to_write(first)
    first.execute(text("INSERT INTO t VALUES (1)"))
    entered = []

    def write():
        wait_to_write(second)
        entered.append(time.monotonic())
        second.execute(text("INSERT INTO t VALUES (2)"))
        second.commit()

    thread = threading.Thread(target=write)
    thread.start()
    time.sleep(0.3)
    assert entered == []  # still waiting: the first writer has not committed
    committed = time.monotonic()
    first.commit()
    thread.join(5)
    assert len(entered) == 1
    assert 0 <= entered[0] - committed < 0.1  # woken within a few polls, not after SQLite's sleeps
    assert sorted(sessions().scalars(text("SELECT n FROM t"))) == [1, 2]
    assert "write_gate" not in first.info and "write_gate" not in second.info


@pytest.mark.parametrize("end", ["rollback", "close"])
def test_gate_opens_when_the_transaction_ends_any_way(sessions, end):
    first = sessions()
    wait_to_write(first)
    first.execute(text("INSERT INTO t VALUES (1)"))
    getattr(first, end)()
    other = sessions()
    started = time.monotonic()
    wait_to_write(other)
    assert time.monotonic() - started < 0.1
    assert "write_gate" in other.info
    other.rollback()


def test_a_savepoint_ending_keeps_the_gate(sessions):
    writer = sessions()
    wait_to_write(writer)
    with writer.begin_nested():
        writer.execute(text("INSERT INTO t VALUES (1)"))
    assert "write_gate" in writer.info  # the outer transaction still writes
    writer.commit()
    assert "write_gate" not in writer.info


def test_a_writer_never_waits_for_ever(sessions, monkeypatch):
    """A gate held past the busy timeout: the writer goes on without it (SQLite's lock decides)."""
    monkeypatch.setattr(database, "SQLITE_BUSY_MS", 200)
    holder, late = sessions(), sessions()
    wait_to_write(holder)
    started = time.monotonic()
    wait_to_write(late)
    assert 0.2 <= time.monotonic() - started < 1.5
    assert "write_gate" not in late.info
    holder.rollback()
    late.rollback()


def test_no_gate_for_a_database_in_memory():
    engine = make_engine("sqlite://")
    session = sessionmaker(bind=engine)()
    wait_to_write(session)
    assert "write_gate" not in session.info
    session.close()
    engine.dispose()
