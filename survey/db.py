"""The database: declarative base, one engine per app, a session per app context."""

import fcntl
import os
import time

from flask import Flask, g
from sqlalchemy import MetaData, create_engine, event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Named constraints so that migrations can alter them on every backend (SQLite batch mode needs names).
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLITE_BUSY_MS = 5000  # how long a SQLite connection waits for another's write lock
GATE_POLL_SECONDS = 0.0005  # how often a SQLite writer tries the write gate (wait_to_write)


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Enforce foreign keys and wait for locks on SQLite, which does neither by default.

    `secure_delete` zeroes deleted rows in the file: a deleted draft, draft link or held
    submission must not stay readable in the database file (or a copy of it) until its page
    happens to be reused.

    Write-ahead logging (WAL): a commit appends to the `-wal` file and syncs it once (`synchronous=
    FULL`: an acknowledged submission survives a power cut), and pages are read while another
    worker writes, instead of a rollback journal written, synced and deleted at every commit with
    readers locked out meanwhile. The `-wal` file holds earlier versions of pages (a draft before it
    was deleted) until it is checkpointed: each release of held submissions ends with a
    checkpoint that empties it (`survey.responses.release.vacuum`), as PostgreSQL's VACUUM removes
    dead rows there. A database in memory keeps its own journal (WAL needs a file).
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine with the settings this app relies on."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False})
    else:
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def lock_row(session: Session, model, *criteria, touch) -> None:
    """Block until this transaction alone may change the rows matching `criteria`, until it ends.

    PostgreSQL locks the rows (SELECT ... FOR UPDATE); a concurrent caller waits, then reads what
    the first one committed. SQLite has no row locks: a no-op UPDATE of `touch` (a column of the
    model) takes the database's write lock, which serialises writers the same way (they wait up to
    the busy timeout). Call it before reading what the decision depends on.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(touch).where(*criteria).with_for_update())
    else:
        wait_to_write(session)
        session.execute(update(model).where(*criteria).values({touch: touch})
                        .execution_options(synchronize_session=False))


def _write_gate_path(engine: Engine) -> str | None:
    """Return the lock file beside a SQLite database file (none for a database in memory)."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database + "-writegate"


def wait_to_write(session: Session) -> None:
    """On SQLite, wait for this session's turn to write to the file; keep it until the transaction ends.

    SQLite lets one connection write at a time, and one that finds the file locked polls: its busy
    handler sleeps 1, 2, 5, 10 … up to 100 ms between tries, so under a burst of submissions a
    worker sleeps long after the lock was freed, and the writes queue behind the sleepers. An
    exclusive `flock` on a file beside the database, tried every half millisecond, lets the next
    writer in within that time of the release (the descriptor is closed when the outermost
    transaction ends; the kernel releases it if the process dies). After the busy timeout a writer
    goes on without the gate and meets SQLite's lock as before, so nothing waits for ever.
    Writers that do not pass here (staff pages, jobs) still meet SQLite's own lock. No-op on
    PostgreSQL and for a database in memory.
    """
    if "write_gate" in session.info or session.get_bind().dialect.name != "sqlite":
        return
    path = _write_gate_path(session.get_bind())
    if path is None:
        return
    gate = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + SQLITE_BUSY_MS / 1000
    while True:
        try:
            fcntl.flock(gate, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:  # never hang: SQLite's own busy timeout decides then
                os.close(gate)
                return
            time.sleep(GATE_POLL_SECONDS)
        except BaseException:
            os.close(gate)
            raise
    session.info["write_gate"] = gate


def _leave_write_gate(session: Session, transaction=None) -> None:
    """Open the gate when the session's outermost transaction ends (commit, rollback or close)."""
    if transaction is not None and transaction.parent is not None:
        return
    gate = session.info.pop("write_gate", None)
    if gate is not None:
        os.close(gate)  # closing the descriptor releases the lock


event.listen(Session, "after_transaction_end", _leave_write_gate)


class Database:
    """Binds an engine to the app and hands out one session per app context."""

    def init_app(self, app: Flask) -> None:
        """Create the app's engine lazily-connected and close sessions at teardown."""
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions["survey.db"] = sessionmaker(bind=engine, expire_on_commit=False)
        app.teardown_appcontext(self._remove)

    @staticmethod
    def engine(app: Flask) -> Engine:
        """Return the app's engine."""
        return app.extensions["survey.db"].kw["bind"]

    @property
    def session(self) -> Session:
        """Return the session of the current app context, opening it on first use."""
        from flask import current_app

        if "db_session" not in g:
            g.db_session = current_app.extensions["survey.db"]()
        return g.db_session

    @staticmethod
    def _remove(_exc=None) -> None:
        """Close the context's session; uncommitted work is rolled back."""
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
            _leave_write_gate(session)


db = Database()
