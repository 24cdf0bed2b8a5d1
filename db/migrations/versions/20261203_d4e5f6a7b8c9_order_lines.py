"""order lines: an order of several products (one quote, one order, one invoice)

Every existing order becomes an order with one line (its product, kind and frozen prices).

Revision ID: d4e5f6a7b8c9
Revises: c0f1e2d3a4b5
Create Date: 2026-12-03 15:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'd4e5f6a7b8c9'
down_revision: Union[str, Sequence[str], None] = 'c0f1e2d3a4b5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


# Every order placed before baskets had one product: it becomes that order's one line.
BACKFILL = (
    "INSERT INTO order_lines (order_id, position, product_id, product_kind, product_family, "
    "quantity, list_total, decreasing_rate, public_price, partner_discount_rate, "
    "partner_price, cashback, amount_due) "
    "SELECT id, 1, product_id, product_kind, product_family, quantity, list_total, "
    "decreasing_rate, public_price, partner_discount_rate, partner_price, cashback, "
    "amount_due FROM orders"
)


def upgrade() -> None:
    op.create_table(
        'order_lines',
        sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('product_kind', sa.String(length=40), nullable=False),
        sa.Column('product_family', sa.String(length=40), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('list_total', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('decreasing_rate', sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column('public_price', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('partner_discount_rate', sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column('partner_price', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('cashback', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('amount_due', sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.CheckConstraint('quantity > 0', name=op.f('ck_order_lines_line_quantity_positive')),
        sa.CheckConstraint('position > 0', name=op.f('ck_order_lines_line_position_positive')),
        sa.CheckConstraint('ABS(partner_price + cashback - public_price) < 0.005', name=op.f('ck_order_lines_line_cashback_is_difference')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_order_lines_product_id_products'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines')),
        sa.UniqueConstraint('order_id', 'position', name=op.f('uq_order_lines_order_id_position')),
    )
    op.create_index(op.f('ix_order_lines_product_id'), 'order_lines', ['product_id'], unique=False)
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_index(op.f('ix_order_lines_product_id'), table_name='order_lines')
    op.drop_table('order_lines')
