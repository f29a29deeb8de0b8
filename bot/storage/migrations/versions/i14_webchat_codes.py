"""web chat reference codes: continue a conversation on another device (keyed hash, single use)

Revision ID: i14_webchat_codes
Revises: i15_key_fingerprint
Create Date: 2026-11-26 15:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'i14_webchat_codes'
down_revision: str | None = 'i15_key_fingerprint'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webchat_codes',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('token', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code_hash')
    )
    with op.batch_alter_table('webchat_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webchat_codes_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webchat_codes_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webchat_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webchat_codes_created_at'))
        batch_op.drop_index(batch_op.f('ix_webchat_codes_session_id'))
    op.drop_table('webchat_codes')
