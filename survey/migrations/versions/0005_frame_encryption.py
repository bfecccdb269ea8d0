"""frame_entries: contact details as ciphertext, digests for duplicate checks

Name, phone, e-mail and position widen to TEXT to hold AES-GCM ciphertext ("v1:" + base64). Rows
already there stay readable: a value without the "v1:" prefix is read as legacy plaintext, and
`flask waves frame-encrypt` encrypts them with the instance's key (a migration cannot reach the key
reliably). Downgrading narrows the columns again: run it only on a database without ciphertext.

Revision ID: 0005
Revises: 0007
Create Date: 2026-11-30 04:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table('frame_entries', schema=None) as batch_op:
        batch_op.alter_column('full_name', existing_type=sa.String(length=255), type_=sa.Text(),
                              existing_nullable=False)
        batch_op.alter_column('phone', existing_type=sa.String(length=20), type_=sa.Text(),
                              existing_nullable=True)
        batch_op.alter_column('email', existing_type=sa.String(length=255), type_=sa.Text(),
                              existing_nullable=True)
        batch_op.alter_column('position', existing_type=sa.String(length=255), type_=sa.Text(),
                              existing_nullable=True)
        batch_op.add_column(sa.Column('phone_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('email_digest', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_frame_entries_wave_id_phone_digest'),
                                          ['wave_id', 'phone_digest'])
        batch_op.create_unique_constraint(batch_op.f('uq_frame_entries_wave_id_email_digest'),
                                          ['wave_id', 'email_digest'])
        batch_op.create_index(batch_op.f('ix_frame_entries_stratum_id'), ['stratum_id'], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table('frame_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_frame_entries_stratum_id'))
        batch_op.drop_constraint(batch_op.f('uq_frame_entries_wave_id_email_digest'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_frame_entries_wave_id_phone_digest'), type_='unique')
        batch_op.drop_column('email_digest')
        batch_op.drop_column('phone_digest')
        batch_op.alter_column('position', existing_type=sa.Text(), type_=sa.String(length=255),
                              existing_nullable=True)
        batch_op.alter_column('email', existing_type=sa.Text(), type_=sa.String(length=255),
                              existing_nullable=True)
        batch_op.alter_column('phone', existing_type=sa.Text(), type_=sa.String(length=20),
                              existing_nullable=True)
        batch_op.alter_column('full_name', existing_type=sa.Text(), type_=sa.String(length=255),
                              existing_nullable=False)
