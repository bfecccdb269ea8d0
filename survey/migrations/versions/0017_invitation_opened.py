"""invitations.opened_on and unit_progress.opened: tracking counts opened links

Revision ID: 0017
Revises: 0013
Create Date: 2026-11-30 07:50:00

The tracking page shows, per unit, forms invited, **opened**, started and completed. An invitation
records the day its link was first opened (the landing page); `unit_progress.opened` counts the
sampled forms whose invitation was opened or which were started (a form can be started without the
landing page, from a resumed link). The counts start as the started forms (no opening was recorded
before), and migration 0011's unit triggers are rebuilt to count `opened` as well.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from survey.sampling import progress

revision: str = '0017'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(opened: bool) -> None:
    """Replace the unit triggers by those counting `opened` (or by 0011's)."""
    dialect = op.get_bind().dialect.name
    for statement in progress.unit_drop_ddl(dialect):
        op.execute(statement)
    ddl = (progress.unit_postgresql_ddl(opened=opened) if dialect == 'postgresql'
           else progress.unit_sqlite_ddl(opened=opened))
    for statement in ddl:
        op.execute(statement)


def upgrade() -> None:
    """Apply this revision."""
    op.add_column('invitations', sa.Column('opened_on', sa.Date(), nullable=True))
    op.add_column('unit_progress', sa.Column('opened', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE unit_progress SET opened = started")
    _rebuild(opened=True)


def downgrade() -> None:
    """Revert this revision (SQLite 3.35 or later drops a column in place, keeping the other triggers)."""
    _rebuild(opened=False)
    op.execute("ALTER TABLE unit_progress DROP COLUMN opened")
    op.execute("ALTER TABLE invitations DROP COLUMN opened_on")
