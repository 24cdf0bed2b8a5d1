"""Every table of partnergraph; import models from here."""

from db.models.base import Base, utcnow
from db.models.bids import Bid, BidDelivery, Offer
from db.models.billing import Invoice, InvoiceLine
from db.models.catalog import Partner, Product
from db.models.commerce import InvoiceCounter, Order, OrderKind, OrderLine
from db.models.events import AuditEvent, OutboxMessage
from db.models.grants import Grant, GrantProduct
from db.models.idempotency import IdempotencyKey
from db.models.identity import (
    ApiToken,
    AuthSession,
    CollaboratorClient,
    CollaboratorProduct,
    Membership,
    Organization,
    User,
)
from db.models.integrations import (
    IntegrationEvent,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEndpointStatus,
)
from db.models.ledger import JournalEntry, LedgerAccount, LedgerPosting
from db.models.people import EmailToken, MemberInvitation
from db.models.program import (
    Affiliate,
    BackupAccount,
    BackupCustomer,
    DirectoryListing,
    DirectoryListingTag,
    PartnerApplication,
    PartnerReview,
    ProgramEnrollment,
    StaffMember,
    SupportAccess,
)
from db.models.scheduling import ScheduledRun

__all__ = [
    "Affiliate",
    "ApiToken",
    "AuditEvent",
    "AuthSession",
    "BackupAccount",
    "BackupCustomer",
    "Base",
    "Bid",
    "BidDelivery",
    "CollaboratorClient",
    "CollaboratorProduct",
    "DirectoryListing",
    "DirectoryListingTag",
    "EmailToken",
    "Grant",
    "GrantProduct",
    "IdempotencyKey",
    "IntegrationEvent",
    "Invoice",
    "InvoiceCounter",
    "InvoiceLine",
    "JournalEntry",
    "LedgerAccount",
    "LedgerPosting",
    "MemberInvitation",
    "Membership",
    "Offer",
    "Order",
    "OrderKind",
    "OrderLine",
    "Organization",
    "OutboxMessage",
    "Partner",
    "PartnerApplication",
    "PartnerReview",
    "Product",
    "ProgramEnrollment",
    "ScheduledRun",
    "StaffMember",
    "SupportAccess",
    "User",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
    "WebhookEndpoint",
    "WebhookEndpointStatus",
    "utcnow",
]
