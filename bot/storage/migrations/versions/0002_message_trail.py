"""message trail: the chat's message ids per session, so /forget can delete them on Telegram

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('message_trail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('message_trail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_trail_session_id'), ['session_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('message_trail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_trail_session_id'))

    op.drop_table('message_trail')
