"""request marks: new counsellor requests of the last 48 hours, by a purpose-keyed hash, to limit them

Revision ID: i15flood_request_marks
Revises: i16scale_periodic_runs
Create Date: 2026-11-26 17:15:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'i15flood_request_marks'
down_revision: str | None = 'i16scale_periodic_runs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('request_marks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_request_marks_key'), 'request_marks', ['key'], unique=False)
    op.create_index(op.f('ix_request_marks_at'), 'request_marks', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_request_marks_at'), table_name='request_marks')
    op.drop_index(op.f('ix_request_marks_key'), table_name='request_marks')
    op.drop_table('request_marks')
