"""paper form entry: form numbers (số phiếu) unique per wave, double entry and its entry copies

Revision ID: 0018
Revises: 0015
Create Date: 2026-11-30 10:00:00

A clerk's draft and a released response carry the paper form's number and which entry of it they
are (`entry_pass`: 1, or 2 for the second clerk of a double-entered form); a held submission keeps
the number until release. Unique indexes (not table constraints: SQLite would rebuild `responses`
and drop its progress triggers) keep a number to one form per wave. `waves.double_entry` turns
double entry on; `entry_copies` holds each clerk's entry until both agree or are resolved.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | Sequence[str] | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column('responses', sa.Column('form_number', sa.String(length=32), nullable=True))
    op.add_column('responses', sa.Column('entry_pass', sa.Integer(), nullable=True))
    op.create_index('uq_responses_form_number', 'responses', ['wave_id', 'form_number', 'entry_pass'],
                    unique=True)
    op.add_column('held_submissions', sa.Column('form_number', sa.String(length=32), nullable=True))
    op.create_index('uq_held_submissions_form_number', 'held_submissions', ['wave_id', 'form_number'],
                    unique=True)
    op.add_column('waves', sa.Column('double_entry', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.create_table(
        'entry_copies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('wave_id', sa.Integer(), nullable=False),
        sa.Column('questionnaire_version_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('stratum_id', sa.Integer(), nullable=True),
        sa.Column('cluster_code', sa.String(length=64), nullable=True),
        sa.Column('mode', sa.String(length=12), nullable=False),
        sa.Column('language', sa.String(length=2), nullable=False),
        sa.Column('form_number', sa.String(length=32), nullable=False),
        sa.Column('entry_pass', sa.Integer(), nullable=False),
        sa.Column('page_seconds', sa.JSON(), nullable=True),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.CheckConstraint('entry_pass IN (1, 2)', name=op.f('ck_entry_copies_entry_pass')),
        sa.CheckConstraint("language IN ('vi', 'en')", name=op.f('ck_entry_copies_language')),
        sa.CheckConstraint("mode IN ('online', 'paper', 'phone', 'face_to_face')",
                           name=op.f('ck_entry_copies_mode')),
        sa.ForeignKeyConstraint(['group_id'], ['respondent_groups.id'],
                                name=op.f('fk_entry_copies_group_id_respondent_groups')),
        sa.ForeignKeyConstraint(['questionnaire_version_id'], ['questionnaire_versions.id'],
                                name=op.f('fk_entry_copies_questionnaire_version_id_questionnaire_versions')),
        sa.ForeignKeyConstraint(['stratum_id'], ['strata.id'], name=op.f('fk_entry_copies_stratum_id_strata')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_entry_copies_unit_id_units')),
        sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_entry_copies_wave_id_waves')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_copies')),
        sa.UniqueConstraint('wave_id', 'form_number', 'entry_pass',
                            name=op.f('uq_entry_copies_wave_id_form_number_entry_pass')),
    )
    op.create_index(op.f('ix_entry_copies_wave_id'), 'entry_copies', ['wave_id'], unique=False)


def downgrade() -> None:
    """Revert this revision (SQLite 3.35 or later drops a column in place, keeping the triggers)."""
    op.drop_index(op.f('ix_entry_copies_wave_id'), table_name='entry_copies')
    op.drop_table('entry_copies')
    op.execute("ALTER TABLE waves DROP COLUMN double_entry")
    op.drop_index('uq_held_submissions_form_number', table_name='held_submissions')
    op.execute("ALTER TABLE held_submissions DROP COLUMN form_number")
    op.drop_index('uq_responses_form_number', table_name='responses')
    op.execute("ALTER TABLE responses DROP COLUMN entry_pass")
    op.execute("ALTER TABLE responses DROP COLUMN form_number")
