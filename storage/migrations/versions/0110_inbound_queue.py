"""inbound queue: the webhook stores, the worker answers

Revision ID: 0110
Revises: 0109
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0110'
down_revision: str | None = '0109'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'inbound_queue',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('address', sa.String(length=128), nullable=False),
        sa.Column('provider_id', sa.String(length=128), nullable=True),
        sa.Column('text', sa.String(), nullable=False),
        sa.Column('media', sa.JSON(), nullable=True),
        sa.Column('opt_out', sa.String(length=16), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('channel', 'provider_id', name='uq_inbound_queue_channel_provider_id'),
    )
    op.create_index(
        'ix_inbound_queue_address', 'inbound_queue', ['channel', 'address', 'id'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_inbound_queue_address', table_name='inbound_queue')
    op.drop_table('inbound_queue')
