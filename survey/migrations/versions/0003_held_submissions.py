"""held submissions: submissions wait here and are released into responses in batches

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 03:15:00

Upgrading also rewrites the responses stored before this revision, in random order and in this
revision's transaction, together with every done invitation unit and completed invitation: until
now each response shared its transaction id (PostgreSQL `xmin`) with its invitation, and its
physical position (`ctid`, SQLite `rowid`) followed the order of submissions. Run
`flask --app survey responses release` afterwards: on PostgreSQL it vacuums the old row versions.

Downgrading releases whatever is still held (in random order) before dropping the table, so that
no submission is lost.
"""

import random
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_meta = sa.MetaData()
_responses = sa.Table(
    'responses', _meta,
    *(sa.Column(name) for name in (
        'id', 'wave_id', 'questionnaire_version_id', 'unit_id', 'group_id', 'stratum_id',
        'cluster_code', 'mode', 'language', 'status', 'current_page', 'device_class')),
    sa.Column('submitted_on', sa.Date()), sa.Column('page_seconds', sa.JSON()))
_answers = sa.Table(
    'answers', _meta,
    *(sa.Column(name) for name in ('response_id', 'item_id', 'value_text', 'value_number')),
    sa.Column('value_date', sa.Date()), sa.Column('value_list', sa.JSON(none_as_null=True)))
_held = sa.Table(
    'held_submissions', _meta,
    *(sa.Column(name) for name in (
        'id', 'wave_id', 'questionnaire_version_id', 'unit_id', 'group_id', 'stratum_id',
        'cluster_code', 'mode', 'language', 'device_class')),
    sa.Column('submitted_on', sa.Date()), sa.Column('page_seconds', sa.JSON()),
    sa.Column('answers', sa.JSON()))


def upgrade() -> None:
    """Apply this revision."""
    op.create_table('held_submissions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('questionnaire_version_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('stratum_id', sa.Integer(), nullable=True),
    sa.Column('cluster_code', sa.String(length=64), nullable=True),
    sa.Column('mode', sa.String(length=12), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=False),
    sa.Column('device_class', sa.String(length=10), nullable=True),
    sa.Column('page_seconds', sa.JSON(), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.CheckConstraint("device_class IS NULL OR device_class IN ('phone', 'tablet', 'desktop')",
                       name=op.f('ck_held_submissions_device')),
    sa.CheckConstraint("language IN ('vi', 'en')", name=op.f('ck_held_submissions_language')),
    sa.CheckConstraint("mode IN ('online', 'paper', 'phone', 'face_to_face')",
                       name=op.f('ck_held_submissions_mode')),
    sa.ForeignKeyConstraint(['group_id'], ['respondent_groups.id'],
                            name=op.f('fk_held_submissions_group_id_respondent_groups')),
    sa.ForeignKeyConstraint(['questionnaire_version_id'], ['questionnaire_versions.id'],
                            name=op.f('fk_held_submissions_questionnaire_version_id_questionnaire_versions')),
    sa.ForeignKeyConstraint(['stratum_id'], ['strata.id'], name=op.f('fk_held_submissions_stratum_id_strata')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_held_submissions_unit_id_units')),
    sa.ForeignKeyConstraint(['wave_id'], ['waves.id'], name=op.f('fk_held_submissions_wave_id_waves')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_held_submissions'))
    )
    with op.batch_alter_table('held_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_held_submissions_wave_id'), ['wave_id'], unique=False)
    _shuffle_stored_responses(op.get_bind())


def _shuffle_stored_responses(connection) -> None:
    """Re-insert complete responses and their answers in random order; rewrite completions."""
    rng = random.SystemRandom()
    complete = _responses.c.status == 'complete'
    responses = [dict(r._mapping) for r in connection.execute(sa.select(_responses).where(complete))]
    if responses:
        answers = [dict(a._mapping) for a in connection.execute(
            sa.select(_answers).where(_answers.c.response_id.in_(
                sa.select(_responses.c.id).where(complete))))]
        connection.execute(_answers.delete().where(_answers.c.response_id.in_(
            sa.select(_responses.c.id).where(complete))))
        connection.execute(_responses.delete().where(complete))
        _insert_shuffled(connection, responses, answers, rng)
    connection.execute(sa.text(
        "UPDATE invitation_units SET status = 'done' WHERE status = 'done'"))
    connection.execute(sa.text(
        "UPDATE invitations SET status = 'completed' WHERE status = 'completed'"))


def _insert_shuffled(connection, responses: list[dict], answers: list[dict], rng) -> None:
    """Insert responses, then answers, each in random order."""
    rng.shuffle(responses)
    rng.shuffle(answers)
    connection.execute(_responses.insert(), responses)
    if answers:
        connection.execute(_answers.insert(), answers)


def downgrade() -> None:
    """Revert this revision, releasing what is still held so that no submission is lost."""
    connection = op.get_bind()
    responses, answers = [], []
    for row in connection.execute(sa.select(_held)):
        responses.append({
            'id': row.id, 'wave_id': row.wave_id,
            'questionnaire_version_id': row.questionnaire_version_id, 'unit_id': row.unit_id,
            'group_id': row.group_id, 'stratum_id': row.stratum_id, 'cluster_code': row.cluster_code,
            'mode': row.mode, 'language': row.language, 'status': 'complete', 'current_page': 0,
            'device_class': row.device_class, 'submitted_on': row.submitted_on,
            'page_seconds': row.page_seconds})
        for item_id, column, value in row.answers:
            answer = {'response_id': row.id, 'item_id': item_id, 'value_text': None,
                      'value_number': None, 'value_date': None, 'value_list': None}
            answer[column] = date.fromisoformat(value) if column == 'value_date' else value
            answers.append(answer)
    if responses:
        _insert_shuffled(connection, responses, answers, random.SystemRandom())
    with op.batch_alter_table('held_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_held_submissions_wave_id'))

    op.drop_table('held_submissions')
