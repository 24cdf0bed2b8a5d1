"""outbox message context: the request id (and trace parent) a job comes from

Revision ID: c0f1e2d3a4b5
Revises: 2b9a79bca33f
Create Date: 2026-12-03 09:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'c0f1e2d3a4b5'
down_revision: Union[str, Sequence[str], None] = '2b9a79bca33f'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_messages') as batch:
        batch.add_column(sa.Column('context', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox_messages') as batch:
        batch.drop_column('context')
