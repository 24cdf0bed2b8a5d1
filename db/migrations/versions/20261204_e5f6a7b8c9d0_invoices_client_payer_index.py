"""invoices: one index on (client_id, organization_id, id) instead of client_id alone

A partner's page of a client's invoices (those it paid, in id order) becomes one index
range; the index's prefix still serves every lookup by client.

Revision ID: e5f6a7b8c9d0
Revises: d4e5f6a7b8c9
Create Date: 2026-12-04 02:00:00.000000

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = 'e5f6a7b8c9d0'
down_revision: Union[str, Sequence[str], None] = 'd4e5f6a7b8c9'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index(
        'ix_invoices_client_payer_id', 'invoices', ['client_id', 'organization_id', 'id'], unique=False
    )
    op.drop_index(op.f('ix_invoices_client_id'), table_name='invoices')


def downgrade() -> None:
    op.create_index(op.f('ix_invoices_client_id'), 'invoices', ['client_id'], unique=False)
    op.drop_index('ix_invoices_client_payer_id', table_name='invoices')
