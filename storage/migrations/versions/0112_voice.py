"""voice calls

Revision ID: 0112
Revises: 0111
Create Date: 2026-11-30 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0112'
down_revision: str | None = '0111'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'voice_call',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_sid', sa.String(length=64), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=True),
        sa.Column('direction', sa.String(length=16), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=True),
        sa.Column('turns', sa.Integer(), nullable=False),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=24), nullable=True),
        sa.Column('answered_by', sa.String(length=32), nullable=True),
        sa.Column('recording_sid', sa.String(length=64), nullable=True),
        sa.Column('recording_url', sa.String(length=500), nullable=True),
        sa.Column('recording_seconds', sa.Integer(), nullable=True),
        sa.Column('recording_delete_sid', sa.String(length=64), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contact.id']),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('call_sid'),
    )
    op.create_index('ix_voice_call_contact_id', 'voice_call', ['contact_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_voice_call_contact_id', table_name='voice_call')
    op.drop_table('voice_call')
