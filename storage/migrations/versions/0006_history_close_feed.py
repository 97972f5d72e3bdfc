"""items: history, dislikes, closed_at, published_at; events: txid for the changes feed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 10:56:59.709259

``events.txid`` is the writing transaction's id on PostgreSQL (``DEFAULT txid_current()``); the
rows already there get 0, so a feed read from the start serves them first. SQLite keeps NULL.
"""
from typing import Sequence, Union

import sqlalchemy as sa

from storage.migrations.safe_op import op

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # plain ADD COLUMN (both databases have it): a batch would copy the tables on SQLite
    op.add_column('events', sa.Column('txid', sa.BigInteger(), nullable=True))
    if postgres:
        op.execute("UPDATE events SET txid = 0")
        op.execute("ALTER TABLE events ALTER COLUMN txid SET DEFAULT txid_current()")
    op.create_index('ix_events_txid_id', 'events', ['txid', 'id'], unique=False)
    op.add_column('items', sa.Column('dislikes', sa.Integer(), server_default='0', nullable=False))
    op.add_column('items', sa.Column('history', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('items', sa.Column('closed_at', sa.DateTime(), nullable=True))
    op.add_column('items', sa.Column('published_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('published_at')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('history')
        batch_op.drop_column('dislikes')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_txid_id')
        batch_op.drop_column('txid')
