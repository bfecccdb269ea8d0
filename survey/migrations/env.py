"""Alembic environment: runs on the connection the app's migration commands hand over."""

from alembic import context

from survey.db import make_engine
from survey.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(**kwargs) -> None:
    """Configure the migration context with the options every backend needs."""
    context.configure(target_metadata=target_metadata, compare_type=True, **kwargs)


def run_offline() -> None:
    """Emit SQL for the configured URL without connecting."""
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run migrations on the given connection, or on one made from the URL."""
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connection)


def _run(connection) -> None:
    """Run the migrations; SQLite alters tables in batch mode (copy and move)."""
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
