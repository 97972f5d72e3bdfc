"""judgement: why an item was routed, the suggestions offered, learned models

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 11:30:00
"""
from typing import Sequence, Union

import sqlalchemy as sa

from storage.migrations.safe_op import op

# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('route_terms', sa.Text(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('suggested', sa.Text(), nullable=False, server_default='[]'))
    op.create_table(
        'learned_models',
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('trained_at', sa.DateTime(), nullable=False),
        sa.Column('examples', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('learned_models')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('suggested')
        batch_op.drop_column('route_terms')
