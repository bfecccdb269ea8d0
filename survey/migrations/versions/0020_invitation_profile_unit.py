"""invitations.profile_unit_id: a link rating several units asks the respondent profile once

Revision ID: 0020
Revises: 0015
Create Date: 2026-11-30 10:10:00

A questionnaire's sections marked `once` are about the person (position, sex, age group), not about
the rated unit. A link rating several units asks them in one unit's pages only, the unit recorded
here, and copies the answers into the other units' drafts (survey/respond/answering.py). The column
holds a unit id, never an answer; a plain integer (no foreign key) so that SQLite adds it in place.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | Sequence[str] | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column('invitations', sa.Column('profile_unit_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    """Revert this revision (SQLite 3.35 or later drops a column in place)."""
    op.execute("ALTER TABLE invitations DROP COLUMN profile_unit_id")
