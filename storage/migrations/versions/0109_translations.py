"""translations for staff, usage per month, drafted follow-up languages

Revision ID: 0109
Revises: 0108
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0109'
down_revision: str | None = '0108'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'translation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('response_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('source_language', sa.String(length=16), nullable=True),
        sa.Column('text', sa.String(), nullable=False),
        sa.Column('provider', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.Column('corrected_text', sa.String(), nullable=True),
        sa.Column('corrected_by', sa.String(length=300), nullable=True),
        sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['response_id'], ['response.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('response_id'),
    )
    op.create_table(
        'translation_usage',
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('characters', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('month'),
    )
    with op.batch_alter_table('action') as batch:
        batch.add_column(sa.Column('drafts', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('action') as batch:
        batch.drop_column('drafts')
    op.drop_table('translation_usage')
    op.drop_table('translation')
