"""conversation keys: one wrapped data key per conversation and per ticket; the tickets' profile encrypted

Revision ID: i15crypto_conversation_keys
Revises: i13_counsellors
Create Date: 2026-11-26 17:10:00.000000

Rows written before keep their plain `sessions.state`/`locale` and `tickets.reasons`/`role`/`region`/`goal`
and their headerless ciphertexts until the first start with the key re-seals them (`bot.storage.adoption`),
which then empties the plain columns and sets `key_fingerprint.adopted`.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'i15crypto_conversation_keys'
down_revision: str | None = 'i13_counsellors'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('data_keys',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('master_version', sa.Integer(), nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    # plain ADD COLUMN (no table copy): SQLite and PostgreSQL both take it as it is
    op.add_column('key_fingerprint', sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    op.add_column('key_fingerprint', sa.Column('adopted', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('tickets', sa.Column('profile', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('profile')
    with op.batch_alter_table('key_fingerprint') as batch:
        batch.drop_column('adopted')
        batch.drop_column('version')
    op.drop_table('data_keys')
