"""unit_progress, response_day_counts, focal_officials, milestones: tracking within budget, đầu mối

Revision ID: 0011
Revises: 0014
Create Date: 2026-11-30 07:00:00

- `unit_progress` (a wave's rated unit with its forms invited, started, completed, walk-in forms,
  released responses and the target of its strata) and `response_day_counts` (complete responses
  per wave, day and mode), filled from the rows there and then kept by triggers beside those of
  0006 (survey/sampling/progress.py), and an index on response_counts (wave_id, unit_id) for
  scoped users: the tracking page sorts and pages units in SQL instead of rolling up every unit.
- `focal_officials`: each unit's survey focal officials and IT contacts, contact details encrypted
  (survey/sampling/focal.py).
- `milestones` and `milestone_units`: a wave's dated steps, the units each concerns and when each
  unit did it. Waves had no milestones anywhere before this revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from survey.sampling import progress

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        'unit_progress',
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('invited', sa.Integer(), nullable=False),
        sa.Column('started', sa.Integer(), nullable=False),
        sa.Column('completed', sa.Integer(), nullable=False),
        sa.Column('walk_in', sa.Integer(), nullable=False),
        sa.Column('released', sa.Integer(), nullable=False),
        sa.Column('target', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_unit_progress_wave_id_waves'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('wave_id', 'unit_id', name=op.f('pk_unit_progress')),
    )
    op.create_table(
        'response_day_counts',
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('submitted_on', sa.Date(), nullable=False),
        sa.Column('mode', sa.String(length=12), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_response_day_counts_wave_id_waves'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('wave_id', 'submitted_on', 'mode', name=op.f('pk_response_day_counts')),
    )
    op.create_index('ix_response_counts_wave_unit', 'response_counts', ['wave_id', 'unit_id'], unique=False)
    op.create_table(
        'focal_officials',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=10), nullable=False),
        sa.Column('full_name', sa.Text(), nullable=False),
        sa.Column('position', sa.Text(), nullable=True),
        sa.Column('phone', sa.Text(), nullable=True),
        sa.Column('email', sa.Text(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('focal', 'it')", name=op.f('ck_focal_officials_role')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_focal_officials_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_focal_officials')),
    )
    op.create_index(op.f('ix_focal_officials_unit_id'), 'focal_officials', ['unit_id'], unique=False)
    op.create_table(
        'milestones',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=20), server_default='manual', nullable=False),
        sa.CheckConstraint("kind IN ('manual', 'focal_list')", name=op.f('ck_milestones_kind')),
        sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_milestones_wave_id_waves'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_milestones')),
    )
    op.create_index(op.f('ix_milestones_wave_id'), 'milestones', ['wave_id'], unique=False)
    op.create_table(
        'milestone_units',
        sa.Column('milestone_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('done_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['milestone_id'], ['milestones.id'],
                                name=op.f('fk_milestone_units_milestone_id_milestones'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_milestone_units_unit_id_units')),
        sa.PrimaryKeyConstraint('milestone_id', 'unit_id', name=op.f('pk_milestone_units')),
    )
    op.create_index(op.f('ix_milestone_units_unit_id'), 'milestone_units', ['unit_id'], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in progress.unit_backfill(opened=False):
        op.execute(statement)
    # This revision's triggers, without the `opened` column of 0017.
    ddl = (progress.unit_postgresql_ddl(opened=False) if dialect == 'postgresql'
           else progress.unit_sqlite_ddl(opened=False))
    for statement in ddl:
        op.execute(statement)


def downgrade() -> None:
    """Revert this revision."""
    for statement in progress.unit_drop_ddl(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index(op.f('ix_milestone_units_unit_id'), table_name='milestone_units')
    op.drop_table('milestone_units')
    op.drop_index(op.f('ix_milestones_wave_id'), table_name='milestones')
    op.drop_table('milestones')
    op.drop_index(op.f('ix_focal_officials_unit_id'), table_name='focal_officials')
    op.drop_table('focal_officials')
    op.drop_index('ix_response_counts_wave_unit', table_name='response_counts')
    op.drop_table('response_day_counts')
    op.drop_table('unit_progress')
