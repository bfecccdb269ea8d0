"""progress_counts and response_counts: fieldwork tracking counts kept by triggers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 04:10:00

Creates the two count tables of survey/sampling/progress.py, fills them from the invitations,
invitation units and complete responses already there, then creates the triggers that keep them
exact (SQLite triggers; PostgreSQL trigger functions).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from survey.sampling import progress

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        'progress_counts',
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=6), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('stratum_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('person', 'form')", name=op.f('ck_progress_counts_kind')),
        sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_progress_counts_wave_id_waves'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('wave_id', 'kind', 'group_id', 'stratum_id', 'unit_id', 'source', 'status',
                                name=op.f('pk_progress_counts')),
    )
    op.create_table(
        'response_counts',
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('stratum_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('mode', sa.String(length=12), nullable=False),
        sa.Column('submitted_on', sa.Date(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_response_counts_wave_id_waves'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('wave_id', 'group_id', 'stratum_id', 'unit_id', 'mode', 'submitted_on',
                                name=op.f('pk_response_counts')),
    )
    dialect = op.get_bind().dialect.name
    for statement in progress.BACKFILL:
        op.execute(statement)
    for statement in progress.postgresql_ddl() if dialect == 'postgresql' else progress.sqlite_ddl():
        op.execute(statement)


def downgrade() -> None:
    """Revert this revision."""
    for statement in progress.drop_ddl(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table('response_counts')
    op.drop_table('progress_counts')
