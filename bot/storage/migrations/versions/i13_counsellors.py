"""counsellor side: accounts, recovery codes, dashboard sessions, login failures, audit log, notes,
canned replies, statistics, survey answers; ticket holder, transfer and outcome; outbox origin

Revision ID: i13_counsellors
Revises: i14_webchat_codes
Create Date: 2026-11-26 14:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'i13_counsellors'
down_revision: str | None = 'i14_webchat_codes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table('counsellors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('alias', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('languages', sa.String(length=32), nullable=False),
    sa.Column('ui_locale', sa.String(length=5), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('totp_secret', sa.LargeBinary(), nullable=False),
    sa.Column('totp_last_step', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('created_at', TZ, nullable=False),
    sa.Column('disabled_at', TZ, nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    )
    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('counsellor_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', TZ, nullable=True),
    sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id']),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_recovery_codes_counsellor_id', 'recovery_codes', ['counsellor_id'])
    op.create_index('ix_recovery_codes_code_hash', 'recovery_codes', ['code_hash'])
    op.create_table('dashboard_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('counsellor_id', sa.Integer(), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('created_at', TZ, nullable=False),
    sa.Column('seen_at', TZ, nullable=False),
    sa.ForeignKeyConstraint(['counsellor_id'], ['counsellors.id']),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_dashboard_sessions_counsellor_id', 'dashboard_sessions', ['counsellor_id'])
    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', TZ, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_login_failures_account', 'login_failures', ['account'])
    op.create_index('ix_login_failures_address', 'login_failures', ['address'])
    op.create_index('ix_login_failures_at', 'login_failures', ['at'])
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', TZ, nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=2000), nullable=False),
    sa.Column('prev', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_log_at', 'audit_log', ['at'])
    op.create_index('ix_audit_log_ticket_id', 'audit_log', ['ticket_id'])
    op.create_table('ticket_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('counsellor_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('explanations', sa.String(length=128), nullable=False),
    sa.Column('created_at', TZ, nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_ticket_notes_ticket_id', 'ticket_notes', ['ticket_id'])
    op.create_table('canned_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('body', sa.String(length=2000), nullable=False),
    sa.Column('updated_at', TZ, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_canned_replies_locale', 'canned_replies', ['locale'])
    op.create_table('ticket_stats',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('created_at', TZ, nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('first_answer_at', TZ, nullable=True),
    sa.Column('closed_at', TZ, nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=True),
    sa.PrimaryKeyConstraint('ticket_id'),
    )
    op.create_index('ix_ticket_stats_created_at', 'ticket_stats', ['created_at'])
    op.create_table('survey_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question', sa.String(length=16), nullable=False),
    sa.Column('answer', sa.String(length=8), nullable=False),
    sa.Column('at', TZ, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_survey_answers_at', 'survey_answers', ['at'])
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holder_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('transfer_to', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('transfer_locale', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('outcome_detail', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('review_requested', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('first_answer_at', TZ, nullable=True))
        batch_op.add_column(sa.Column('person_left', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('last_person_at', TZ, nullable=True))
        batch_op.create_index('ix_tickets_holder_id', ['holder_id'])
    op.create_index('ix_tickets_queue', 'tickets', [sa.text('priority DESC'), 'created_at', 'id', 'status', 'locale',
                                                    'holder_id', 'transfer_to', 'transfer_locale'])
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=8), server_default='step', nullable=False))
        batch_op.create_index('ix_outbox_origin', ['origin'])


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_origin')
        batch_op.drop_column('origin')
    op.drop_index('ix_tickets_queue', table_name='tickets')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_holder_id')
        for name in ('last_person_at', 'person_left', 'first_answer_at', 'review_requested', 'outcome_detail',
                     'outcome', 'transfer_locale', 'transfer_to', 'holder_id'):
            batch_op.drop_column(name)
    for table in ('survey_answers', 'ticket_stats', 'canned_replies', 'ticket_notes', 'audit_log', 'login_failures',
                  'dashboard_sessions', 'recovery_codes', 'counsellors'):
        op.drop_table(table)
