"""The database: declarative base, one engine per app, a session per app context."""

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


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Enforce foreign keys and wait for locks on SQLite, which does neither by default.

    `secure_delete` zeroes deleted rows in the file: a deleted draft, draft link or held
    submission must not stay readable in the database file (or a copy of it) until its page
    happens to be reused.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA secure_delete=ON")
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
        session.execute(update(model).where(*criteria).values({touch: touch})
                        .execution_options(synchronize_session=False))


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


db = Database()
