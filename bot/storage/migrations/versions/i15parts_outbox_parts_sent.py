"""outbox.parts_sent: a step of several messages resumes after the last one sent, never from the first

Revision ID: i15parts_outbox_parts_sent
Revises: i17auth_one_time_passwords
Create Date: 2026-11-26 23:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'i15parts_outbox_parts_sent'
down_revision: str | None = 'i17auth_one_time_passwords'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('parts_sent', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('parts_sent')
