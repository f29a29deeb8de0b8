"""outbox.update_key: a re-delivered update sends its own step's replies again, never another update's

Revision ID: i15once_outbox_update_key
Revises: i15flood_request_marks
Create Date: 2026-11-26 20:45:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'i15once_outbox_update_key'
down_revision: str | None = 'i15flood_request_marks'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('update_key', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('update_key')
