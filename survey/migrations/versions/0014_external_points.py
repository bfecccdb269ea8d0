"""external_points: points of externally measured framework nodes per unit and year, entered by staff

Revision ID: 0014
Revises: 0009
Create Date: 2026-11-30 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        'external_points',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('framework_id', sa.Integer(), nullable=False),
        sa.Column('node_code', sa.String(length=64), nullable=False),
        sa.Column('points', sa.Float(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('entered_by_id', sa.Integer(), nullable=True),
        sa.Column('entered_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'),
                  nullable=False),
        sa.CheckConstraint('points >= 0', name=op.f('ck_external_points_points_not_negative')),
        sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_external_points_entered_by_id_users')),
        sa.ForeignKeyConstraint(['framework_id'], ['frameworks.id'],
                                name=op.f('fk_external_points_framework_id_frameworks')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_external_points_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_external_points')),
        sa.UniqueConstraint('year', 'unit_id', 'framework_id', 'node_code',
                            name=op.f('uq_external_points_year_unit_id_framework_id_node_code')),
    )
    op.create_index(op.f('ix_external_points_unit_id'), 'external_points', ['unit_id'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f('ix_external_points_unit_id'), table_name='external_points')
    op.drop_table('external_points')
