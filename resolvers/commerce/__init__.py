"""Commerce use cases: quote, place an order, renew a product, with their invoices."""

from resolvers.clients import active_grants_on_client
from resolvers.commerce.inputs import ClientRef
from resolvers.commerce.invoices import invoice_lines, next_invoice_sequence
from resolvers.commerce.orders import OrderResult
from resolvers.commerce.placing import place_order
from resolvers.commerce.quotes import PricedOrder, quote
from resolvers.commerce.renewals import renew_product

__all__ = [
    "ClientRef",
    "OrderResult",
    "PricedOrder",
    "active_grants_on_client",
    "invoice_lines",
    "next_invoice_sequence",
    "place_order",
    "quote",
    "renew_product",
]
