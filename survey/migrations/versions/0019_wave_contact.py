"""waves.contact_phone and waves.contact_email: whom respondents contact, on landing and error pages

Revision ID: 0019
Revises: 0015
Create Date: 2026-11-30 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | Sequence[str] | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision (columns added in place: a batch copy of `waves` would break the triggers
    that name it)."""
    op.add_column('waves', sa.Column('contact_phone', sa.String(length=40), nullable=True))
    op.add_column('waves', sa.Column('contact_email', sa.String(length=255), nullable=True))


def downgrade() -> None:
    """Undo this revision (SQLite 3.35 or later drops a column in place)."""
    op.execute("ALTER TABLE waves DROP COLUMN contact_email")
    op.execute("ALTER TABLE waves DROP COLUMN contact_phone")
