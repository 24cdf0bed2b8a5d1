"""outbox: a partial index of the pending rows by actor and id

What a batch actor claims (an actor's pending rows, newest first) is then one index range,
however many rows other actors have pending.

Revision ID: f6a7b8c9d0e1
Revises: e5f6a7b8c9d0
Create Date: 2026-12-04 03:20:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'f6a7b8c9d0e1'
down_revision: Union[str, Sequence[str], None] = 'e5f6a7b8c9d0'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index(
        'ix_outbox_messages_pending_actor',
        'outbox_messages',
        ['actor_name', 'id'],
        unique=False,
        postgresql_where=sa.text('processed_at IS NULL'),
        sqlite_where=sa.text('processed_at IS NULL'),
    )


def downgrade() -> None:
    op.drop_index('ix_outbox_messages_pending_actor', table_name='outbox_messages')
