"""assessments, assessment_items, evidence_documents, evidence_links, assessment_events: self-assessment

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('framework_version_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('submit_by', sa.Date(), nullable=True),
    sa.Column('approve_by', sa.Date(), nullable=True),
    sa.Column('difficulties', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'approved', 'appraised', 'locked')",
                       name=op.f('ck_assessments_status')),
    sa.ForeignKeyConstraint(['framework_version_id'], ['framework_versions.id'],
                            name=op.f('fk_assessments_framework_version_id_framework_versions')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_assessments_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments')),
    sa.UniqueConstraint('unit_id', 'year', 'framework_version_id',
                        name=op.f('uq_assessments_unit_id_year_framework_version_id'))
    )
    op.create_index(op.f('ix_assessments_unit_id'), 'assessments', ['unit_id'], unique=False)
    op.create_table('assessment_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('node_code', sa.String(length=128), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('answer', sa.String(length=8), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.Column('numerator', sa.Float(), nullable=True),
    sa.Column('denominator', sa.Float(), nullable=True),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('suggested', sa.Float(), nullable=True),
    sa.Column('self_score', sa.Float(), nullable=True),
    sa.Column('explanation', sa.Text(), nullable=True),
    sa.Column('evidence_partial', sa.Boolean(), nullable=False),
    sa.Column('appraisal_score', sa.Float(), nullable=True),
    sa.Column('appraisal_note', sa.Text(), nullable=True),
    sa.CheckConstraint("answer IS NULL OR answer IN ('yes', 'no', 'na')", name=op.f('ck_assessment_items_answer')),
    sa.CheckConstraint('appraisal_score IS NULL OR appraisal_score >= 0',
                       name=op.f('ck_assessment_items_appraisal_score')),
    sa.CheckConstraint('self_score IS NULL OR self_score >= 0', name=op.f('ck_assessment_items_self_score')),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'],
                            name=op.f('fk_assessment_items_assessment_id_assessments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_items')),
    sa.UniqueConstraint('assessment_id', 'node_code', name=op.f('uq_assessment_items_assessment_id_node_code'))
    )
    op.create_table('evidence_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('media_type', sa.String(length=128), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=128), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('issuer', sa.String(length=255), nullable=True),
    sa.Column('uploaded_by', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'],
                            name=op.f('fk_evidence_documents_assessment_id_assessments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_evidence_documents_uploaded_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_documents')),
    sa.UniqueConstraint('assessment_id', 'sha256', name=op.f('uq_evidence_documents_assessment_id_sha256'))
    )
    op.create_index(op.f('ix_evidence_documents_sha256'), 'evidence_documents', ['sha256'], unique=False)
    op.create_table('evidence_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('pages', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['evidence_documents.id'],
                            name=op.f('fk_evidence_links_document_id_evidence_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['assessment_items.id'],
                            name=op.f('fk_evidence_links_item_id_assessment_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_links')),
    sa.UniqueConstraint('document_id', 'item_id', name=op.f('uq_evidence_links_document_id_item_id'))
    )
    op.create_index(op.f('ix_evidence_links_item_id'), 'evidence_links', ['item_id'], unique=False)
    op.create_table('assessment_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=True),
    sa.Column('node_code', sa.String(length=128), nullable=True),
    sa.Column('old_value', sa.Float(), nullable=True),
    sa.Column('new_value', sa.Float(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'],
                            name=op.f('fk_assessment_events_assessment_id_assessments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_assessment_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_events'))
    )
    op.create_index(op.f('ix_assessment_events_assessment_id'), 'assessment_events', ['assessment_id'],
                    unique=False)


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f('ix_assessment_events_assessment_id'), table_name='assessment_events')
    op.drop_table('assessment_events')
    op.drop_index(op.f('ix_evidence_links_item_id'), table_name='evidence_links')
    op.drop_table('evidence_links')
    op.drop_index(op.f('ix_evidence_documents_sha256'), table_name='evidence_documents')
    op.drop_table('evidence_documents')
    op.drop_table('assessment_items')
    op.drop_index(op.f('ix_assessments_unit_id'), table_name='assessments')
    op.drop_table('assessments')
