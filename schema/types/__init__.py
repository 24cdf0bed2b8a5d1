"""The objects of the graph. Each wraps a row; every relation goes through a DataLoader."""

from schema.types.invoice import Invoice, InvoiceLine
from schema.types.organization import Organization
from schema.types.partnership import Client, Grant, Partner, RequestedAccess
from schema.types.product import Product
from schema.types.user import User
from schema.types.viewer import Membership, Viewer

__all__ = [
    "Client",
    "Grant",
    "Invoice",
    "InvoiceLine",
    "Membership",
    "Organization",
    "Partner",
    "Product",
    "RequestedAccess",
    "User",
    "Viewer",
]
