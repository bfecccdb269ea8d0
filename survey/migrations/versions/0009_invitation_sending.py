"""invitations: link salt, e-mails sent, opt-out

Adds the random salt from which an invitation's link is made again with the app's TOKEN_KEY
(survey/sampling/invitations.py), the number of e-mails sent and when the last one went (for
reminders' maximum count and minimum interval), and when the person opted out. Nullable columns
(sent_count with a server default) are added in place: the count triggers on invitations stay.

Revision ID: 0009
Revises: 0010
Create Date: 2026-11-30 06:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from survey.sampling import progress

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_salt', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('sent_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision.

    SQLite drops columns by copying the table, which the count triggers (survey/sampling/progress.py,
    some on invitation_units naming invitations) would stop: they are removed first and made again.
    """
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for statement in progress.drop_ddl("sqlite"):
            op.execute(statement)
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('opted_out_at')
        batch_op.drop_column('last_sent_at')
        batch_op.drop_column('sent_count')
        batch_op.drop_column('link_salt')
    if sqlite:
        for statement in progress.sqlite_ddl():
            op.execute(statement)
