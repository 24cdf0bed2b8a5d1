"""Every table of partnergraph; import models from here."""

from db.models.base import Base, utcnow
from db.models.billing import Invoice, InvoiceLine
from db.models.catalog import Partner, Product
from db.models.events import AuditEvent, OutboxMessage
from db.models.grants import Grant, GrantProduct
from db.models.identity import (
    ApiToken,
    AuthSession,
    CollaboratorClient,
    Membership,
    Organization,
    User,
)

__all__ = [
    "ApiToken",
    "AuditEvent",
    "AuthSession",
    "Base",
    "CollaboratorClient",
    "Grant",
    "GrantProduct",
    "Invoice",
    "InvoiceLine",
    "Membership",
    "Organization",
    "OutboxMessage",
    "Partner",
    "Product",
    "User",
    "utcnow",
]
