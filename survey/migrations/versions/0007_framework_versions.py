"""frameworks, framework_versions, wave_frameworks: published framework versions pinned to waves

Waves assigned before this revision get their pins when the frameworks are first loaded
(`flask setup` or `flask questionnaires load`, survey.instruments.frameworks.pin_unpinned): the
migration does not read framework files, because what it would read is the file of today, not
necessarily the one the wave ran with; until then the export says it falls back.

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-30 04:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('frameworks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('name_en', sa.String(length=255), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_frameworks')),
    sa.UniqueConstraint('code', name=op.f('uq_frameworks_code'))
    )
    op.create_table('framework_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['framework_id'], ['frameworks.id'], name=op.f('fk_framework_versions_framework_id_frameworks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_framework_versions')),
    sa.UniqueConstraint('framework_id', 'version', name=op.f('uq_framework_versions_framework_id_version'))
    )
    op.create_table('wave_frameworks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.Column('framework_version_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['framework_id'], ['frameworks.id'], name=op.f('fk_wave_frameworks_framework_id_frameworks')),
    sa.ForeignKeyConstraint(['framework_version_id'], ['framework_versions.id'], name=op.f('fk_wave_frameworks_framework_version_id_framework_versions')),
    sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_wave_frameworks_wave_id_waves'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wave_frameworks')),
    sa.UniqueConstraint('wave_id', 'framework_id', name=op.f('uq_wave_frameworks_wave_id_framework_id'))
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table('wave_frameworks')
    op.drop_table('framework_versions')
    op.drop_table('frameworks')
