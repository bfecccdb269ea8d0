"""draws: how a wave's sample was drawn; frame_entries: probability at each stage and the draw

A selected person keeps the probability of their cluster (village) being drawn, their probability
of being drawn within it, the product (selection_probability, NULL = not selected, as before) and
the draw that chose them.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-30 06:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        'draws',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('method', sa.String(length=12), nullable=False),
        sa.Column('parameters', sa.JSON(), nullable=False),
        sa.Column('seed', sa.BigInteger(), nullable=False),
        sa.Column('drawn_by', sa.Integer(), nullable=True),
        sa.Column('drawn_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.Column('strata_count', sa.Integer(), nullable=False),
        sa.Column('population', sa.Integer(), nullable=False),
        sa.Column('selected', sa.Integer(), nullable=False),
        sa.Column('clusters', sa.Integer(), nullable=True),
        sa.Column('strata', sa.JSON(), nullable=False),
        sa.CheckConstraint("method IN ('srs', 'systematic')", name=op.f('ck_draws_method')),
        sa.ForeignKeyConstraint(['drawn_by'], ['users.id'], name=op.f('fk_draws_drawn_by_users')),
        sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_draws_wave_id_waves'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_draws')),
    )
    with op.batch_alter_table('draws', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draws_wave_id'), ['wave_id'], unique=False)
    with op.batch_alter_table('frame_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cluster_probability', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('within_probability', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('draw_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_frame_entries_draw_id'), ['draw_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_frame_entries_draw_id_draws'), 'draws', ['draw_id'],
                                    ['id'])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('frame_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_frame_entries_draw_id_draws'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_frame_entries_draw_id'))
        batch_op.drop_column('draw_id')
        batch_op.drop_column('within_probability')
        batch_op.drop_column('cluster_probability')
    with op.batch_alter_table('draws', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draws_wave_id'))
    op.drop_table('draws')
