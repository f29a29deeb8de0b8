"""periodic runs: one row per (job, period), claimed by the one process that runs the job in that period

Revision ID: i16scale_periodic_runs
Revises: i15crypto_conversation_keys
Create Date: 2026-11-26 17:15:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'i16scale_periodic_runs'
down_revision: str | None = 'i15crypto_conversation_keys'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('periodic_runs',
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('period', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('job', 'period')
    )


def downgrade() -> None:
    op.drop_table('periodic_runs')
