"""open links

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 22:02:36.174884
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=10), server_default='frame', nullable=False))
        batch_op.create_check_constraint(op.f('ck_invitations_source'), "source IN ('frame', 'open')")

    with op.batch_alter_table('wave_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_link', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('open_quota', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_wave_groups_open_quota'),
                                         'open_quota IS NULL OR open_quota > 0')



def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('wave_groups', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_wave_groups_open_quota'), type_='check')
        batch_op.drop_column('open_quota')
        batch_op.drop_column('open_link')

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_invitations_source'), type_='check')
        batch_op.drop_column('source')

