"""one-time passwords and salted recovery codes: counsellors.password_expires_at; recovery_codes.code_hash
widened for Argon2id, its index dropped (a salted hash cannot be looked up), and every unsalted SHA-256 row
re-hashed with Argon2id over the same digest, so existing codes keep working and none stays unsalted

Revision ID: i17auth_one_time_passwords
Revises: i15once_outbox_update_key
Create Date: 2026-11-26 21:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from argon2 import PasswordHasher, Type


revision: str = 'i17auth_one_time_passwords'
down_revision: str | None = 'i15once_outbox_update_key'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
#: the parameters of handover/credentials.py HASHER when this was written (a hash carries its own parameters)
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)


def _legacy(stored: str) -> bool:
    return len(stored) == 64 and all(ch in "0123456789abcdef" for ch in stored)


def upgrade() -> None:
    with op.batch_alter_table('counsellors') as batch:
        batch.add_column(sa.Column('password_expires_at', TZ, nullable=True))
    op.drop_index('ix_recovery_codes_code_hash', table_name='recovery_codes')
    with op.batch_alter_table('recovery_codes') as batch:
        batch.alter_column('code_hash', existing_type=sa.String(length=64), type_=sa.String(length=128),
                           existing_nullable=False)
    conn = op.get_bind()
    codes = sa.table('recovery_codes', sa.column('id', sa.Integer), sa.column('code_hash', sa.String))
    rows = conn.execute(sa.select(codes.c.id, codes.c.code_hash)).all()
    for row_id, stored in rows:
        if _legacy(stored):
            conn.execute(sa.update(codes).where(codes.c.id == row_id).values(code_hash=_HASHER.hash(stored)))


def downgrade() -> None:
    # Argon2id rows cannot go back to SHA-256: the codes are not known. Their accounts need `reset-2fa`.
    op.execute("DELETE FROM recovery_codes WHERE length(code_hash) > 64")
    with op.batch_alter_table('recovery_codes') as batch:
        batch.alter_column('code_hash', existing_type=sa.String(length=128), type_=sa.String(length=64),
                           existing_nullable=False)
    op.create_index('ix_recovery_codes_code_hash', 'recovery_codes', ['code_hash'])
    with op.batch_alter_table('counsellors') as batch:
        batch.drop_column('password_expires_at')
