"""outbox: one partial index on unsent rows instead of indexes on origin and sent_at

A row written already sent (a reply in a webhook answer) then costs no index entry but its session's.

Revision ID: i16speed_outbox_unsent_index
Revises: i15parts_outbox_parts_sent
Create Date: 2026-11-26 23:50:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'i16speed_outbox_unsent_index'
down_revision: str | None = 'i15parts_outbox_parts_sent'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_outbox_origin', table_name='outbox')
    op.drop_index('ix_outbox_sent_at', table_name='outbox')
    op.create_index('ix_outbox_unsent', 'outbox', ['channel', 'origin', 'id'],
                    sqlite_where=sa.text('sent_at IS NULL'), postgresql_where=sa.text('sent_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_outbox_unsent', table_name='outbox')
    op.create_index('ix_outbox_sent_at', 'outbox', ['sent_at'])
    op.create_index('ix_outbox_origin', 'outbox', ['origin'])
