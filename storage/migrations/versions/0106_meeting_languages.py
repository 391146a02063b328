"""meetings: title and place per language

Revision ID: 0106
Revises: 0105
Create Date: 2026-11-30 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0106'
down_revision: str | None = '0105'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('meeting') as batch:
        batch.add_column(sa.Column('titles', sa.JSON(), nullable=False, server_default='{}'))
        batch.add_column(sa.Column('locations', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('meeting') as batch:
        batch.drop_column('locations')
        batch.drop_column('titles')
