"""privacy: erasure, retention, legal hold, opt-out marks

Revision ID: 0108
Revises: 0107
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0108'
down_revision: str | None = '0107'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('contact') as batch:
        batch.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('erased_reason', sa.String(length=16), nullable=True))
    with op.batch_alter_table('response') as batch:
        batch.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('erased_reason', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('legal_hold_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column('erasure_requested_at', sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table('concern') as batch:
        batch.add_column(sa.Column('legal_hold_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'opt_out_mark',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_opt_out_mark_key'), 'opt_out_mark', ['key'], unique=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_opt_out_mark_key'), table_name='opt_out_mark')
    op.drop_table('opt_out_mark')
    with op.batch_alter_table('concern') as batch:
        batch.drop_column('legal_hold_at')
    with op.batch_alter_table('response') as batch:
        batch.drop_column('erasure_requested_at')
        batch.drop_column('legal_hold_at')
        batch.drop_column('erased_reason')
        batch.drop_column('erased_at')
    with op.batch_alter_table('contact') as batch:
        batch.drop_column('erased_reason')
        batch.drop_column('erased_at')
