"""partners, who is heard, viewpoints

Revision ID: 0111
Revises: 0110
Create Date: 2026-11-30 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0111'
down_revision: str | None = '0110'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'partner',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('contact', sa.String(length=300), nullable=False),
        sa.Column('languages', sa.JSON(), nullable=False),
        sa.Column('neighbourhoods', sa.JSON(), nullable=False),
        sa.Column('keywords', sa.JSON(), nullable=False),
        sa.Column('public_consent', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
    )
    op.create_table(
        'community_share',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dimension', sa.String(length=16), nullable=False),
        sa.Column('value', sa.String(length=120), nullable=False),
        sa.Column('amount', sa.Float(), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dimension', 'value', name='uq_community_share'),
    )
    with op.batch_alter_table('contact') as batch:
        batch.add_column(sa.Column('partner_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('age_band', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('years_here', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('heard_asked_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_index('ix_contact_partner_id', ['partner_id'], unique=False)
        batch.create_foreign_key('fk_contact_partner_id', 'partner', ['partner_id'], ['id'])
    with op.batch_alter_table('response') as batch:
        batch.add_column(sa.Column('partner_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('viewpoint', sa.String(length=16), nullable=True))
        batch.create_index('ix_response_partner_id', ['partner_id'], unique=False)
        batch.create_foreign_key('fk_response_partner_id', 'partner', ['partner_id'], ['id'])
    with op.batch_alter_table('staff_user') as batch:
        batch.add_column(sa.Column('partner_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_staff_user_partner_id', 'partner', ['partner_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('staff_user') as batch:
        batch.drop_constraint('fk_staff_user_partner_id', type_='foreignkey')
        batch.drop_column('partner_id')
    with op.batch_alter_table('response') as batch:
        batch.drop_constraint('fk_response_partner_id', type_='foreignkey')
        batch.drop_index('ix_response_partner_id')
        batch.drop_column('viewpoint')
        batch.drop_column('partner_id')
    with op.batch_alter_table('contact') as batch:
        batch.drop_constraint('fk_contact_partner_id', type_='foreignkey')
        batch.drop_index('ix_contact_partner_id')
        batch.drop_column('heard_asked_at')
        batch.drop_column('years_here')
        batch.drop_column('age_band')
        batch.drop_column('partner_id')
    op.drop_table('community_share')
    op.drop_table('partner')
